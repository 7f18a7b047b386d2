"""Beacon edge agent: standard library only, Python 3.9+ (it runs on devices as they come)."""

__version__ = "0.1.0"
