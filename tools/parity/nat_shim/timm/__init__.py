"""Minimal stand-in for the few timm names the NAT model files import (timm is not installed here)."""
