"""Stand-in for torchprofile, imported by DHVT's helpers.py for a FLOP printout the models never call."""


def profile_macs(*args, **kwargs):
    raise NotImplementedError("torchprofile stand-in: not needed for parity fixtures")
