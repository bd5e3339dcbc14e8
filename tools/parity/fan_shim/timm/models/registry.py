"""register_model as timm's: records the entrypoint by function name and appends the name to its
module's __all__."""
import fnmatch
import sys

_ENTRYPOINTS = {}


def register_model(fn):
    mod = sys.modules[fn.__module__]
    if hasattr(mod, "__all__"):
        mod.__all__.append(fn.__name__)
    else:
        mod.__all__ = [fn.__name__]
    _ENTRYPOINTS[fn.__name__] = fn
    return fn


def model_entrypoint(name):
    return _ENTRYPOINTS[name]


def list_models(pattern="*"):
    return sorted(n for n in _ENTRYPOINTS if fnmatch.fnmatch(n, pattern))
