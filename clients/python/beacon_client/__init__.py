"""Beacon's Python client (standard library only, Python 3.9+)."""

from beacon_client.errors import BeaconError, BeaconUnavailable
from beacon_client.http import Connection
from beacon_client.loadtests import LoadTests
from beacon_client.registry import Registry

__all__ = ["BeaconError", "BeaconUnavailable", "Connection", "LoadTests", "Registry"]
