"""Minimal stand-in for the few timm names CSWin's models/cswin.py imports (timm is not installed here)."""
