"""The webhook outbox: WebhookNotifierWorkflow's input, signal, query and the hand-over receipt.

A campaign started with notify_transitions hands each TransitionEvent to a notifier workflow
(the `enqueue_transition` activity, by signal-with-start); the notifier delivers them to the
webhook in order, for as long as it takes (workflows/webhook_notifier.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from uuid import UUID

from pydantic import Field

from contracts.base import Contract
from contracts.events import TransitionEvent

NOTIFIER_WORKFLOW_TYPE = "WebhookNotifierWorkflow"
TRANSITION_SIGNAL = "transition"
BACKLOG_QUERY = "backlog"
# Notifiers per endpoint. The events of one campaign always go to the same one (in order);
# changing this moves campaigns that are running to another notifier mid-way.
NOTIFIER_SHARDS = 16
# The `deliver_webhook` activity's error types: the endpoint is down (retried), or it refused
# the event (4xx: not retried, the notifier drops it and logs why).
WEBHOOK_UNAVAILABLE = "WEBHOOK_UNAVAILABLE"
WEBHOOK_REJECTED = "WEBHOOK_REJECTED"


def endpoint_key(task_queue: str, webhook_url: str) -> str:
    """Names one endpoint as served from one task queue, without quoting the URL (which may
    carry a secret): the first 12 hex digits of SHA-256 of `<task queue>\\n<url>`."""
    return hashlib.sha256(f"{task_queue}\n{webhook_url}".encode()).hexdigest()[:12]


def shard_of(campaign_id: UUID) -> int:
    return campaign_id.int % NOTIFIER_SHARDS


def notifier_workflow_id(key: str, shard: int) -> str:
    return f"webhook-notifier-{key}-{shard}"


class NotifierInput(Contract):
    """WebhookNotifierWorkflow's one input: set by the first hand-over, then carried (with the
    backlog) through continue-as-new."""

    endpoint_key: str = Field(min_length=1, max_length=64)
    shard: int = Field(ge=0)
    queue: list[TransitionEvent] = Field(
        default_factory=list, description="Events not yet delivered, oldest first."
    )
    recent_event_ids: list[str] = Field(
        default_factory=list, description="Ids delivered lately, oldest first: for dedup."
    )
    delivered_total: int = Field(default=0, ge=0)
    rejected_total: int = Field(default=0, ge=0)
    failed_rounds: int = Field(default=0, ge=0, description="Failed rounds of the head event.")
    last_error: str | None = None
    last_error_at: datetime | None = None
    max_deliveries_per_run: int = Field(
        default=500, ge=1, description="Continue-as-new after this many deliveries."
    )
    idle_timeout: timedelta = Field(
        default=timedelta(hours=1),
        gt=timedelta(0),
        description="End after this long with nothing to deliver; the next event starts it again.",
    )


class NotifierBacklog(Contract):
    """The `backlog` query's answer (and the workflow's result when it ends idle)."""

    notifier_workflow_id: str
    queued: int = Field(ge=0, description="Events not yet delivered (the one in flight too).")
    oldest_event_id: str | None = None
    oldest_event_at: datetime | None = None
    oldest_age_seconds: float | None = Field(
        default=None, description="Workflow time now minus the oldest event's `at`."
    )
    queued_event_ids: list[str] = Field(
        default_factory=list, description="The first 20 queued ids, in delivery order."
    )
    delivered_total: int = Field(ge=0, description="Since the notifier first started.")
    rejected_total: int = Field(ge=0, description="Refused by the webhook (4xx): dropped.")
    failed_rounds: int = Field(ge=0, description="Failed delivery rounds of the oldest event.")
    last_error: str | None = None
    last_error_at: datetime | None = None


class OutboxReceipt(Contract):
    """`enqueue_transition`'s result: the notifier now holding the event; None when the worker
    has no CAMPAIGN_WEBHOOK_URL and dropped it."""

    notifier_workflow_id: str | None = None
