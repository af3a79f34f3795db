"""The REST gateway: the original design's HTTP API, a thin layer over Temporal."""

from rest_gateway.app import create_app

__all__ = ["create_app"]
