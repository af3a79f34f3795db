"""Reference implementations of the six downstream services, as one FastAPI app.

Run: `python -m reference_services --host 127.0.0.1 --port 8700`; see docs/service-contract.md.
"""

from reference_services.app import create_app
from reference_services.faults import FaultConfig, FaultController
from reference_services.ledger import Ledger
from reference_services.settings import ReferenceSettings

__all__ = ["FaultConfig", "FaultController", "Ledger", "ReferenceSettings", "create_app"]
