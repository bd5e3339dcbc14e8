"""timm's ImageNet normalisation constants (the values CSWin's default_cfgs use)."""
IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
