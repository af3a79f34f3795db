"""The campaign's side of the webhook outbox: hand one event to its notifier workflow.

`enqueue_transition` only talks to Temporal (signal-with-start), so it is quick whatever the
webhook does; WebhookNotifierWorkflow then delivers with the `notify_transition` activity.
"""

from __future__ import annotations

from temporalio import activity

from contracts.events import TransitionEvent
from contracts.webhook_outbox import (
    NOTIFIER_WORKFLOW_TYPE,
    TRANSITION_SIGNAL,
    NotifierInput,
    OutboxReceipt,
    endpoint_key,
    notifier_workflow_id,
    shard_of,
)

ENQUEUE_TRANSITION = "enqueue_transition"


class WebhookOutbox:
    """Holds the worker's CAMPAIGN_WEBHOOK_URL (None: events are dropped with a warning)."""

    def __init__(self, webhook_url: str | None) -> None:
        self._url = webhook_url

    @activity.defn(name=ENQUEUE_TRANSITION)
    async def enqueue_transition(self, event: TransitionEvent) -> OutboxReceipt:
        """Signal the event to its notifier, starting it if it is not running. A retry may
        signal twice: the notifier drops the second by event_id."""
        if self._url is None:
            activity.logger.warning(
                "transition event dropped: this worker has no CAMPAIGN_WEBHOOK_URL",
                extra={"fields": {"event_id": event.event_id}},
            )
            return OutboxReceipt()
        # The notifier runs on the campaign's task queue, whose workers share the webhook.
        task_queue = activity.info().task_queue
        key, shard = endpoint_key(task_queue, self._url), shard_of(event.campaign_id)
        workflow_id = notifier_workflow_id(key, shard)
        await activity.client().start_workflow(
            NOTIFIER_WORKFLOW_TYPE,
            NotifierInput(endpoint_key=key, shard=shard),
            id=workflow_id,
            task_queue=task_queue,
            start_signal=TRANSITION_SIGNAL,
            start_signal_args=[event],
            static_summary=f"webhook outbox {key}, shard {shard}",
        )
        return OutboxReceipt(notifier_workflow_id=workflow_id)
