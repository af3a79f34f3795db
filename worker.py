"""Runs a campaign worker: polls the task queue, runs CampaignWorkflow and the step activities.

It also runs the webhook outbox (WebhookNotifierWorkflow and its hand-over activity).

    python worker.py                # or: campaign-worker
Connection: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS_* or a
TEMPORAL_PROFILE (Temporal's envconfig). App settings: CAMPAIGN_* (see the README).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import NoReturn

import structlog

from activities.http_errors import redacted
from contracts import ServiceName
from orchestrator_runtime.log_setup import configure_logging
from orchestrator_runtime.observability import create_runtime
from orchestrator_runtime.process_exit import exit_without_finalizing
from orchestrator_runtime.service_wiring import create_activities, create_http_client
from orchestrator_runtime.settings import Settings, SettingsError, load_settings
from orchestrator_runtime.temporal_client import TemporalUnavailableError, connect
from orchestrator_runtime.worker_factory import build_worker

log = structlog.get_logger("worker")


async def run_worker(settings: Settings, task_queue: str | None = None) -> None:
    # Prometheus metrics (Temporal's and ours) when CAMPAIGN_METRICS_PORT is set.
    client = await connect(settings=settings, runtime=create_runtime(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with create_http_client(settings) as http:
        worker = build_worker(
            client, settings, create_activities(settings, http), task_queue=task_queue
        )
        async with worker:
            log.info(
                "worker_started",
                task_queue=worker.task_queue,
                namespace=client.namespace,
                services={s.value: redacted(settings.service_url(s)) for s in ServiceName},
                encryption=settings.encryption_keys is not None,
                workflow_sandbox=settings.workflow_sandbox,
                metrics=f"{settings.metrics_host}:{settings.metrics_port}"
                if settings.metrics_port
                else None,
                tracing=settings.tracing,
                webhook=settings.webhook_url is not None,
            )
            await stop.wait()
            log.info("worker_stopping", graceful_seconds=settings.graceful_shutdown_seconds)
    log.info("worker_stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--task-queue", help="override CAMPAIGN_TASK_QUEUE (default: campaigns)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run_worker(settings, args.task_queue))
    except TemporalUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def entry_point() -> NoReturn:
    """The console script and `python -m worker` (see orchestrator_runtime.process_exit)."""
    exit_without_finalizing(main())


if __name__ == "__main__":
    entry_point()
