"""Beacon's Python client (standard library only, Python 3.9+)."""

from beacon_client.errors import BeaconError, BeaconUnavailable
from beacon_client.http import Connection
from beacon_client.loadtests import LoadTests

__all__ = ["BeaconError", "BeaconUnavailable", "Connection", "LoadTests"]
