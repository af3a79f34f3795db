"""The webhook outbox on the time-skipping test server: a campaign never waits for its webhook;
WebhookNotifierWorkflow delivers every event, in order, once per success, across
continue-as-new, for as long as the webhook stays down."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from activities.webhook_outbox import WebhookOutbox
from contracts import (
    APPROVE_UPDATE,
    ApprovalPolicy,
    CampaignState,
    FailureReason,
    ReviewRequest,
)
from contracts.events import TRANSITION_ACTIONS, TransitionEvent
from contracts.webhook_outbox import (
    TRANSITION_SIGNAL,
    NotifierBacklog,
    NotifierInput,
    notifier_workflow_id,
)
from orchestrator_worker.worker_factory import workflow_runner
from tests.workflow.fakes import (
    AUDIT,
    FakeServices,
    campaign_input,
    fail,
    query_payload,
    result,
    start,
    time_skipping_environment,
    wait_for,
    wait_for_state,
)
from tests.workflow.webhook_fakes import (
    WEBHOOK_URL,
    FakeWebhook,
    notifier_for,
    outbox_worker,
    query_backlog,
)
from workflows import CampaignWorkflow, WebhookNotifierWorkflow


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own: these tests skip time, which workflows other tests leave
    behind (waiting on task queues nobody polls any more) could hold back."""
    async with time_skipping_environment() as environment:
        yield environment


def event(campaign_id: uuid.UUID, seq: int) -> TransitionEvent:
    workflow_id = f"campaign-{campaign_id}"
    return TransitionEvent(
        event_id=f"{workflow_id}/run-1/{seq}",
        type="step_started",
        campaign_id=campaign_id,
        workflow_id=workflow_id,
        run_id="run-1",
        seq=seq,
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seq),
        state=CampaignState.RADAR_SCAN,
        retry_count=0,
    )


async def start_notifier(
    client: Client, task_queue: str, first: TransitionEvent, **options: Any
) -> WorkflowHandle[WebhookNotifierWorkflow, NotifierBacklog]:
    """Signal-with-start, as enqueue_transition does."""
    return await client.start_workflow(
        WebhookNotifierWorkflow.run,
        NotifierInput(endpoint_key="test", shard=0, **options),
        id=notifier_workflow_id(f"test-{uuid.uuid4().hex[:8]}", 0),
        task_queue=task_queue,
        start_signal=TRANSITION_SIGNAL,
        start_signal_args=[first],
    )


async def eventually(predicate: Any, what: str, within: float = 15.0) -> None:
    async def poll() -> None:
        while True:
            if await predicate():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), within)
    except TimeoutError:
        raise AssertionError(f"not {what} after {within}s") from None


async def test_a_campaign_completes_while_its_webhook_is_down_then_every_event_arrives(
    env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    webhook = FakeWebhook(down=True)
    async with outbox_worker(env.client, FakeServices(), webhook) as tq:
        c = campaign_input(notify_transitions=True)
        handle = await start(env.client, tq, c)
        # In real time: a campaign that waited for its webhook would sit in retries for minutes.
        with env.auto_time_skipping_disabled():
            outcome = await result(handle, within=20)
        assert outcome.state is CampaignState.LEARN
        log = (await query_payload(handle)).execution_log
        expected = [e.seq for e in log if e.action in TRANSITION_ACTIONS]
        assert len(expected) == 7  # six steps started, completed
        notifier = notifier_for(env.client, tq, c.campaign_id)
        backlog = await query_backlog(notifier)
        assert backlog.queued == len(expected) and webhook.delivered == []
        assert backlog.oldest_event_id == f"{handle.id}/{handle.result_run_id}/{expected[0]}"
        assert webhook.attempts  # it is trying
        await env.sleep(timedelta(minutes=1))  # the first round of attempts fails
        backlog = await query_backlog(notifier)
        assert backlog.queued == len(expected) and backlog.failed_rounds >= 1
        assert backlog.last_error is not None and "WEBHOOK_UNAVAILABLE" in backlog.last_error
        metadata = await notifier.query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata
        )
        assert f"backlog: **{len(expected)}**" in metadata.current_details
        # the campaign handed its events over; it never called the webhook itself
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in (await handle.fetch_history()).events
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        assert scheduled.count("enqueue_transition") == len(expected)
        assert "notify_transition" not in scheduled

        webhook.down = False
        final = await finish(env, notifier)
        await replays(handle, notifier)
    assert [e.seq for e in webhook.delivered] == expected
    assert len({e.event_id for e in webhook.delivered}) == len(expected)  # each once
    assert {e.workflow_id for e in webhook.delivered} == {handle.id}
    assert final.queued == 0 and final.delivered_total == len(expected)
    # the SDK's warning for each failed attempt, with the notifier's ids
    failed_attempts = [
        r
        for r in caplog.records
        if r.getMessage().startswith("Completing activity as failed")
        and "notify_transition" in r.getMessage()
    ]
    assert len(failed_attempts) == len(webhook.attempts) - len(webhook.delivered) > 0
    assert all(final.notifier_workflow_id in r.getMessage() for r in failed_attempts)
    assert final.last_error is not None and "WEBHOOK_UNAVAILABLE" in final.last_error


