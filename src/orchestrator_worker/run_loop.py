"""The one run loop of a worker process (worker.py and bench/worker.py): the worker that
`build_worker` assembles, with its own httpx client, polls until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator_connection.settings import Settings
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import build_worker


async def run_until_signalled(
    client: Client,
    settings: Settings,
    *,
    started: Callable[[Worker], None],
    stopping: Callable[[], None] = lambda: None,
    **build_options: Any,
) -> None:
    """Run `build_worker(client, settings, ..., **build_options)` until SIGINT or SIGTERM.
    `started(worker)` is called once the worker runs; `stopping()` once a signal came, before
    the worker shuts down (letting its activities finish, up to graceful_shutdown_timeout).
    Returns when the worker has stopped and the httpx client is closed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with create_http_client(settings) as http:
        worker = build_worker(client, settings, create_activities(settings, http), **build_options)
        async with worker:
            started(worker)
            await stop.wait()
            stopping()
