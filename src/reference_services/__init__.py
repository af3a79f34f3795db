"""Reference implementations of the six downstream services, as one FastAPI app.

Run: `python -m reference_services --host 127.0.0.1 --port 8700`; see docs/service-contract.md.
`create_app` (FastAPI, the services extra) loads on first use (PEP 562), so that the program in
an install without that extra can say so in one line (reference_services.__main__).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reference_services.faults import FaultConfig, FaultController
from reference_services.ledger import Ledger
from reference_services.settings import ReferenceSettings

if TYPE_CHECKING:
    from reference_services.app import create_app

__all__ = ["FaultConfig", "FaultController", "Ledger", "ReferenceSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from reference_services.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
