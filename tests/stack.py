"""The stack the real-server suites share (tests/integration, tests/reliability; the `stack`,
`client` and `admin` fixtures in tests/conftest.py): a Temporal dev server (file-backed, tuned,
headless) and the real reference services, each its own process on free loopback ports; the
services' admin API; the `temporal` CLI against the stack."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from contracts import ServiceName
from devstack.binaries import temporal_cli
from devstack.processes import free_port
from devstack.stack import DevStack, StackConfig

# The services log only their warnings: under the reliability suite's load, every line costs.
SERVICES_ENV = {"REFSVC_LOG_LEVEL": "WARNING"}


def new_stack(run_dir: Path) -> DevStack:
    """A stack on free loopback ports, without the Web UI, running nothing yet."""
    return DevStack(
        StackConfig(
            run_dir=run_dir, temporal_port=free_port(), ui_port=None, services_port=free_port()
        )
    )


@contextmanager
def running_stack(run_dir: Path) -> Iterator[DevStack]:
    """The dev server and the reference services, running until the block ends."""
    stack = new_stack(run_dir)
    try:
        stack.start_server()
        stack.start_services(env=SERVICES_ENV)
        yield stack
    finally:
        stack.down()


@dataclass
class Admin:
    """The reference services' admin API: the fault config and the record of calls and effects."""

    http: httpx.AsyncClient

    async def reset(self) -> None:
        """Clear the ledger and the counters; no faults."""
        (await self.http.post("/admin/reset")).raise_for_status()
        await self.faults()

    async def faults(self, **knobs: Any) -> None:
        """Replace the fault config (omitted knobs: off)."""
        (await self.http.put("/admin/faults", json=knobs)).raise_for_status()

    async def effects(self) -> list[dict[str, Any]]:
        response = await self.http.get("/admin/effects")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data

    async def calls(self) -> list[dict[str, Any]]:
        response = await self.http.get("/admin/calls")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data

    async def stats(self) -> dict[str, Any]:
        """The counters, by service."""
        response = await self.http.get("/admin/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()["services"]
        return data

    async def effect_count(self, service: ServiceName, campaign_id: uuid.UUID) -> int:
        response = await self.http.get(
            "/admin/effects/count",
            params={"service": service.value, "campaign_id": str(campaign_id)},
        )
        response.raise_for_status()
        return int(response.json()["count"])


@asynccontextmanager
async def admin_of(stack: DevStack) -> AsyncIterator[Admin]:
    """The stack's admin API, with the ledger cleared and no faults; faults off afterwards."""
    async with httpx.AsyncClient(base_url=stack.config.services_url, timeout=30) as http:
        admin = Admin(http)
        await admin.reset()
        yield admin
        await admin.faults()


def temporal(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The `temporal` CLI against the stack's dev server (blocking: call via to_thread)."""
    return subprocess.run(
        [temporal_cli(), *args, "--address", stack.config.temporal_address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
