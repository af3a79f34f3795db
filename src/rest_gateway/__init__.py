"""The REST gateway: the original design's HTTP API, a thin layer over Temporal.

`create_app` (FastAPI, the services extra) loads on first use (PEP 562), so that
`campaign-gateway` in an install without that extra can say so in one line (rest_gateway.__main__).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rest_gateway.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from rest_gateway.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
