"""What a careless or hostile client can send, straight to the server (as the `temporal` CLI can):
a missing, doubled or malformed start input, a workflow id that is not the campaign's, signals
with no payload or two, and many retries at once. None of them may hang a workflow task."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts import (
    RETRY_SIGNAL,
    START_SIGNAL,
    WORKFLOW_TYPE,
    CampaignState,
    FailureReason,
    QualityVerdict,
    RetryRequest,
    workflow_id_for,
)
from tests.workflow.fakes import (
    AUDIT,
    PUBLISH,
    FakeServices,
    actions,
    campaign_input,
    fail,
    failure_of,
    quality_report,
    query_payload,
    query_state,
    result,
    running_worker,
    start,
    wait_for,
    wait_for_state,
)

S = CampaignState


async def _raw_signal(client: Client, workflow_id: str, name: str, *values: Any) -> None:
    """A signal with exactly these payloads (none, one, two): what `temporal workflow signal`
    sends with zero or several --input flags."""
    payloads = await client.data_converter.encode(list(values)) if values else []
    await client.workflow_service.signal_workflow_execution(
        SignalWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name=name,
            input=Payloads(payloads=payloads),
            identity="hostile-test",
        )
    )


@pytest.mark.parametrize("inputs", [(), ("a", "b")], ids=["no input", "two inputs"])
async def test_a_missing_or_doubled_start_input_fails_the_workflow_at_once(
    env: WorkflowEnvironment, inputs: tuple[Any, ...]
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        campaign_id = uuid.uuid4()
        args = [campaign_input(campaign_id=campaign_id).model_dump(mode="json")] * len(inputs)
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, args=args, id=workflow_id_for(campaign_id), task_queue=tq
        )
        cause = await failure_of(handle)
    assert cause.type == FailureReason.INVALID_INPUT.value
    assert "must be one JSON object (CampaignInput)" in cause.message
    assert services.calls == []


async def test_a_workflow_id_that_is_not_the_campaigns_is_refused(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        c = campaign_input()
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, c, id=f"my-own-id-{uuid.uuid4()}", task_queue=tq
        )
        cause = await failure_of(handle)
    assert cause.type == FailureReason.INVALID_INPUT.value
    assert workflow_id_for(c.campaign_id) in cause.message
    assert services.calls == []


@pytest.mark.parametrize(
    "values",
    [(), ({"requested_by": "a"}, {"requested_by": "b"}), ({"requested_by": 5},), ("retry",)],
    ids=["no input", "two inputs", "wrong type", "not an object"],
)
async def test_a_bad_retry_signal_is_dropped_and_the_campaign_still_answers(
    env: WorkflowEnvironment, values: tuple[Any, ...]
) -> None:
    services = FakeServices().script(AUDIT, quality_report(QualityVerdict.FAIL))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await wait_for_state(handle, S.FAILED)
        await _raw_signal(env.client, handle.id, RETRY_SIGNAL, *values)
        await _raw_signal(env.client, handle.id, START_SIGNAL, *values)
        assert await query_state(handle) is S.FAILED  # queries still answer
        await handle.signal(RETRY_SIGNAL, RetryRequest(requested_by="valid"))
        outcome = await result(handle)
    assert outcome.state is S.LEARN
    assert outcome.retry_count == 1


async def test_six_retries_at_once_resume_once_and_nothing_carries_over(
    env: WorkflowEnvironment,
) -> None:
    # PUBLISH fails every time: each accepted retry parks the campaign in FAILED again.
    services = FakeServices().always(PUBLISH, fail(FailureReason.SERVICE_REJECTED))
    # No cache, so no sticky queue: the next worker gets the workflow's tasks at once.
    async with running_worker(env.client, services, max_cached_workflows=0) as tq:
        handle = await start(env.client, tq, campaign_input(max_retries=6))
        await wait_for_state(handle, S.FAILED)
    # No worker: the six signals wait in history and reach the workflow in one task.
    await asyncio.gather(
        *(handle.signal(RETRY_SIGNAL, RetryRequest(requested_by=f"op{i}")) for i in range(6))
    )
    async with running_worker(env.client, services, task_queue=tq):
        await wait_for(
            handle,
            lambda p: actions(p).count("campaign_failed") == 2 and p.state is S.FAILED,
            "failed again after one retry",
        )
        await asyncio.sleep(1)  # room for a wrongly carried-over retry to resume it again
        payload = await query_payload(handle)
    assert payload.retry_count == 1
    assert payload.state is S.FAILED
    assert actions(payload).count("retry_accepted") == 1
    refused = [e for e in payload.execution_log if e.action == "retry_refused"]
    assert len(refused) == 5
    assert all("already accepted" in str(e.details["why"]) for e in refused)
    assert len(services.calls_of(PUBLISH)) == 2
