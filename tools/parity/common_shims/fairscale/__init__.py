"""Stand-in for fairscale: model files import checkpoint_wrapper (activation checkpointing, training only)."""
