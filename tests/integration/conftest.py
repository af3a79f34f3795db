"""Integration fixtures: a real worker with the real activities, and the REST gateway, on the
shared stack (tests/conftest.py: a real dev server and the real reference services). Loopback
only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from contracts import ServiceName
from devstack.processes import free_port
from devstack.stack import DevStack
from orchestrator_connection.settings import Settings
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers

pytestmark = pytest.mark.integration


def stack_settings(stack: DevStack, **overrides: object) -> Settings:
    urls = {f"{s.value}_url": stack.config.services_url for s in ServiceName}
    return Settings(**{**urls, **overrides})  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="session")
async def worker(client: Client, stack: DevStack) -> AsyncIterator[CampaignWorkers]:
    """A real worker with the real activities on a task queue of its own."""
    settings = stack_settings(stack, http_timeout_seconds=2.0)
    async with create_http_client(settings) as http:
        w = build_workers(
            client, settings, create_activities(settings, http), task_queue=f"it-{uuid.uuid4()}"
        )
        async with w:
            yield w


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(
    stack: DevStack, worker: CampaignWorkers, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The REST gateway as a process (`python -m rest_gateway`), for the worker's task queue."""
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": stack.config.temporal_address,
        "TEMPORAL_NAMESPACE": "default",
        "CAMPAIGN_TASK_QUEUE": worker.task_queue,
    }
    with (tmp_path / "gateway.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rest_gateway", "--port", str(port),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.returncode is None, (tmp_path / "gateway.log").read_text()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("gateway not up: " + (tmp_path / "gateway.log").read_text())
            yield http
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
