"""build_model_with_cfg as timm 0.5.4 does it with pretrained=False and no features_only:
'external_default_cfg' overlaid, num_classes / global_pool / in_chans (and img_size when the cfg
says fixed_input_size) defaulted from the cfg, then model_cls(**kwargs) with default_cfg attached.
TAPADL calls it as timm 0.6/0.7 allow, without a cfg (timm then looks the variant's pretrained cfg
up in its registry); without one no argument is defaulted, which for every TAP model gives the
constructor's own defaults (1000 classes, 224 px: what the FAN cfgs say too)."""
from copy import deepcopy


def overlay_external_default_cfg(default_cfg, kwargs):
    external = kwargs.pop("external_default_cfg", None)
    if external:
        default_cfg.pop("url", None)
        default_cfg.pop("hf_hub", None)
        default_cfg.update(external)


def _set_defaults(kwargs, cfg):
    names = ["num_classes", "global_pool", "in_chans"]
    if cfg.get("fixed_input_size", False):
        names.append("img_size")
    for n in names:
        if n in ("img_size", "in_chans"):
            size = cfg.get("input_size")
            if size is not None:
                kwargs.setdefault(n, size[-2:] if n == "img_size" else size[0])
        elif cfg.get(n) is not None:
            kwargs.setdefault(n, cfg[n])


def build_model_with_cfg(model_cls, variant, pretrained, default_cfg=None, model_cfg=None, feature_cfg=None,
                         pretrained_strict=True, pretrained_filter_fn=None, pretrained_custom_load=False,
                         kwargs_filter=None, **kwargs):
    if pretrained:
        raise NotImplementedError("the timm shim builds models without pretrained weights")
    if kwargs.pop("features_only", False):
        raise NotImplementedError("the timm shim has no features_only wrapper")
    kwargs.pop("pruned", None)
    cfg = deepcopy(default_cfg or kwargs.pop("pretrained_cfg", None) or {})
    overlay_external_default_cfg(cfg, kwargs)
    _set_defaults(kwargs, cfg)
    for n in kwargs_filter or ():
        kwargs.pop(n, None)
    cfg.setdefault("architecture", variant)
    model = model_cls(**kwargs) if model_cfg is None else model_cls(cfg=model_cfg, **kwargs)
    model.default_cfg = cfg
    return model


def named_apply(fn, module, name="", depth_first=True, include_root=False):
    if not depth_first and include_root:
        fn(module=module, name=name)
    for child_name, child in module.named_children():
        child_name = ".".join((name, child_name)) if name else child_name
        named_apply(fn=fn, module=child, name=child_name, depth_first=depth_first, include_root=True)
    if depth_first and include_root:
        fn(module=module, name=name)
    return module