async def test_the_same_event_handed_over_twice_is_delivered_once(
    env: WorkflowEnvironment,
) -> None:
    webhook = FakeWebhook(down=True)
    campaign_id = uuid.uuid4()
    first, second = event(campaign_id, 1), event(campaign_id, 2)
    async with outbox_worker(env.client, FakeServices(), webhook) as tq:
        # enqueue_transition itself, retried: two signal-with-starts of one event
        activities = ActivityEnvironment(client=env.client)
        activities.info = dataclasses.replace(activities.info, task_queue=tq)
        enqueue = WebhookOutbox(WEBHOOK_URL).enqueue_transition
        receipts = [await activities.run(enqueue, first) for _ in range(2)]
        notifier = notifier_for(env.client, tq, campaign_id)
        assert {r.notifier_workflow_id for r in receipts} == {notifier.id}
        assert (await query_backlog(notifier)).queued == 1  # the duplicate of a queued event
        webhook.down = False
        await eventually(lambda: _delivered(webhook, 1), "delivered")
        # a late duplicate of a delivered event, then the next event
        await activities.run(enqueue, first)
        await activities.run(enqueue, second)
        final = await finish(env, notifier)
    assert [e.seq for e in webhook.delivered] == [1, 2]
    assert final.delivered_total == 2


async def test_continue_as_new_carries_the_queue_in_order(env: WorkflowEnvironment) -> None:
    webhook = FakeWebhook(down=True)
    a, b = uuid.uuid4(), uuid.uuid4()
    events = [event(a, 1), event(b, 1), event(a, 2), event(b, 2), event(a, 3)]
    async with outbox_worker(env.client, FakeServices(), webhook) as tq:
        handle = await start_notifier(env.client, tq, events[0], max_deliveries_per_run=2)
        for e in events[1:]:
            await handle.signal(TRANSITION_SIGNAL, e)
        await eventually(
            lambda: _queued(handle, len(events)), "all queued while the webhook is down"
        )
        await env.sleep(timedelta(minutes=1))  # a failed round: last_error is set
        webhook.down = False
        final = await finish(env, handle)
        runs = await _runs(env.client, handle.id, handle.result_run_id)
        await replays(*(env.client.get_workflow_handle(handle.id, run_id=r) for r in runs))
    assert [e.event_id for e in webhook.delivered] == [e.event_id for e in events]
    assert final.delivered_total == len(events) and final.queued == 0
    assert len(runs) == 3  # 2 + 2 + 1 deliveries
    assert final.last_error is not None  # carried from the first run


async def test_a_refused_event_is_dropped_and_the_next_one_delivered(
    env: WorkflowEnvironment,
) -> None:
    campaign_id = uuid.uuid4()
    events = [event(campaign_id, seq) for seq in (1, 2, 3)]
    webhook = FakeWebhook(refuse={events[1].event_id})
    async with outbox_worker(env.client, FakeServices(), webhook) as tq:
        handle = await start_notifier(env.client, tq, events[0])
        for e in events[1:]:
            await handle.signal(TRANSITION_SIGNAL, e)
        final = await finish(env, handle)
    assert [e.seq for e in webhook.delivered] == [1, 3]
    assert final.rejected_total == 1 and final.delivered_total == 2
    assert final.last_error is not None and "WEBHOOK_REJECTED" in final.last_error


