"""Stand-in for fvcore: model files import its FLOP counter for their __main__ blocks only."""
