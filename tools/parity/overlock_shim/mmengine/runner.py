def load_checkpoint(*args, **kwargs):
    raise RuntimeError("mmengine stand-in: fixtures never load pretrained weights")
