"""Workflow-side observability of a campaign: what each execution-log entry also produces.

- a log line through `workflow.logger` (silent during replay; INFO for the outcomes, DEBUG for
  the steps), which log_setup renders with workflow_id, run_id and attempt;
- metrics through `workflow.metric_meter()` (replay-safe; a no-op without a metrics runtime):
  campaign_failures_total, campaign_operator_retries_total, campaign_outcomes_total;
- for campaigns started with `notify_transitions`, a TransitionEvent per state change, handed
  in order to the webhook outbox by the `enqueue_transition` activity (signal-with-start of the
  endpoint's WebhookNotifierWorkflow, which delivers it: workflows/webhook_notifier.py). The
  campaign waits for the hand-over only, never for the webhook.

Campaigns started before the outbox (no WEBHOOK_OUTBOX marker in their history) keep
delivering with `notify_transition` from the campaign itself, as they ran. Without
`notify_transitions` this adds no command to the history (not even the patch marker):
campaigns keep exactly the command sequence they had before webhooks existed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import CampaignActivities
    from activities.webhook_outbox import WebhookOutbox
    from contracts import CampaignPayload, LogAction, TraceEntry
    from contracts.events import OUTBOX_ONLY_ACTIONS, TRANSITION_ACTIONS, TransitionEvent
    from contracts.webhook_outbox import WEBHOOK_REJECTED

A = LogAction
INFO_ACTIONS = frozenset(
    {A.CAMPAIGN_FAILED, A.RETRY_ACCEPTED, A.RETRY_REFUSED, A.CAMPAIGN_COMPLETED,
     A.RETRY_WINDOW_EXPIRED, A.CAMPAIGN_CANCELLED, A.APPROVAL_REQUESTED, A.APPROVED,
     A.CHANGES_REQUESTED, A.REJECTED, A.CAMPAIGN_PAUSED, A.CAMPAIGN_RESUMED}
)  # fmt: skip
# The actions that end a campaign, by outcome (campaign_outcomes_total).
OUTCOMES = {
    A.CAMPAIGN_COMPLETED: "published",
    A.RETRY_WINDOW_EXPIRED: "failed",
    A.CAMPAIGN_CANCELLED: "cancelled",
}
# New runs hand events to the outbox; runs recorded before it deliver them themselves.
WEBHOOK_OUTBOX = "webhook-outbox"
# The hand-over only involves Temporal: retried until it succeeds.
ENQUEUE_TIMEOUT = timedelta(seconds=10)
ENQUEUE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
# The path of runs recorded before the outbox.
WEBHOOK_TIMEOUT = timedelta(seconds=30)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=[WEBHOOK_REJECTED],
)


class CampaignObserver:
    def __init__(self, notify_transitions: bool) -> None:
        self._notify = notify_transitions
        self._queue: deque[TransitionEvent] = deque()
        self._pump: asyncio.Task[None] | None = None
        self._outbox: bool | None = None  # decided once, at the first event, by the patch

    def on_trace(self, payload: CampaignPayload, entry: TraceEntry) -> None:
        action = entry.action
        level = (
            logging.WARNING
            if action == A.APPROVAL_REMINDER
            else logging.INFO
            if action in INFO_ACTIONS
            else logging.DEBUG
        )
        if workflow.logger.isEnabledFor(level):
            workflow.logger.log(
                level,
                action,
                extra={
                    "fields": {
                        "campaign_id": str(payload.campaign_id),
                        "state": entry.state.value,
                        "seq": entry.seq,
                        **entry.details,
                    }
                },
            )
        if action in INFO_ACTIONS:
            self._measure(payload, action)
        if self._notify and (
            action in TRANSITION_ACTIONS or (action in OUTBOX_ONLY_ACTIONS and self._uses_outbox())
        ):
            self._publish(payload, entry)

    def decide(self) -> None:
        """Decide the outbox patch when the run begins (before any local activity: a patch
        first called after one completes in the same task has replayed out of order)."""
        if self._notify:
            self._uses_outbox()

    def _uses_outbox(self) -> bool:
        if self._outbox is None:
            self._outbox = workflow.patched(WEBHOOK_OUTBOX)
        return self._outbox

    async def drain(self) -> None:
        """Wait until every event published so far is handed to the outbox (runs recorded
        before the outbox: delivered or given up on)."""
        if self._pump is None:
            return
        await workflow.wait_condition(lambda: not self._queue)
        self._pump.cancel()
        self._pump = None

    # ---- metrics ---------------------------------------------------------------------------

    def _measure(self, payload: CampaignPayload, action: str) -> None:
        meter = workflow.metric_meter()
        failure = payload.failure
        if action == A.CAMPAIGN_FAILED and failure is not None:
            meter.create_counter("campaign_failures_total", "Campaigns parked in FAILED").add(
                1, {"step": failure.step.value, "reason": failure.reason.value}
            )
        elif action == A.RETRY_ACCEPTED:
            meter.create_counter(
                "campaign_operator_retries_total", "Accepted operator retries"
            ).add(1)
        elif action in OUTCOMES:
            outcome = OUTCOMES[A(action)]
            reason = failure.reason.value if failure and outcome != "published" else ""
            meter.create_counter("campaign_outcomes_total", "Campaigns ended, by outcome").add(
                1, {"outcome": outcome, "reason": reason}
            )

    # ---- webhooks --------------------------------------------------------------------------

    def _publish(self, payload: CampaignPayload, entry: TraceEntry) -> None:
        info = workflow.info()
        self._queue.append(
            TransitionEvent(
                event_id=f"{info.workflow_id}/{info.run_id}/{entry.seq}",
                type=entry.action,
                campaign_id=payload.campaign_id,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                seq=entry.seq,
                at=entry.at,
                state=entry.state,
                retry_count=payload.retry_count,
                failure=payload.failure,
                details=entry.details,
            )
        )
        if self._pump is None:
            self._pump = asyncio.create_task(self._pump_in_order(self._uses_outbox()))

    async def _pump_in_order(self, outbox: bool) -> None:
        """Hand each event to the outbox (or, for runs recorded before it, deliver it), in order."""
        send: Callable[[Any, TransitionEvent], Awaitable[object]]
        if outbox:
            send, timeout, retry, verb, lost = (
                WebhookOutbox.enqueue_transition, ENQUEUE_TIMEOUT, ENQUEUE_RETRY,
                "outbox", "transition event not handed to the outbox",
            )  # fmt: skip
        else:
            send, timeout, retry, verb, lost = (
                CampaignActivities.notify_transition, WEBHOOK_TIMEOUT, WEBHOOK_RETRY,
                "notify", "transition event not delivered",
            )  # fmt: skip
        while True:
            await workflow.wait_condition(lambda: bool(self._queue))
            event = self._queue[0]
            try:
                await workflow.execute_activity_method(
                    send,
                    event,
                    start_to_close_timeout=timeout,
                    retry_policy=retry,
                    summary=f"{verb} {event.type} ({event.state})",
                )
            except ActivityError as err:
                workflow.logger.warning(
                    lost, extra={"fields": {"event_id": event.event_id, "error": str(err.cause)}}
                )
            self._queue.popleft()
