"""Stand-in for omegaconf: the SpaRTAN model file imports DictConfig only as a type annotation."""


class DictConfig(dict):
    pass
