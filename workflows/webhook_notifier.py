"""WebhookNotifierWorkflow: the durable outbox that delivers transition events to the webhook.

One notifier per endpoint and shard, `webhook-notifier-<endpoint key>-<shard>` (see
contracts/webhook_outbox.py); every event of a campaign goes to the same one. Campaigns hand
events over with the `enqueue_transition` activity (signal-with-start of the `transition`
signal) and never wait for delivery.

- Order: one FIFO queue, delivered one event at a time, so each campaign's events arrive in
  `seq` order. Duplicates (a retried hand-over signals twice) are dropped by event_id, against
  the queue and the last RECENT_IDS delivered ids.
- Delivery: the `notify_transition` activity, in rounds: the first of 5 attempts (backoff 1 s
  doubling, about 15 s in all), then rounds of 3 attempts MAX_BACKOFF (5 min) apart, each after
  a MAX_BACKOFF pause, forever. After each failed round the notifier records the error (the
  backlog's last_error). An event the webhook refuses (a 4xx that is not retried) is dropped
  with a warning.
- Continue-as-new, between deliveries, when Temporal suggests it or after
  `max_deliveries_per_run` deliveries; the queue, recent ids and counters go with it.
- Idle: with an empty queue it waits; after `idle_timeout` (default 1 h) with nothing to do it
  ends. The next hand-over starts it again (signal-with-start), so no event is lost.
- Visible: the `backlog` query, the Web UI's current details, the gauge
  campaign_webhook_backlog{notifier}, and a warning log line per failed round or refused event.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities import CampaignActivities
    from contracts.events import TransitionEvent
    from contracts.webhook_outbox import (
        BACKLOG_QUERY,
        NOTIFIER_WORKFLOW_TYPE,
        TRANSITION_SIGNAL,
        WEBHOOK_REJECTED,
        NotifierBacklog,
        NotifierInput,
    )

DELIVERY_TIMEOUT = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
# Rounds keep a long outage visible (last_error) and let continue-as-new happen between them.
FIRST_ROUND = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=MAX_BACKOFF,
    maximum_attempts=5,
    non_retryable_error_types=[WEBHOOK_REJECTED],
)
LATER_ROUND = RetryPolicy(
    initial_interval=MAX_BACKOFF,
    backoff_coefficient=1.0,
    maximum_interval=MAX_BACKOFF,
    maximum_attempts=3,
    non_retryable_error_types=[WEBHOOK_REJECTED],
)
# Enough to catch a retried hand-over, which arrives before the campaign's next event.
RECENT_IDS = 1000
SHOWN_IDS = 20
MAX_ERROR = 300
BACKLOG_GAUGE = "campaign_webhook_backlog"
# A continue-as-new input over Temporal's 2 MB payload limit would fail the notifier and lose its
# backlog: above this, the run keeps going (its history has room up to 50 MB) and says so.
MAX_CARRIED_BYTES = 1_500_000


@workflow.defn(name=NOTIFIER_WORKFLOW_TYPE)
class WebhookNotifierWorkflow:
    @workflow.init
    def __init__(self, input: NotifierInput) -> None:
        self._input = input
        self._queue: deque[TransitionEvent] = deque(input.queue)
        self._queued_ids = {e.event_id for e in input.queue}
        self._recent: deque[str] = deque(input.recent_event_ids[-RECENT_IDS:])
        self._recent_ids = set(self._recent)
        self._delivered_total = input.delivered_total
        self._rejected_total = input.rejected_total
        self._failed_rounds = input.failed_rounds
        self._last_error = input.last_error
        self._last_error_at = input.last_error_at
        self._delivered_this_run = 0
        self._too_big_to_carry = False  # warned once per run

    @workflow.run
    async def run(self, input: NotifierInput) -> NotifierBacklog:
        self._show()
        while True:
            if not self._queue and not await self._wait_for_events():
                return self.backlog()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                carried = self._next_input()
                size = len(carried.model_dump_json())
                if size <= MAX_CARRIED_BYTES:
                    workflow.logger.info(
                        "webhook_notifier_continued_as_new",
                        extra={"fields": {"queued": len(self._queue)}},
                    )
                    workflow.continue_as_new(carried)
                if not self._too_big_to_carry:
                    self._too_big_to_carry = True
                    workflow.logger.warning(
                        "webhook_backlog_too_big_to_continue_as_new",
                        extra={"fields": {"queued": len(self._queue), "bytes": size}},
                    )
            await self._deliver_head()

    @workflow.signal(
        name=TRANSITION_SIGNAL,
        description="One TransitionEvent to deliver (sent by enqueue_transition).",
    )
    def transition(self, event: TransitionEvent) -> None:
        if event.event_id in self._queued_ids or event.event_id in self._recent_ids:
            workflow.logger.debug(
                "webhook_event_duplicate", extra={"fields": {"event_id": event.event_id}}
            )
            return
        self._queue.append(event)
        self._queued_ids.add(event.event_id)
        self._show()

    @workflow.query(
        name=BACKLOG_QUERY,
        description="Undelivered events: how many, the oldest, the last delivery error.",
    )
    def backlog(self) -> NotifierBacklog:
        oldest = self._queue[0] if self._queue else None
        return NotifierBacklog(
            notifier_workflow_id=workflow.info().workflow_id,
            queued=len(self._queue),
            oldest_event_id=oldest.event_id if oldest else None,
            oldest_event_at=oldest.at if oldest else None,
            oldest_age_seconds=(workflow.now() - oldest.at).total_seconds() if oldest else None,
            queued_event_ids=[e.event_id for e in list(self._queue)[:SHOWN_IDS]],
            delivered_total=self._delivered_total,
            rejected_total=self._rejected_total,
            failed_rounds=self._failed_rounds,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
        )

    # ---- delivery ----------------------------------------------------------------------------

    async def _wait_for_events(self) -> bool:
        """False when the notifier stayed idle for idle_timeout (it may end)."""
        try:
            await workflow.wait_condition(
                lambda: bool(self._queue), timeout=self._input.idle_timeout
            )
        except TimeoutError:
            pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return bool(self._queue)

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self._delivered_this_run >= self._input.max_deliveries_per_run
        )

    async def _deliver_head(self) -> None:
        event = self._queue[0]
        try:
            await workflow.execute_activity_method(
                CampaignActivities.notify_transition,
                event,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=LATER_ROUND if self._failed_rounds else FIRST_ROUND,
                summary=f"deliver {event.workflow_id} #{event.seq} {event.type}",
            )
        except ActivityError as err:
            self._last_error, self._last_error_at = _describe(err), workflow.now()
            fields = {"event_id": event.event_id, "error": self._last_error}
            if err.retry_state is RetryState.NON_RETRYABLE_FAILURE:
                workflow.logger.warning("webhook_event_rejected", extra={"fields": fields})
                self._rejected_total += 1
                self._done(event)
                return
            self._failed_rounds += 1
            workflow.logger.warning(
                "webhook_delivery_round_failed",
                extra={"fields": {**fields, "failed_rounds": self._failed_rounds}},
            )
            self._show()
            await workflow.sleep(MAX_BACKOFF)
            return
        self._delivered_total += 1
        self._delivered_this_run += 1
        self._done(event)

    def _done(self, event: TransitionEvent) -> None:
        """The head is delivered or refused: remember its id, move on to the next."""
        self._queue.popleft()
        self._queued_ids.discard(event.event_id)
        self._recent.append(event.event_id)
        self._recent_ids.add(event.event_id)
        if len(self._recent) > RECENT_IDS:
            self._recent_ids.discard(self._recent.popleft())
        self._failed_rounds = 0
        self._show()

    def _next_input(self) -> NotifierInput:
        return self._input.model_copy(
            update={
                "queue": list(self._queue),
                "recent_event_ids": list(self._recent),
                "delivered_total": self._delivered_total,
                "rejected_total": self._rejected_total,
                "failed_rounds": self._failed_rounds,
                "last_error": self._last_error,
                "last_error_at": self._last_error_at,
            }
        )

    # ---- visibility --------------------------------------------------------------------------

    def _show(self) -> None:
        """Current details for the Web UI and the backlog gauge (neither adds a command)."""
        workflow.set_current_details(current_details(self.backlog()))
        workflow.metric_meter().create_gauge(
            BACKLOG_GAUGE, "Transition events a webhook notifier has not delivered yet"
        ).set(len(self._queue), {"notifier": workflow.info().workflow_id})


def current_details(b: NotifierBacklog) -> str:
    lines = [f"**Webhook outbox** · backlog: **{b.queued}** event(s)"]
    if b.oldest_event_id is not None and b.oldest_event_at is not None:
        lines.append(
            f"- oldest: `{b.oldest_event_id}` of {b.oldest_event_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"failed delivery rounds: {b.failed_rounds}"
        )
    if b.last_error is not None and b.last_error_at is not None:
        lines.append(f"- last error at {b.last_error_at:%Y-%m-%d %H:%M:%S} UTC: {b.last_error}")
    lines.append(f"- delivered: {b.delivered_total}, refused by the webhook: {b.rejected_total}")
    lines.append(
        f"- `temporal workflow query --workflow-id {b.notifier_workflow_id} --type {BACKLOG_QUERY}`"
    )
    return "\n".join(lines)


def _describe(err: ActivityError) -> str:
    cause = err.cause or err
    kind = type(cause).__name__
    if isinstance(cause, ApplicationError) and cause.type:
        kind = cause.type
    text = " ".join(f"{kind}: {getattr(cause, 'message', cause)}".split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
