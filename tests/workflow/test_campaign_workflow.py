"""CampaignWorkflow on the time-skipping test server: the graph, failures, retries, cancellation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError, CancelledError, WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contracts import (
    PIPELINE,
    CampaignOutcome,
    CampaignState,
    ContentRequest,
    FailureReason,
    QualityVerdict,
    RetryRequest,
    Severity,
    StartRequest,
    StepRetrySettings,
    workflow_id_for,
)
from orchestrator_worker.worker_factory import workflow_runner
from tests.workflow.fakes import (
    ALL_STEPS,
    AUDIT,
    CONTENT,
    FAST_RETRY,
    LEARN,
    PUBLISH,
    RADAR,
    STRATEGY,
    FakeServices,
    actions,
    blocked,
    campaign_input,
    check,
    crash,
    fail,
    quality_report,
    query_payload,
    query_state,
    result,
    running_worker,
    sleep,
    start,
    wait_for,
    wait_for_state,
)
from workflows import CampaignWorkflow
from workflows import search_attributes as sa

S = CampaignState


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> TypedSearchAttributes:
    return (await handle.describe()).typed_search_attributes


# ---- the happy path ----------------------------------------------------------------------------


async def test_happy_path_reaches_learn(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        outcome = await result(handle)

        assert isinstance(outcome, CampaignOutcome)
        assert outcome.state is S.LEARN
        assert outcome.retry_count == 0
        assert outcome.failure is None
        assert outcome.publish_receipt is not None
        assert services.steps() == list(ALL_STEPS)
        assert all(c.attempt == 1 for c in services.calls)

        assert await query_state(handle) is S.LEARN
        payload = await query_payload(handle)
        assert payload.state is S.LEARN
        for artifact in (
            payload.trend_report,
            payload.strategy,
            payload.content,
            payload.quality_report,
            payload.publish_receipt,
            payload.learning_summary,
        ):
            assert artifact is not None
        assert [e.seq for e in payload.execution_log] == list(
            range(1, len(payload.execution_log) + 1)
        )
        assert outcome.log_entries == len(payload.execution_log)
        log = actions(payload)
        assert log[0] == "campaign_created"
        assert log[-1] == "campaign_completed"
        assert "quality_gate_passed" in log
        started = [e.state for e in payload.execution_log if e.action == "step_started"]
        assert started == list(PIPELINE)

        attrs = await search_attributes(handle)
        assert attrs.get(sa.CAMPAIGN_STATE) == "LEARN"
        assert attrs.get(sa.CAMPAIGN_RETRY_COUNT) == 0
        assert attrs.get(sa.CAMPAIGN_FAILURE_REASON) is None


async def test_open_gate_with_failing_warning_check_publishes(env: WorkflowEnvironment) -> None:
    services = FakeServices().script(
        AUDIT,
        quality_report(
            QualityVerdict.PASS,
            [
                check("legal", passed=True, severity=Severity.CRITICAL),
                check("length", passed=False, severity=Severity.WARNING),
            ],
        ),
    )
    async with running_worker(env.client, services) as tq:
        outcome = await result(await start(env.client, tq, campaign_input()))
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)


# ---- every failure reason parks the campaign in FAILED ------------------------------------------

SLOW_TIMEOUT = StepRetrySettings(
    initial_interval=timedelta(milliseconds=10),
    maximum_interval=timedelta(milliseconds=10),
    maximum_attempts=2,
    start_to_close_timeout=timedelta(milliseconds=300),
)
UNAVAILABLE_RETRY = FAST_RETRY.model_copy(update={"maximum_attempts": 4})


@pytest.mark.parametrize(
    ("reason", "step_name", "step", "action", "overrides", "attempts"),
    [
        (
            FailureReason.SERVICE_REJECTED,
            PUBLISH,
            S.PUBLISH,
            fail(FailureReason.SERVICE_REJECTED),
            {},
            1,
        ),
        (
            FailureReason.SERVICE_UNAVAILABLE,
            STRATEGY,
            S.STRATEGY_GEN,
            fail(FailureReason.SERVICE_UNAVAILABLE),
            {S.STRATEGY_GEN: UNAVAILABLE_RETRY},
            UNAVAILABLE_RETRY.maximum_attempts,
        ),
        (
            FailureReason.INVALID_SERVICE_RESPONSE,
            CONTENT,
            S.CONTENT_PROD,
            fail(FailureReason.INVALID_SERVICE_RESPONSE),
            {},
            1,
        ),
        (
            FailureReason.PAYLOAD_TOO_LARGE,
            LEARN,
            S.LEARN,
            fail(FailureReason.PAYLOAD_TOO_LARGE),
            {},
            1,
        ),
        (
            FailureReason.TIMEOUT,
            RADAR,
            S.RADAR_SCAN,
            sleep(10),
            {S.RADAR_SCAN: SLOW_TIMEOUT},
            SLOW_TIMEOUT.maximum_attempts,
        ),
        (
            FailureReason.INTERNAL_ERROR,
            AUDIT,
            S.QUALITY_AUDIT,
            crash(),
            {},
            FAST_RETRY.maximum_attempts,
        ),
        (
            FailureReason.QUALITY_GATE_FAILED,
            AUDIT,
            S.QUALITY_AUDIT,
            quality_report(QualityVerdict.FAIL),
            {},
            1,
        ),
    ],
    ids=lambda v: v.value if isinstance(v, FailureReason) else None,
)
async def test_failure_reason_parks_in_failed_then_window_expires(
    env: WorkflowEnvironment, reason, step_name, step, action, overrides, attempts
) -> None:
    services = FakeServices().always(step_name, action)
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(step_retry_overrides=overrides))
        payload = await wait_for_state(handle, S.FAILED)

        assert payload.failure is not None
        assert payload.failure.reason is reason
        assert payload.failure.step is step
        assert await query_state(handle) is S.FAILED
        assert len(services.calls_of(step_name)) == attempts
        assert [c.attempt for c in services.calls_of(step_name)] == list(range(1, attempts + 1))
        # nothing after the failed step ran
        assert services.steps()[-1] == step_name
        assert actions(payload)[-1] == "campaign_failed"
        attrs = await search_attributes(handle)
        assert attrs.get(sa.CAMPAIGN_STATE) == "FAILED"
        assert attrs.get(sa.CAMPAIGN_FAILURE_REASON) == reason.value

        # No retry signal: time skips past the retry window and the workflow fails, typed.
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        assert isinstance(info.value.cause, ApplicationError)
        assert info.value.cause.type == reason.value


async def test_critical_check_closes_gate_despite_pass_verdict(env: WorkflowEnvironment) -> None:
    services = FakeServices().always(
        AUDIT,
        quality_report(
            QualityVerdict.PASS, [check("legal claims", passed=False, severity=Severity.CRITICAL)]
        ),
    )
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        payload = await wait_for_state(handle, S.FAILED)
        assert payload.failure is not None
        assert payload.failure.reason is FailureReason.QUALITY_GATE_FAILED
        assert payload.failure.step is S.QUALITY_AUDIT
        assert "legal claims" in payload.failure.message
        assert "verdict FAIL" not in payload.failure.message
        assert PUBLISH not in services.steps()
        await handle.terminate("test done")


# ---- operator retries --------------------------------------------------------------------------


async def test_retry_resumes_at_failed_step_with_new_idempotency_key(
    env: WorkflowEnvironment,
) -> None:
    services = (
        FakeServices()
        .script(
            RADAR,
            fail(FailureReason.SERVICE_UNAVAILABLE),
            fail(FailureReason.SERVICE_UNAVAILABLE),
        )
        .script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    )
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        payload = await wait_for_state(handle, S.FAILED)
        assert payload.failure is not None
        assert payload.failure.step is S.QUALITY_AUDIT
        assert services.steps() == [RADAR, RADAR, RADAR, STRATEGY, CONTENT, AUDIT]

        await handle.signal(CampaignWorkflow.retry, RetryRequest(requested_by="alice"))
        outcome = await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)

    assert outcome.state is S.LEARN
    assert outcome.retry_count == 1
    assert outcome.failure is None
    # resumed at QUALITY_AUDIT: nothing before it ran again
    assert services.steps()[6:] == [AUDIT, PUBLISH, LEARN]
    # Temporal's retries of one step share the key; the operator's retry gets a new one
    radar_keys = {c.idempotency_key for c in services.calls_of(RADAR)}
    assert len(radar_keys) == 1
    assert [c.attempt for c in services.calls_of(RADAR)] == [1, 2, 3]
    first, second = (c.idempotency_key for c in services.calls_of(AUDIT))
    assert first != second
    assert first.endswith(":QUALITY_AUDIT:r0")
    assert second.endswith(":QUALITY_AUDIT:r1")

    log = actions(payload)
    assert log.index("campaign_failed") < log.index("retry_accepted")
    assert log.index("retry_accepted") < log.index("campaign_completed")
    accepted = next(e for e in payload.execution_log if e.action == "retry_accepted")
    assert accepted.details["requested_by"] == "alice"
    assert accepted.details["resume_at"] == "QUALITY_AUDIT"
    assert accepted.details["previous_failure"] == "SERVICE_REJECTED"
    assert attrs.get(sa.CAMPAIGN_STATE) == "LEARN"
    assert attrs.get(sa.CAMPAIGN_RETRY_COUNT) == 1
    assert attrs.get(sa.CAMPAIGN_FAILURE_REASON) is None


@pytest.mark.parametrize("step", [PUBLISH, LEARN])
async def test_publish_and_learn_are_keyed_per_campaign(
    env: WorkflowEnvironment, step: str
) -> None:
    """PUBLISH and LEARN happen once per campaign id: an operator retry resumes there with the
    same key (a call whose answer was lost is answered from the record, not repeated)."""
    services = FakeServices().script(step, fail(FailureReason.SERVICE_REJECTED))
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        await wait_for_state(handle, S.FAILED)
        await handle.signal(CampaignWorkflow.retry, RetryRequest())
        outcome = await result(handle)
    assert outcome.state is S.LEARN
    assert outcome.retry_count == 1
    expected_tail = [PUBLISH, LEARN, LEARN] if step == LEARN else [PUBLISH, PUBLISH, LEARN]
    assert services.steps()[-3:] == expected_tail
    assert {c.idempotency_key for c in services.calls_of(PUBLISH)} == {
        f"{campaign.campaign_id}:PUBLISH"
    }
    assert {c.idempotency_key for c in services.calls_of(LEARN)} == {
        f"{campaign.campaign_id}:LEARN"
    }


async def run_gate_failure_and_retry(env: WorkflowEnvironment, services: FakeServices):
    services.script(AUDIT, quality_report(QualityVerdict.FAIL, [], revision=0))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        payload = await wait_for_state(handle, S.FAILED)
        await handle.signal(CampaignWorkflow.retry, RetryRequest())
        outcome = await result(handle)
    return handle, payload, outcome


async def test_gate_failure_retry_resumes_at_content_with_feedback(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    _, failed, outcome = await run_gate_failure_and_retry(env, services)

    assert failed.failure is not None
    assert failed.failure.reason is FailureReason.QUALITY_GATE_FAILED
    assert outcome.state is S.LEARN
    assert outcome.retry_count == 1
    assert services.steps() == [RADAR, STRATEGY, CONTENT, AUDIT, CONTENT, AUDIT, PUBLISH, LEARN]
    first, revised = (c.request for c in services.calls_of(CONTENT))
    assert isinstance(first, ContentRequest)
    assert isinstance(revised, ContentRequest)
    assert (first.revision, first.feedback) == (0, None)
    assert revised.revision == 1
    assert revised.feedback == failed.quality_report
    assert revised.feedback is not None
    assert revised.feedback.verdict is QualityVerdict.FAIL


async def test_max_retries_refuses_further_retries(env: WorkflowEnvironment) -> None:
    services = FakeServices().always(PUBLISH, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(max_retries=1))
        await wait_for_state(handle, S.FAILED)

        await handle.signal(CampaignWorkflow.retry, RetryRequest())
        await wait_for(
            handle,
            lambda p: p.retry_count == 1 and p.state is S.FAILED,
            "failed again after the first retry",
        )
        assert len(services.calls_of(PUBLISH)) == 2

        await handle.signal(CampaignWorkflow.retry, RetryRequest(requested_by="bob"))
        payload = await wait_for(
            handle, lambda p: "retry_refused" in actions(p), "refused the second retry"
        )
        assert payload.state is S.FAILED
        assert payload.retry_count == 1
        refused = next(e for e in payload.execution_log if e.action == "retry_refused")
        assert refused.details["requested_by"] == "bob"
        assert "max_retries" in str(refused.details["why"])
        assert len(services.calls_of(PUBLISH)) == 2

        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == FailureReason.SERVICE_REJECTED.value
        assert cause.non_retryable
        assert len(services.calls_of(PUBLISH)) == 2
        final = await query_payload(handle)
        assert actions(final)[-1] == "retry_window_expired"


async def test_retry_window_expiry_fails_workflow(env: WorkflowEnvironment) -> None:
    services = FakeServices().always(AUDIT, quality_report(QualityVerdict.FAIL))
    retry_window = timedelta(days=2)
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(retry_window=retry_window))
        await wait_for_state(handle, S.FAILED)
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == FailureReason.QUALITY_GATE_FAILED.value
        assert cause.non_retryable
        assert "QUALITY_AUDIT" in cause.message

        payload = await query_payload(handle)
        assert payload.state is S.FAILED
        log = payload.execution_log
        assert log[-1].action == "retry_window_expired"
        failed_at = next(e.at for e in log if e.action == "campaign_failed")
        assert log[-1].at - failed_at >= retry_window


async def test_retry_signal_while_running_is_refused(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(STRATEGY, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[STRATEGY].wait(), 10)
        await handle.signal(CampaignWorkflow.retry, RetryRequest(requested_by="eager"))
        payload = await wait_for(
            handle, lambda p: "retry_refused" in actions(p), "refused the retry"
        )
        refused = next(e for e in payload.execution_log if e.action == "retry_refused")
        assert refused.state is S.STRATEGY_GEN
        assert "STRATEGY_GEN" in str(refused.details["why"])
        release.set()
        outcome = await result(handle)
    assert outcome.state is S.LEARN
    assert outcome.retry_count == 0
    assert services.steps() == list(ALL_STEPS)


# ---- cancellation ------------------------------------------------------------------------------


async def test_cancel_while_activity_runs(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    services.always(CONTENT, services.wait_forever)
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[CONTENT].wait(), 10)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        assert isinstance(info.value.cause, CancelledError)
        payload = await query_payload(handle)
    assert "campaign_cancelled" in actions(payload)
    assert payload.state is S.CANCELLED
    assert payload.failure is not None
    assert payload.failure.reason is FailureReason.CANCELLED
    assert payload.failure.step is S.CONTENT_PROD
    assert AUDIT not in services.steps()


async def test_cancel_while_parked_in_failed(env: WorkflowEnvironment) -> None:
    services = FakeServices().always(PUBLISH, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await wait_for_state(handle, S.FAILED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        assert isinstance(info.value.cause, CancelledError)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)
    assert actions(payload)[-1] == "campaign_cancelled"
    assert payload.failure is not None
    assert payload.failure.reason is FailureReason.CANCELLED
    assert payload.failure.step is S.PUBLISH
    assert attrs.get(sa.CAMPAIGN_FAILURE_REASON) == FailureReason.CANCELLED.value


# ---- start, input, identity --------------------------------------------------------------------


async def test_start_immediately_false_waits_for_start_signal(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input(start_immediately=False))
        assert await query_state(handle) is S.IDLE
        await asyncio.sleep(0.3)
        assert await query_state(handle) is S.IDLE
        assert services.calls == []

        await handle.signal(CampaignWorkflow.start, StartRequest(requested_by="carol"))
        outcome = await result(handle)
        payload = await query_payload(handle)
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    log = actions(payload)
    assert log[:2] == ["campaign_created", "campaign_started"]
    assert payload.execution_log[1].details["requested_by"] == "carol"


async def test_input_without_brief_fails_the_workflow(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        campaign_id = uuid.uuid4()
        handle = await env.client.start_workflow(
            "CampaignWorkflow",
            {"campaign_id": str(campaign_id)},
            id=workflow_id_for(campaign_id),
            task_queue=tq,
        )
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle, within=15)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ValidationError"
    assert "CampaignInput\nbrief\n" in cause.message
    assert "Field required" in cause.message
    assert services.calls == []


async def test_duplicate_start_is_rejected(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        first = campaign_input(start_immediately=False)
        handle = await start(env.client, tq, first)
        assert await query_state(handle) is S.IDLE
        duplicate = campaign_input(campaign_id=first.campaign_id)
        with pytest.raises(WorkflowAlreadyStartedError):
            await start(env.client, tq, duplicate)
        await handle.terminate("test done")
    assert services.calls == []


# ---- determinism -------------------------------------------------------------------------------


async def test_histories_replay_without_nondeterminism(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        happy = await start(env.client, tq, campaign_input())
        await result(happy)
    gate_retry, _, outcome = await run_gate_failure_and_retry(env, FakeServices())
    assert outcome.retry_count == 1

    replayer = Replayer(
        workflows=[CampaignWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    for handle in (happy, gate_retry):
        history = await handle.fetch_history()
        assert len(history.events) > 20
        replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replay.replay_failure is None, replay.replay_failure