async def test_a_worker_without_a_webhook_url_drops_events_and_the_campaign_completes(
    env: WorkflowEnvironment,
) -> None:
    webhook = FakeWebhook()
    async with outbox_worker(env.client, FakeServices(), webhook, webhook_url=None) as tq:
        handle = await start(env.client, tq, campaign_input(notify_transitions=True))
        outcome = await result(handle)
    assert outcome.state is CampaignState.LEARN
    assert webhook.attempts == []


async def finish(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> NotifierBacklog:
    """Skip past the notifier's retries and idle timeout; its last run's result."""
    await env.sleep(NotifierInput.model_fields["idle_timeout"].default * 2)
    latest = env.client.get_workflow_handle(handle.id, result_type=NotifierBacklog)
    return await asyncio.wait_for(latest.result(), 30)


async def replays(*handles: WorkflowHandle[Any, Any]) -> None:
    """Today's code replays each run's history without a nondeterminism error."""
    replayer = Replayer(
        workflows=[CampaignWorkflow, WebhookNotifierWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    for handle in handles:
        replay = await replayer.replay_workflow(
            await handle.fetch_history(), raise_on_replay_failure=False
        )
        assert replay.replay_failure is None, (handle.id, replay.replay_failure)


async def _delivered(webhook: FakeWebhook, count: int) -> bool:
    return len(webhook.delivered) >= count


async def _queued(handle: WorkflowHandle[Any, Any], count: int) -> bool:
    return (await query_backlog(handle)).queued == count


async def _runs(client: Client, workflow_id: str, first_run_id: str | None) -> list[str]:
    """The run ids of a continue-as-new chain, first to last."""
    runs: list[str] = []
    run_id = first_run_id
    while run_id is not None:
        runs.append(run_id)
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        last = history.events[-1]
        run_id = None
        if last.HasField("workflow_execution_continued_as_new_event_attributes"):
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return runs


async def test_a_cancelled_campaign_hands_over_its_events_and_a_cancelled_event(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().always(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    webhook = FakeWebhook()
    async with outbox_worker(env.client, services, webhook) as tq:
        c = campaign_input(notify_transitions=True)
        handle = await start(env.client, tq, c)
        await wait_for_state(handle, CampaignState.FAILED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await result(handle)
        log = (await query_payload(handle)).execution_log
        expected = [e.seq for e in log if e.action in TRANSITION_ACTIONS | {"campaign_cancelled"}]
        await eventually(
            lambda: _async_value(len(webhook.delivered) == len(expected)), "all delivered"
        )
    assert [e.seq for e in webhook.delivered] == expected
    assert webhook.delivered[-1].type == "campaign_cancelled"


async def _async_value(value: bool) -> bool:
    return value


async def test_a_review_hands_over_its_request_reminder_and_decision_as_events(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    webhook = FakeWebhook()
    policy = ApprovalPolicy(deadline=timedelta(hours=2), remind_after=timedelta(seconds=1))
    async with outbox_worker(env.client, services, webhook) as tq:
        handle = await start(
            env.client, tq, campaign_input(notify_transitions=True, approval=policy)
        )
        await wait_for_state(handle, CampaignState.AWAITING_APPROVAL)
        await wait_for(handle, lambda p: p.approval is not None and p.approval.reminded, "reminded")
        await handle.execute_update(APPROVE_UPDATE, ReviewRequest(reviewer="ana", revision=0))
        await result(handle)
        log = (await query_payload(handle)).execution_log
        review = {"approval_requested", "approval_reminder", "approved"}
        expected = [e.seq for e in log if e.action in TRANSITION_ACTIONS | review]
        await eventually(
            lambda: _async_value(len(webhook.delivered) == len(expected)), "all delivered"
        )
    assert [e.seq for e in webhook.delivered] == expected
    types = [e.type for e in webhook.delivered]
    assert types.index("approval_requested") < types.index("approval_reminder")
    assert types.index("approval_reminder") < types.index("approved")
    reminder = next(e for e in webhook.delivered if e.type == "approval_reminder")
    assert reminder.state is CampaignState.AWAITING_APPROVAL
    assert reminder.details["revision"] == 0
