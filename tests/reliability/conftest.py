"""Reliability fixtures, on the shared stack (tests/conftest.py: a real Temporal dev server,
file-backed, and the real reference services, each its own process on free loopback ports);
worker processes are started by each scenario.

Sizes: RELIABILITY_SCALE=full runs the full campaign counts (see docs/reliability.md);
RELIABILITY_FIGURES=<file> appends each scenario's figures there as JSON lines.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import DevStack
from tests.reliability.support import FIGURES, SCALE, WorkerProcess, new_queue


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section(f"reliability figures (scale: {SCALE})")
    for entry in FIGURES:
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("scenario", "scale"))
        terminalreporter.write_line(f"{entry['scenario']}: {details}")


@pytest.fixture(scope="session")
def shared_worker(stack: DevStack) -> Iterator[WorkerProcess]:
    """One worker process for the scenarios that do not kill theirs."""
    worker = WorkerProcess(
        stack,
        "worker-shared",
        new_queue("shared"),
        env={"CAMPAIGN_HTTP_TIMEOUT_SECONDS": "2"},
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
