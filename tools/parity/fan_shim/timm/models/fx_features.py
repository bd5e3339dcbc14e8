"""FX tracing registration is a no-op here (no tracing in parity runs)."""


def register_notrace_module(cls):
    return cls


def register_notrace_function(fn):
    return fn
