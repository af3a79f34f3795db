"""State-change events, delivered to CAMPAIGN_WEBHOOK_URL for campaigns that ask for them.

Delivery: POST, JSON body = one TransitionEvent, headers
    X-Campaign-Signature: sha256=<hex HMAC-SHA256 of the raw body, key CAMPAIGN_WEBHOOK_SECRET>
    X-Campaign-Event-Id:  <event_id>      (also Idempotency-Key: deduplicate on it)
A 2xx answer acknowledges. Other answers and network errors are retried with backoff (4xx other
than 408/409/425/429 are not). Events of one campaign are delivered one at a time, in `seq`
order; delivery is at least once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, JsonValue

from contracts.base import Contract
from contracts.enums import CampaignState
from contracts.payload import FailureDetails

SIGNATURE_HEADER = "X-Campaign-Signature"
EVENT_ID_HEADER = "X-Campaign-Event-Id"

# The execution-log actions that are state changes, and so are notified.
TRANSITION_ACTIONS = frozenset(
    {"step_started", "campaign_failed", "retry_accepted", "campaign_completed",
     "retry_window_expired"}
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
