"""Runs a campaign worker: polls the task queues, runs CampaignWorkflow and the step activities.

The main task queue (`campaigns`) carries the workflows and the webhook outbox; each service's
step activity has its own queue (`campaigns-content`, ...), slots and rate limit.

    python worker.py                         # or: campaign-worker; runs them all
    campaign-worker --services content       # only the content step (say, on its own machines)
    campaign-worker --services workflows,radar,strategy,quality,publisher,learning
Connection: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS_* or a
TEMPORAL_PROFILE (Temporal's envconfig). App settings: CAMPAIGN_* (docs/configuration.md).

Exit codes, with one line `error: ...` on stderr for each failure (the CLI's codes):
    0  stopped by SIGINT or SIGTERM, after letting activities finish
    2  invalid settings (naming the variable), or a connection setting it cannot use (a TLS
       file that does not exist, a malformed CAMPAIGN_ENCRYPTION_KEYS, CAMPAIGN_TRACING without
       the `otel` extra)
    4  Temporal unreachable at start (`error: cannot reach Temporal at <host:port> ...`); once
       started, the worker rides out outages (the SDK retries its polls)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import NoReturn

import structlog

from activities.http_errors import redacted
from contracts import ServiceName
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.settings import Settings, SettingsError, WorkerRoles, load_settings
from orchestrator_connection.temporal_client import (
    ConnectionConfigError,
    TemporalUnavailableError,
    connect,
)
from orchestrator_connection.tracing import ObservabilityConfigError
from orchestrator_worker.deployment import deployment_version
from orchestrator_worker.log_setup import configure_logging
from orchestrator_worker.observability import create_runtime
from orchestrator_worker.run_loop import run_until_signalled
from orchestrator_worker.worker_factory import CampaignWorkers

log = structlog.get_logger("worker")

EXIT_INPUT, EXIT_UNREACHABLE = 2, 4  # as the CLI's (campaign_cli/console.py)


async def run_worker(settings: Settings, task_queue: str | None = None) -> None:
    # The SDK core's logs through ours; Prometheus metrics when CAMPAIGN_METRICS_PORT is set.
    client = await connect(settings=settings, runtime=create_runtime(settings))

    def started(workers: CampaignWorkers) -> None:
        roles = settings.roles()
        log.info(
            "worker_started",
            task_queues=workers.task_queues,
            namespace=client.namespace,
            deployment_version=deployment_version(settings).to_canonical_string()
            if settings.worker_versioning
            else None,
            services={s.value: redacted(settings.service_url(s)) for s in roles.services},
            encryption=settings.encryption_keys is not None,
            workflow_sandbox=settings.workflow_sandbox,
            metrics=f"{settings.metrics_host}:{settings.metrics_port}"
            if settings.metrics_port
            else None,
            tracing=settings.tracing,
            webhook=settings.webhook_url is not None,
        )

    def stopping() -> None:
        log.info("worker_stopping", graceful_seconds=settings.graceful_shutdown_seconds)

    await run_until_signalled(
        client, settings, started=started, stopping=stopping, task_queue=task_queue
    )
    log.info("worker_stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--task-queue", help="override CAMPAIGN_TASK_QUEUE (default: campaigns)")
    parser.add_argument(
        "--services",
        help="override CAMPAIGN_WORKER_SERVICES: `all` (the default), or a comma-separated "
        "list of `workflows` (the main task queue) and " + ", ".join(s.value for s in ServiceName),
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.services is not None:
            roles = WorkerRoles.parse(args.services)
            settings = settings.model_copy(update={"worker_services": str(roles)})
    except SettingsError as err:
        return _fail(err, EXIT_INPUT)
    except ValueError as err:
        return _fail(ValueError(f"--services: {err}"), EXIT_INPUT)
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run_worker(settings, args.task_queue))
    except (ConnectionConfigError, ObservabilityConfigError) as err:  # before its base class
        return _fail(err, EXIT_INPUT)
    except TemporalUnavailableError as err:
        return _fail(err, EXIT_UNREACHABLE)
    except RuntimeError as err:
        if "Worker validation failed" not in str(err):
            raise
        # e.g. a namespace that does not exist: the SDK's one-line reason, without its details
        why = str(err).split(": Status {", 1)[0]
        if "message: " in str(err):
            why += ": " + str(err).split('message: "', 1)[-1].split('"', 1)[0]
        return _fail(RuntimeError(why), EXIT_INPUT)
    return 0


def _fail(err: Exception, code: int) -> int:
    print(f"error: {err}", file=sys.stderr)
    return code


def entry_point() -> NoReturn:
    """The console script and `python -m worker` (see orchestrator_connection.process_exit)."""
    exit_without_finalizing(main())


if __name__ == "__main__":
    entry_point()
