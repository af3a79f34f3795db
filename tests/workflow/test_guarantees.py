"""The promises the workflow keeps for any client: one publication per campaign id (a second run
ends as ALREADY_PUBLISHED, a cancel during PUBLISH waits for its outcome), and operator commands
as Updates that answer, or refuse with a typed reason and nothing in history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import (
    RETRY_UPDATE,
    START_UPDATE,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    CarriedState,
    Channel,
    FailureReason,
    PublishedItem,
    PublishReceipt,
    Refusal,
    RetryAccepted,
    RetryRequest,
    StartAccepted,
    StartRequest,
)
from tests.workflow.fakes import (
    AUDIT,
    LEARN,
    LOOKUP,
    PUBLISH,
    RADAR,
    FakeServices,
    actions,
    blocked,
    campaign_input,
    fail,
    failure_of,
    query_payload,
    result,
    run_chain,
    running_worker,
    start,
    update_events,
    wait_for,
    wait_for_state,
)

S = CampaignState
FIRST_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _receipt(campaign_id: uuid.UUID) -> PublishReceipt:
    return PublishReceipt(
        artifact_id=uuid.uuid4(),
        produced_at=FIRST_AT,
        publication_id=f"pub-first-{campaign_id}",
        items=[PublishedItem(channel=Channel.EMAIL, url="https://example.test/first")],
        published_at=FIRST_AT,
    )


# ---- one publication per campaign id -----------------------------------------------------------


async def test_a_second_run_of_a_published_campaign_ends_without_publishing(
    env: WorkflowEnvironment,
) -> None:
    """`temporal workflow start` twice with the same id (its default reuse policy allows it)."""
    services = FakeServices()
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        first = await result(await start(env.client, tq, campaign))
        assert first.state is S.LEARN
        second = await start(env.client, tq, campaign)
        err = await failure_of(second)
        payload = await query_payload(second)
    assert err.type == FailureReason.ALREADY_PUBLISHED
    assert err.non_retryable
    assert first.publish_receipt is not None
    assert first.publish_receipt.publication_id in err.message
    outcome = CampaignOutcome.model_validate(err.details[0])
    assert outcome.publish_receipt == first.publish_receipt
    # the second run called nothing: no step, no second publication
    assert services.steps().count(PUBLISH) == 1
    assert services.steps().count(RADAR) == 1
    assert actions(payload) == ["campaign_created", "already_published"]
    assert payload.failure is not None and payload.failure.reason is FailureReason.ALREADY_PUBLISHED


async def test_the_publisher_refusing_a_second_publication_ends_the_run_with_its_receipt(
    env: WorkflowEnvironment,
) -> None:
    """The lookup failed (the run went on), and the publisher itself is the backstop."""
    campaign = campaign_input()
    first = _receipt(campaign.campaign_id)

    async def refuse(call: Any) -> Any:
        raise ApplicationError(
            "publisher answered 422: already published",
            first.model_dump(mode="json"),
            type=FailureReason.ALREADY_PUBLISHED.value,
            non_retryable=True,
        )

    services = FakeServices().always(LOOKUP, fail(FailureReason.SERVICE_UNAVAILABLE))
    services.script(PUBLISH, refuse)
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        err = await failure_of(handle)
        payload = await query_payload(handle)
    assert err.type == FailureReason.ALREADY_PUBLISHED
    assert first.publication_id in err.message
    assert payload.publish_receipt == first
    log = actions(payload)
    assert "publication_lookup_failed" in log
    assert "campaign_failed" not in log  # not parked for a retry that cannot help
    assert log[-1] == "already_published"
    assert services.lookups == 3  # the lookup's own bounded retries


async def test_a_failed_lookup_does_not_stop_a_first_publication(env: WorkflowEnvironment) -> None:
    services = FakeServices().always(LOOKUP, fail(FailureReason.SERVICE_UNAVAILABLE))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        outcome = await result(handle)
        payload = await query_payload(handle)
    assert outcome.state is S.LEARN
    failed = next(e for e in payload.execution_log if e.action == "publication_lookup_failed")
    assert "SERVICE_UNAVAILABLE" in str(failed.details["error"])


async def test_a_cancel_during_publish_waits_for_the_outcome_and_the_next_run_learns_it(
    env: WorkflowEnvironment,
) -> None:
    release = asyncio.Event()
    services = FakeServices().script(PUBLISH, blocked(release))
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        await asyncio.wait_for(services.started[PUBLISH].wait(), 15)
        await handle.cancel()
        await asyncio.sleep(0.5)  # the cancel reached the workflow; the publication goes on
        release.set()
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        assert isinstance(info.value.cause, CancelledError)
        payload = await query_payload(handle)

        again = await start(env.client, tq, campaign)
        err = await failure_of(again)
    log = actions(payload)
    assert log[-3:] == [
        "cancel_requested_during_publish",
        "publication_outcome",
        "campaign_cancelled",
    ]
    outcome = next(e for e in payload.execution_log if e.action == "publication_outcome")
    assert outcome.details["published"] is True
    assert payload.publish_receipt is not None
    assert outcome.details["publication_id"] == payload.publish_receipt.publication_id
    cancelled = payload.execution_log[-1]
    assert cancelled.details["published"] is True
    assert err.type == FailureReason.ALREADY_PUBLISHED
    assert services.steps().count(PUBLISH) == 1


async def test_learn_giving_up_then_cancel_then_start_again_publishes_once(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().always(LEARN, fail(FailureReason.SERVICE_REJECTED))
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        await wait_for_state(handle, S.FAILED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await result(handle)
        err = await failure_of(await start(env.client, tq, campaign))
    assert err.type == FailureReason.ALREADY_PUBLISHED
    assert services.steps().count(PUBLISH) == 1


# ---- operator commands as Updates ---------------------------------------------------------------


async def _refusal(
    handle: WorkflowHandle[Any, Any], update: str, arg: Any = None
) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, arg)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_retry_update_answers_what_happens_and_refuses_with_a_reason(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(max_retries=2))
        await wait_for_state(handle, S.FAILED)
        answer = await handle.execute_update(
            RETRY_UPDATE, RetryRequest(requested_by="alice"), result_type=RetryAccepted
        )
        outcome = await result(handle)
        # the campaign ended: the server answers, not the workflow
        with pytest.raises(RPCError):  # the dev server: "workflow execution already completed"
            await handle.execute_update(RETRY_UPDATE, RetryRequest())
    assert answer.retry_count == 1
    assert answer.retries_left == 1
    assert answer.resume_at is S.QUALITY_AUDIT
    assert answer.retried_failure is FailureReason.SERVICE_REJECTED
    assert outcome.retry_count == 1


async def test_retry_update_refusals_leave_nothing_in_history(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(RADAR, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(max_retries=0))
        await asyncio.wait_for(services.started[RADAR].wait(), 15)
        not_failed = await _refusal(handle, RETRY_UPDATE, RetryRequest())
        release.set()
        services.script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
        await wait_for_state(handle, S.FAILED)
        none_left = await _refusal(handle, RETRY_UPDATE)  # no input at all: the defaults
        events = await update_events(handle)
        payload = await query_payload(handle)
    assert not_failed.type == Refusal.NOT_FAILED
    assert "RADAR_SCAN, not FAILED" in not_failed.message
    assert none_left.type == Refusal.NO_RETRIES_LEFT
    assert "max_retries (0)" in none_left.message
    assert events == []  # rejected in the validator: no event at all
    assert "retry_refused" not in actions(payload)


async def test_twenty_concurrent_retries_with_one_left_resume_once_and_publish_once(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(max_retries=1))
        await wait_for_state(handle, S.FAILED)

        async def one(i: int) -> RetryAccepted | ApplicationError:
            try:
                answer: RetryAccepted = await handle.execute_update(
                    RETRY_UPDATE, RetryRequest(requested_by=f"op{i}"), result_type=RetryAccepted
                )
                return answer
            except WorkflowUpdateFailedError as err:
                assert isinstance(err.cause, ApplicationError)
                return err.cause
            except Exception as err:  # the workflow closed before this one was read
                return ApplicationError(str(err), type=Refusal.CAMPAIGN_ENDED.value)

        answers = await asyncio.gather(*(one(i) for i in range(20)))
        outcome = await result(handle)
        payload = await query_payload(handle)
    accepted = [a for a in answers if isinstance(a, RetryAccepted)]
    refused = [a for a in answers if isinstance(a, ApplicationError)]
    assert len(accepted) == 1 and len(refused) == 19
    assert {r.type for r in refused} <= {
        Refusal.RETRY_PENDING,
        Refusal.NO_RETRIES_LEFT,
        Refusal.NOT_FAILED,
        Refusal.CAMPAIGN_ENDED,
    }
    assert all(r.message for r in refused)
    assert outcome.retry_count == 1
    assert actions(payload).count("retry_accepted") == 1
    assert services.steps().count(PUBLISH) == 1


async def test_start_update_starts_once(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(start_immediately=False))
        answer = await handle.execute_update(
            START_UPDATE, StartRequest(requested_by="bob"), result_type=StartAccepted
        )
        again = await _refusal(handle, START_UPDATE, StartRequest())
        outcome = await result(handle)
        running = await start(env.client, tq, campaign_input())
        await wait_for(running, lambda p: p.state is not S.IDLE, "past IDLE")
        already = await _refusal(running, START_UPDATE)
        await running.cancel()
    assert answer.starts_at is S.RADAR_SCAN
    assert again.type == Refusal.ALREADY_STARTED
    assert already.type == Refusal.ALREADY_STARTED
    assert outcome.state is S.LEARN


async def test_a_malformed_update_is_rejected_and_the_campaign_goes_on(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await wait_for_state(handle, S.FAILED)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(RETRY_UPDATE, {"requested_by": 5, "bogus": True})
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(RETRY_UPDATE, args=[RetryRequest(), RetryRequest()])
        answer = await handle.execute_update(RETRY_UPDATE, result_type=RetryAccepted)
        outcome = await result(handle)
    assert answer.retry_count == 1
    assert outcome.state is S.LEARN


# ---- bounded history ----------------------------------------------------------------------------


async def test_refused_retries_keep_history_and_log_bounded(env: WorkflowEnvironment) -> None:
    """Issue reproduction 7: 500 refused retries with 1,000-character reasons. The campaign
    continues as new while parked (state carried), logs the first few refusals and counts the
    rest, and still takes the next command."""
    rejected = fail(FailureReason.SERVICE_REJECTED)
    services = FakeServices().script(AUDIT, rejected, rejected)
    campaign = campaign_input(max_retries=1, continue_as_new_after_events=200)
    async with running_worker(env.client, services) as tq:
        first_run = await start(env.client, tq, campaign)
        await wait_for_state(first_run, S.FAILED)
        answer = await first_run.execute_update(RETRY_UPDATE, result_type=RetryAccepted)
        await wait_for(first_run, lambda p: p.retry_count == 1 and p.state is S.FAILED, "FAILED")
        latest = env.client.get_workflow_handle(first_run.id)
        for i in range(500):
            await latest.signal("retry", RetryRequest(requested_by=f"op{i}", reason="x" * 1000))
        payload = await wait_for(
            latest,
            lambda p: p.unlogged_refusals + actions(p).count("retry_refused") == 500,
            "all 500 refusals seen",
            within=60,
        )
        refusal = await _refusal(latest, RETRY_UPDATE)
        histories = await run_chain(env.client, first_run)
        await latest.cancel()
    assert answer.retries_left == 0
    assert refusal.type == Refusal.NO_RETRIES_LEFT
    assert payload.state is S.FAILED and payload.retry_count == 1
    assert actions(payload).count("retry_refused") == 5
    assert payload.unlogged_refusals == 495
    assert actions(payload).count("continued_as_new") >= 1
    assert len(histories) >= 2
    # A run cannot close while signals keep arriving (the server refuses to complete its task),
    # so a burst lands in one run; once it pauses the campaign continues as new, small again.
    assert len(histories[0].events) > 200
    assert len(histories[-1].events) < 200
    # the signals' 1,000-character reasons are in history (they are the callers' input), the
    # execution log only carries what it logged: the carried state stays small
    assert len(payload.model_dump_json()) < 64 * 1024
    assert services.steps().count(AUDIT) == 2


async def test_an_idle_campaign_continues_as_new_and_still_starts(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    campaign = campaign_input(start_immediately=False, continue_as_new_after_events=200)
    async with running_worker(env.client, services) as tq:
        first_run = await start(env.client, tq, campaign)
        latest = env.client.get_workflow_handle(first_run.id)
        for _ in range(120):
            await latest.signal("start", {"requested_by": ""})  # malformed: dropped, logged
        await wait_for(latest, lambda p: "continued_as_new" in actions(p), "continued as new")
        histories = await run_chain(env.client, first_run)
        answer = await latest.execute_update(START_UPDATE, result_type=StartAccepted)
        outcome = CampaignOutcome.model_validate(await result(latest))
    assert len(histories) >= 2
    assert answer.starts_at is S.RADAR_SCAN
    assert outcome.state is S.LEARN
    assert services.steps().count(PUBLISH) == 1


async def test_carried_state_from_a_client_is_refused(env: WorkflowEnvironment) -> None:
    campaign = campaign_input()
    forged = campaign.model_copy(
        update={
            "carried": CarriedState(
                payload=CampaignPayload(
                    campaign_id=campaign.campaign_id,
                    execution_id=uuid.uuid4(),
                    brief=campaign.brief,
                    state=S.LEARN,
                ),
                resume_at=S.LEARN,
                looked_up=True,
            )
        }
    )
    async with running_worker(env.client, FakeServices()) as tq:
        err = await failure_of(await start(env.client, tq, forged))
    assert err.type == FailureReason.INVALID_INPUT
    assert "carried" in err.message
