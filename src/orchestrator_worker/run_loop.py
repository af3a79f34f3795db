"""The one run loop of a worker process (worker.py and bench/worker.py): the workers that
`build_workers` assembles, with their one httpx client, poll until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from orchestrator_connection.settings import Settings
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers


async def run_until_signalled(
    client: Client,
    settings: Settings,
    *,
    started: Callable[[CampaignWorkers], None],
    stopping: Callable[[], None] = lambda: None,
    **build_options: Any,
) -> None:
    """Run `build_workers(client, settings, ..., **build_options)` until SIGINT or SIGTERM.
    `started(workers)` is called once they run; `stopping()` once a signal came, before they
    shut down (letting their activities finish, up to graceful_shutdown_timeout).
    Returns when the worker has stopped and the httpx client is closed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with create_http_client(settings) as http:
        workers = build_workers(
            client, settings, create_activities(settings, http), **build_options
        )
        async with workers:
            started(workers)
            await stop.wait()
            stopping()
