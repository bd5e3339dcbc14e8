"""Minimal stand-in for timm 0.5.4 (the version NVlabs/FAN pins; not packaged by Debian): only the
names FAN's models/fan.py, convnext_utils.py, swin_utils.py and TAPADL's tap_fan.py import, with
timm's eval-mode behaviour. Our own code. `tools/parity/fan.py --check-shims TIMM` compares the
fixtures built with these shims against the same models built with a real timm 0.5.4 checkout."""
__version__ = "0.5.4-shim"
