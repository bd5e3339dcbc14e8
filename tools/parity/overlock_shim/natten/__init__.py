"""Stand-in for the `natten` package's functional na2d_av (NATTEN's CPU kernels are gone from
current releases): AttnZoo's own PyTorch code following NATTEN's window rules."""
