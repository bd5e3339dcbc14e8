def load_pretrained(*args, **kwargs):
    raise RuntimeError("parity runs never load pretrained weights")
