"""Stand-in for mmengine: the OverLoCK model file imports load_checkpoint only for pretrained=True."""
