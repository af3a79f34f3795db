"""The one place a campaign worker is assembled (worker.py, tests and benchmarks all use it).

A worker process runs one Temporal `Worker` per task queue it serves (CAMPAIGN_WORKER_SERVICES):

    <task queue>             CampaignWorkflow and the webhook outbox (workflow tasks, deliveries)
    <task queue>-<service>   that service's step activity, with CAMPAIGN_<SERVICE>_SLOTS slots and
                             the server-side rate limit CAMPAIGN_<SERVICE>_RATE_LIMIT

so a slow service fills only its own slots, and each service's rate holds across all workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import CampaignActivities
from activities.webhook_outbox import WebhookOutbox
from contracts import STEPS, ServiceName, service_task_queue
from orchestrator_connection.settings import Settings, WorkerRoles
from orchestrator_worker.deployment import deployment_config
from orchestrator_worker.observability import worker_interceptors
from orchestrator_worker.workflow_code_cache import share_workflow_code
from workflows import CampaignWorkflow, WebhookNotifierWorkflow

# Our contracts and pydantic are deterministic and side-effect free: share them with the
# sandbox instead of re-importing them for every workflow run.
SANDBOX_PASSTHROUGH = ("pydantic", "pydantic_core", "annotated_types", "contracts", "activities")


def workflow_runner(sandbox: bool = True) -> WorkflowRunner:
    """The sandbox (the default) stops a non-deterministic call in workflow code at run time.
    Without it (CAMPAIGN_WORKFLOW_SANDBOX=false) the worker skips the per-run re-import and the
    guarded builtins: cheaper, with the test suite, which runs sandboxed, as the only guard."""
    if not sandbox:
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )


class CampaignWorkers:
    """The workers of one process, started together and shut down together: `main` on the
    main task queue (None when this process runs no workflows) and one per service queue.

    As a Worker's own `async with`: a fatal error of any of them (say, a namespace that does
    not exist) cancels the block once and comes out of it, after all have shut down."""

    def __init__(
        self, task_queue: str, main: Worker | None, services: Mapping[ServiceName, Worker]
    ) -> None:
        if main is None and not services:
            raise ValueError("a worker process needs a task queue to poll")
        self.task_queue = task_queue  # the main one, where campaigns start
        self.main = main
        self.services = dict(services)
        self._runs: list[asyncio.Task[None]] = []
        self._owner: asyncio.Task[Any] | None = None
        self._error: BaseException | None = None
        self._cancelled_owner = False
        self._exiting = False

    @property
    def workers(self) -> list[Worker]:
        return [*([self.main] if self.main else []), *self.services.values()]

    @property
    def task_queues(self) -> list[str]:
        return [w.task_queue for w in self.workers]

    async def __aenter__(self) -> CampaignWorkers:
        if self._runs:
            raise RuntimeError("already started")
        self._owner = asyncio.current_task()
        self._runs = [asyncio.create_task(w.run()) for w in self.workers]
        for run in self._runs:
            run.add_done_callback(self._stopped)
        return self

    def _stopped(self, run: asyncio.Task[None]) -> None:
        if run.cancelled() or run.exception() is None or self._error is not None:
            return
        self._error = run.exception()
        if not self._exiting and self._owner is not None:
            self._owner.cancel()
            self._cancelled_owner = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exiting = True
        try:
            # All at once: each lets its activities finish (graceful_shutdown_timeout).
            await asyncio.gather(*(w.shutdown() for w in self.workers))
            await asyncio.gather(*self._runs, return_exceptions=True)
        except asyncio.CancelledError:  # cancelled while shutting down: stop polling now
            for run in self._runs:
                run.cancel()
            await asyncio.gather(*self._runs, return_exceptions=True)
            raise
        if self._error is not None and exc_type in (None, asyncio.CancelledError):
            if self._cancelled_owner and self._owner is not None:
                self._owner.uncancel()  # the cancel was ours, to stop the block: take it back
            raise self._error


def service_worker(
    client: Client,
    task_queue: str,
    service: ServiceName,
    activity: Callable[..., Any],
    *,
    slots: int,
    rate_limit: float | None = None,
    **options: Any,
) -> Worker:
    """The worker of one service's queue: only that step's activity, with its own slots."""
    return Worker(
        client,
        task_queue=service_task_queue(task_queue, service),
        activities=[activity],
        max_concurrent_activities=slots,
        max_task_queue_activities_per_second=rate_limit,
        **options,
    )


def build_workers(
    client: Client,
    settings: Settings,
    activities: CampaignActivities,
    *,
    task_queue: str | None = None,
    roles: WorkerRoles | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    shared_code: bool = True,
    **overrides: Any,
) -> CampaignWorkers:
    """The workers for `roles` (default: CAMPAIGN_WORKER_SERVICES). `overrides` are Worker
    options of the main worker. `shared_code=False` (for measurements only) lets the sandbox
    load the workflow modules from file for every run, as in a plain Worker."""
    task_queue = task_queue or settings.task_queue
    roles = roles or settings.roles()
    # Every worker's: a graceful shutdown, log context on every activity line, step metrics
    # when CAMPAIGN_METRICS_PORT is set, and one deployment version for all the queues.
    common: dict[str, Any] = dict(
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        interceptors=worker_interceptors(settings),
        deployment_config=deployment_config(settings),
    )
    main = None
    if roles.workflows:
        main = _main_worker(
            client,
            settings,
            activities,
            task_queue=task_queue,
            extra_activities=extra_activities,
            shared_code=shared_code,
            **(common | overrides),
        )
    services = {
        step.service: service_worker(
            client,
            task_queue,
            step.service,
            activities.step(step.state),
            slots=settings.service_slots(step.service),
            rate_limit=settings.service_rate_limit(step.service),
            **common,
        )
        for step in STEPS
        if step.service in roles.services
    }
    return CampaignWorkers(task_queue, main, services)


def _main_worker(
    client: Client,
    settings: Settings,
    activities: CampaignActivities,
    *,
    task_queue: str,
    extra_activities: Sequence[Callable[..., Any]],
    shared_code: bool,
    **overrides: Any,
) -> Worker:
    """CampaignWorkflow and the webhook outbox (WebhookNotifierWorkflow, `enqueue_transition`
    for CAMPAIGN_WEBHOOK_URL, `notify_transition`), the publisher lookup (a local activity),
    and the step activities of campaigns started before the service queues, which schedule
    them on this queue."""
    outbox = WebhookOutbox(str(settings.webhook_url) if settings.webhook_url else None)
    options: dict[str, Any] = dict(
        task_queue=task_queue,
        workflows=[CampaignWorkflow, WebhookNotifierWorkflow],
        activities=[*activities.all(), outbox.enqueue_transition, *extra_activities],
        workflow_runner=workflow_runner(settings.workflow_sandbox),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
    )
    options.update(overrides)
    if shared_code and isinstance(options["workflow_runner"], SandboxedWorkflowRunner):
        # The sandbox re-imports workflow modules per run: give every run the same compiled code.
        share_workflow_code(options["workflows"])
    return Worker(client, **options)
