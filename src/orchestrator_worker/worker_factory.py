"""The one place a campaign worker is assembled (worker.py, tests and benchmarks all use it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import CampaignActivities
from activities.webhook_outbox import WebhookOutbox
from orchestrator_connection.settings import Settings
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


def build_worker(
    client: Client,
    settings: Settings,
    activities: CampaignActivities,
    *,
    task_queue: str | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    shared_code: bool = True,
    **overrides: Any,
) -> Worker:
    """The campaign worker. `shared_code=False` (for measurements only) lets the sandbox load
    the workflow modules from file for every run, as in a plain Worker. It also runs the webhook
    outbox: WebhookNotifierWorkflow and `enqueue_transition` (for CAMPAIGN_WEBHOOK_URL)."""
    outbox = WebhookOutbox(str(settings.webhook_url) if settings.webhook_url else None)
    options: dict[str, Any] = dict(
        task_queue=task_queue or settings.task_queue,
        workflows=[CampaignWorkflow, WebhookNotifierWorkflow],
        activities=[*activities.all(), outbox.enqueue_transition, *extra_activities],
        workflow_runner=workflow_runner(settings.workflow_sandbox),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
        # Log context on every activity line; step metrics when CAMPAIGN_METRICS_PORT is set.
        interceptors=worker_interceptors(settings),
    )
    options.update(overrides)
    if shared_code and isinstance(options["workflow_runner"], SandboxedWorkflowRunner):
        # The sandbox re-imports workflow modules per run: give every run the same compiled code.
        share_workflow_code(options["workflows"])
    return Worker(client, **options)
