"""The one run loop of a worker process (worker.py and bench/worker.py): the workers that
`build_workers` assembles, with their one httpx client, poll until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator_connection.settings import Settings
from orchestrator_worker.deployment import (
    activate_first_version,
    deployment_version,
    routing_of,
    set_current_command,
)
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers

log = structlog.get_logger("worker")


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
            announced = asyncio.create_task(announce_version(client, settings))
            await stop.wait()
            announced.cancel()
            stopping()


async def announce_version(client: Client, settings: Settings) -> None:
    """Log whether this worker's version gets tasks (and the command that makes it current if
    not); with CAMPAIGN_MAKE_FIRST_VERSION_CURRENT, activate it when the deployment has none."""
    if not settings.worker_versioning:
        return
    version = deployment_version(settings)
    try:
        if settings.make_first_version_current:
            routing = await activate_first_version(client, version)
        else:
            routing = await routing_of(client, version)
    except (RPCError, TimeoutError) as err:
        log.warning("worker_version_unknown", version=version.to_canonical_string(), error=str(err))
        return
    status = routing.describe(version.build_id)
    if routing.serves(version.build_id):
        log.info("worker_version", version=version.to_canonical_string(), routing=status)
    else:
        log.warning(
            "worker_version_inactive",
            version=version.to_canonical_string(),
            routing=status,
            activate=set_current_command(version),
        )
