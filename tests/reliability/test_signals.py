"""Bad signals: garbage `retry` arguments, an unknown signal name, a retry of a campaign that is
not FAILED, a retry with no retries left. None of them wedges a campaign or loses anything.

The workflow validates a signal's payload itself (the SDK's own decoding would hand a missing or
doubled payload to the handler as a TypeError, failing every workflow task): it logs one
`signal_refused` warning naming the signal and the problem (pydantic's, naming the field) and
drops that signal. The signal stays visible in the workflow history; the workflow task completes
normally, so the campaign is not wedged and keeps waiting for a valid retry.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client

from contracts import (
    RETRY_SIGNAL,
    CampaignState,
    FailureReason,
    RetryRequest,
    ServiceName,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_errors import CommandRefused
from orchestrator_client.campaign_ops import retry_campaign, start_campaign
from tests.reliability.support import (
    WorkerProcess,
    campaign,
    log_problems,
    outcomes,
    payload_of,
    record_figures,
    wait_for_state,
    workflow_task_failures,
)
from tests.stack import Admin, temporal

pytestmark = pytest.mark.integration

RISKY = "Promise guaranteed results to every baker"  # the audit's CRITICAL check closes the gate
DROPPED = '"event": "signal_refused"'


async def test_garbage_retry_arguments_are_dropped_visibly_and_a_valid_retry_still_works(
    client: Client, stack: DevStack, shared_worker: WorkerProcess, admin: Admin
) -> None:
    c = campaign(objective=RISKY)
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    before = await payload_of(client, handle.id)
    assert before.failure is not None
    assert before.failure.reason is FailureReason.QUALITY_GATE_FAILED

    garbage = [
        '"garbage"',
        "42",
        "null",
        "[1, 2]",
        json.dumps({"requested_by": "cli", "bogus": 1}),  # an unknown field
        json.dumps({"requested_by": ""}),  # breaks a constraint
    ]
    for argument in garbage:
        sent = await asyncio.to_thread(
            temporal, stack, "workflow", "signal", "--workflow-id", handle.id,
            "--name", RETRY_SIGNAL, "--input", argument,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
    unknown = await asyncio.to_thread(
        temporal, stack, "workflow", "signal", "--workflow-id", handle.id,
        "--name", "retyr", "--input", json.dumps({"requested_by": "typo"}),
    )  # fmt: skip
    assert unknown.returncode == 0, unknown.stderr

    # Visible: one warning per dropped signal in the worker's log, naming the workflow.
    dropped = 0
    for _ in range(100):
        dropped = sum(
            1
            for line in shared_worker.log_text().splitlines()
            if DROPPED in line and handle.id in line
        )
        if dropped >= len(garbage):
            break
        await asyncio.sleep(0.1)
    assert dropped >= len(garbage), shared_worker.log_text()[-3000:]
    assert "bogus" in shared_worker.log_text()  # the decoding error names the unknown field

    # Nothing changed, nothing is wedged: still FAILED, no retry taken, no task failure.
    after = await payload_of(client, handle.id)
    assert after.state is CampaignState.FAILED and after.retry_count == 0
    assert after.execution_log == before.execution_log
    assert await workflow_task_failures(client, handle.id) == 0
    history = await handle.fetch_history()
    signalled = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signalled == [RETRY_SIGNAL] * len(garbage) + ["retyr"]  # all kept in history

    await retry_campaign(client, handle.id, RetryRequest(requested_by="reliability"))
    [outcome] = await outcomes(client, [handle], within=60)
    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    assert not log_problems(await payload_of(client, handle.id), operator_retries=1)
    record_figures(
        "garbage signals",
        campaigns=1,
        garbage_signals=len(garbage),
        unknown_signal_names=1,
        dropped_with_error_log=dropped,
        workflow_task_failures=0,
        publishes=1,
        duplicates=0,
    )


async def test_a_retry_of_a_campaign_that_is_not_failed_is_refused_and_changes_nothing(
    client: Client, shared_worker: WorkerProcess, admin: Admin
) -> None:
    await admin.faults(latency_ms=1500, services=[ServiceName.STRATEGY.value])
    c = campaign()
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.STRATEGY_GEN)

    with pytest.raises(CommandRefused, match=r"not FAILED: nothing to retry \(NOT_FAILED\)"):
        await retry_campaign(client, handle.id, RetryRequest(requested_by="ops"))
    # The refused update left nothing in the log; the `retry` signal is refused and logged.
    await handle.signal(RETRY_SIGNAL, RetryRequest(requested_by="raw"))
    [outcome] = await outcomes(client, [handle], within=60)
    await admin.faults()

    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 0
    final = await payload_of(client, handle.id)
    refused = [e for e in final.execution_log if e.action == "retry_refused"]
    assert len(refused) == 1
    assert refused[0].details["requested_by"] == "raw"
    assert "not FAILED" in str(refused[0].details["why"])
    assert not log_problems(final)
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    with pytest.raises(CommandRefused, match=r"has ended \(COMPLETED, state LEARN\)"):
        await retry_campaign(client, handle.id, RetryRequest())


async def test_a_retry_with_no_retries_left_is_refused_and_the_campaign_stays_parked(
    client: Client, shared_worker: WorkerProcess, admin: Admin
) -> None:
    c = campaign(objective=RISKY).model_copy(update={"max_retries": 0})
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    with pytest.raises(CommandRefused, match=r"max_retries \(0\) reached \(NO_RETRIES_LEFT\)"):
        await retry_campaign(client, handle.id, RetryRequest(requested_by="ops"))
    await handle.signal(RETRY_SIGNAL, RetryRequest(requested_by="ops"))  # refused and logged

    refused = []
    for _ in range(100):
        payload = await payload_of(client, handle.id)
        refused = [e for e in payload.execution_log if e.action == "retry_refused"]
        if refused:
            break
        await asyncio.sleep(0.1)
    assert refused and "max_retries (0) reached" in str(refused[0].details["why"])
    assert payload.state is CampaignState.FAILED and payload.retry_count == 0
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0
    assert await workflow_task_failures(client, handle.id) == 0
    await handle.terminate("test done")
