"""Beacon edge agent: standard library only, Python 3.9+ (design decision 13)."""

__version__ = "0.1.0"
