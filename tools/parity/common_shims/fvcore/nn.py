def FlopCountAnalysis(*args, **kwargs):
    raise NotImplementedError("fvcore stand-in: FLOP counting is not available")


def flop_count_table(*args, **kwargs):
    raise NotImplementedError("fvcore stand-in: FLOP counting is not available")
