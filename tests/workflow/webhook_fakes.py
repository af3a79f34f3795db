"""A scriptable webhook (the `notify_transition` activity) and a worker that runs the outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.webhook_outbox import WebhookOutbox
from contracts.events import TransitionEvent
from contracts.webhook_outbox import (
    BACKLOG_QUERY,
    WEBHOOK_REJECTED,
    WEBHOOK_UNAVAILABLE,
    NotifierBacklog,
    endpoint_key,
    notifier_workflow_id,
    shard_of,
)
from orchestrator_worker.worker_factory import workflow_runner
from tests.workflow.fakes import QUERY_TIMEOUT, FakeServices, fake_workers
from workflows import CampaignWorkflow, WebhookNotifierWorkflow

WEBHOOK_URL = "https://hooks.example.test/campaigns"


@dataclass
class FakeWebhook:
    """Answers 503 (retried) while `down`, refuses the ids in `refuse`, else accepts."""

    down: bool = False
    refuse: set[str] = field(default_factory=set)
    attempts: list[TransitionEvent] = field(default_factory=list)
    delivered: list[TransitionEvent] = field(default_factory=list)

    @activity.defn(name="notify_transition")
    async def notify_transition(self, event: TransitionEvent) -> None:
        self.attempts.append(event)
        if self.down:
            raise ApplicationError("webhook answered 503", type=WEBHOOK_UNAVAILABLE)
        if event.event_id in self.refuse:
            raise ApplicationError("webhook refused", type=WEBHOOK_REJECTED, non_retryable=True)
        self.delivered.append(event)


@asynccontextmanager
async def outbox_worker(
    client: Client,
    services: FakeServices,
    webhook: FakeWebhook,
    webhook_url: str | None = WEBHOOK_URL,
) -> AsyncIterator[str]:
    """A worker on a fresh task queue with both workflows, the fake steps, the fake webhook
    and the real `enqueue_transition`, as build_workers assembles them."""
    task_queue = f"tq-{uuid.uuid4()}"
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=[CampaignWorkflow, WebhookNotifierWorkflow],
        activities=[
            *services.activities(),
            webhook.notify_transition,
            WebhookOutbox(webhook_url).enqueue_transition,
        ],
        workflow_runner=workflow_runner(),
    )
    async with fake_workers(client, task_queue, main, services):
        yield task_queue


def notifier_for(
    client: Client, task_queue: str, campaign_id: uuid.UUID, webhook_url: str = WEBHOOK_URL
) -> WorkflowHandle[Any, NotifierBacklog]:
    key = endpoint_key(task_queue, webhook_url)
    return client.get_workflow_handle(
        notifier_workflow_id(key, shard_of(campaign_id)), result_type=NotifierBacklog
    )


async def query_backlog(handle: WorkflowHandle[Any, Any]) -> NotifierBacklog:
    backlog: NotifierBacklog = await handle.query(
        BACKLOG_QUERY, result_type=NotifierBacklog, rpc_timeout=QUERY_TIMEOUT
    )
    return backlog
