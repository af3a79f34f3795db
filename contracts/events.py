"""State-change events, delivered to CAMPAIGN_WEBHOOK_URL for campaigns that ask for them.

Delivery: POST, JSON body = one TransitionEvent, headers
    X-Campaign-Signature: sha256=<hex HMAC-SHA256 of the raw body, key CAMPAIGN_WEBHOOK_SECRET>
    X-Campaign-Event-Id:  <event_id>      (also Idempotency-Key: deduplicate on it)
A 2xx answer acknowledges. Other answers and network errors are retried, without limit (backoff
from 1 s up to 5 minutes); a 4xx other than 408/409/425/429 drops the event, with a warning.

Delivery is at least once: an attempt whose answer is lost (a timeout, a worker crash) is made
again with the same event_id. Events of one campaign are delivered one at a time, in `seq` order.
They go through a durable outbox: the campaign hands each one to the endpoint's
WebhookNotifierWorkflow (workflows/webhook_notifier.py) and never waits for the webhook, so a
campaign completes on time while its events may still be on their way. (Campaigns started
before the outbox existed still deliver from the campaign itself, at most 10 attempts each.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, JsonValue

from contracts.base import Contract
from contracts.enums import CampaignState
from contracts.log_actions import LogAction
from contracts.payload import FailureDetails

SIGNATURE_HEADER = "X-Campaign-Signature"
EVENT_ID_HEADER = "X-Campaign-Event-Id"

# The execution-log actions that are state changes, and so are notified.
TRANSITION_ACTIONS = frozenset(
    {LogAction.STEP_STARTED, LogAction.CAMPAIGN_FAILED, LogAction.RETRY_ACCEPTED,
     LogAction.CAMPAIGN_COMPLETED, LogAction.RETRY_WINDOW_EXPIRED}
)  # fmt: skip
# Also notified, by campaigns that hand their events to the outbox (older ones did not).
OUTBOX_ONLY_ACTIONS = frozenset(
    {LogAction.CAMPAIGN_CANCELLED, LogAction.ALREADY_PUBLISHED,
     LogAction.APPROVAL_REQUESTED, LogAction.APPROVAL_REMINDER, LogAction.APPROVED,
     LogAction.CHANGES_REQUESTED, LogAction.REJECTED, LogAction.CAMPAIGN_PAUSED,
     LogAction.CAMPAIGN_RESUMED}
)  # fmt: skip


class TransitionEvent(Contract):
    """One state change of one campaign."""

    schema_version: Literal[1] = 1
    event_id: str = Field(description="<workflow id>/<run id>/<seq>: unique, stable on retries.")
    type: str = Field(description="The execution-log action: step_started, campaign_failed, ...")
    campaign_id: UUID
    workflow_id: str
    run_id: str
    seq: int = Field(ge=1, description="The execution-log entry; orders the events.")
    at: datetime
    state: CampaignState = Field(description="The campaign's state after the change.")
    retry_count: int = Field(ge=0)
    failure: FailureDetails | None = None
    details: dict[str, JsonValue] = Field(default_factory=dict)
