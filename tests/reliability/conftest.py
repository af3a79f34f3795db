"""Reliability fixtures: a real Temporal dev server (file-backed) and the real reference services,
each its own process on free loopback ports; worker processes are started by each scenario.

Sizes: RELIABILITY_SCALE=full runs the full campaign counts (see docs/reliability.md);
RELIABILITY_FIGURES=<file> appends each scenario's figures there as JSON lines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from devstack.processes import free_port
from devstack.stack import DevStack, StackConfig
from orchestrator_connection.temporal_client import connect
from tests.reliability.support import FIGURES, SCALE, Admin, WorkerProcess, new_queue


def new_stack(run_dir: Path) -> DevStack:
    return DevStack(
        StackConfig(
            run_dir=run_dir,
            temporal_port=free_port(),
            ui_port=None,
            services_port=free_port(),
        )
    )


@pytest.fixture(scope="session")
def rel_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = new_stack(Path(tmp_path_factory.mktemp("reliability")))
    try:
        stack.start_server()
        stack.start_services(env={"REFSVC_LOG_LEVEL": "WARNING"})
        yield stack
    finally:
        stack.down()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rel_client(rel_stack: DevStack) -> Client:
    return await connect(target_host=rel_stack.config.temporal_address, namespace="default")


@pytest_asyncio.fixture(loop_scope="session")
async def admin(rel_stack: DevStack) -> AsyncIterator[Admin]:
    """The services' admin API, with the ledger cleared and no faults; faults off afterwards."""
    async with httpx.AsyncClient(base_url=rel_stack.config.services_url, timeout=30) as http:
        a = Admin(http)
        await a.reset()
        yield a
        await a.faults()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section(f"reliability figures (scale: {SCALE})")
    for entry in FIGURES:
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("scenario", "scale"))
        terminalreporter.write_line(f"{entry['scenario']}: {details}")


@pytest.fixture(scope="session")
def shared_worker(rel_stack: DevStack) -> Iterator[WorkerProcess]:
    """One worker process for the scenarios that do not kill theirs."""
    worker = WorkerProcess(
        rel_stack,
        "worker-shared",
        new_queue("shared"),
        env={"CAMPAIGN_HTTP_TIMEOUT_SECONDS": "2"},
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
