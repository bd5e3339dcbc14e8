from .registry import register_model, model_entrypoint, list_models  # noqa: F401


def create_model(name, **kwargs):
    """The registered entrypoint called with pretrained=False."""
    return model_entrypoint(name)(pretrained=False, **kwargs)
