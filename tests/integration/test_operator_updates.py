"""Retry and start as Temporal Updates, over the real dev server, worker and reference services:
the `campaign` CLI prints the workflow's own answer (exit 0) or its refusal with the reason and
the code (exit 3); the `temporal` CLI alone gets the same refusal; concurrent retries of one
failure give one acceptance, one resume and one publication."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from contracts import (
    PAYLOAD_QUERY,
    CampaignInput,
    CampaignPayload,
    CampaignState,
    Refusal,
    RetryAccepted,
    RetryRequest,
    ServiceName,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_errors import CommandRefused
from orchestrator_client.campaign_ops import retry_campaign, start_campaign
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_campaigns_end_to_end import (
    FAST_RETRIES,
    RESULT_TIMEOUT,
    brief,
    campaign,
    wait_for_state,
)
from tests.integration.test_operator_cli import cli
from tests.stack import Admin, temporal

pytestmark = pytest.mark.integration
RISKY = "Promise guaranteed results to every baker"  # the first quality audit fails on it


async def test_a_refused_retry_exits_3_with_the_workflows_reason_and_code(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    idle = CampaignInput(
        campaign_id=uuid.uuid4(), brief=brief(), step_retry=FAST_RETRIES, start_immediately=False
    )
    handle = await start_campaign(client, idle, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.IDLE)
    code, out, err = await cli(stack, "retry", str(idle.campaign_id))
    assert code == 3, out + err
    assert err.strip() == (
        f"error: campaign {handle.id} refused the retry: campaign is IDLE, not FAILED: nothing to "
        f"retry (NOT_FAILED) (Temporal at {stack.config.temporal_address}, namespace default)"
    )
    # A refused update leaves nothing behind: no log entry, no event in the history.
    payload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    assert [e.action for e in payload.execution_log] == ["campaign_created"]
    history = json.dumps([str(e) for e in (await handle.fetch_history()).events])
    assert "request_retry" not in history
    await handle.terminate("test done")

    spent = campaign(RISKY, max_retries=0)
    handle = await start_campaign(client, spent, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    code, out, err = await cli(stack, "retry", str(spent.campaign_id), "--by", "alice")
    assert code == 3, out + err
    assert "refused the retry: max_retries (0) reached (NO_RETRIES_LEFT)" in err, err
    assert await admin.effect_count(ServiceName.PUBLISHER, spent.campaign_id) == 0
    await handle.terminate("test done")


async def test_an_accepted_retry_prints_the_answer_and_wait_follows_it_to_learn(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    c = campaign(RISKY)
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)

    code, out, err = await cli(stack, "retry", str(c.campaign_id), "--reason", "copy revised")
    assert code == 0, out + err
    assert out.strip() == (
        f"retry accepted: {handle.id}, retry 1 of 3, resumes at CONTENT_PROD (QUALITY_GATE_FAILED)"
    )
    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1

    code, out, err = await cli(stack, "retry", str(c.campaign_id))
    assert code == 3, out + err
    assert "has ended (COMPLETED, state LEARN): it published, and publishes once; start a new " \
        "campaign id (CAMPAIGN_ENDED)" in err  # fmt: skip

    # --wait: the answer, the log from the accepted retry on, the outcome; exit 0 for LEARN.
    c = campaign(RISKY)
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    code, out, err = await cli(stack, "retry", str(c.campaign_id), "--wait")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith(f"retry accepted: {handle.id}, retry 1 of 3"), out
    assert "retry_accepted" in lines[1] and "campaign_created" not in out, out
    assert lines[-1].startswith("LEARN: published as "), out
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1


async def test_start_of_an_idle_campaign_prints_the_answer_then_refuses_a_second(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    await admin.faults(latency_ms=1000)  # still running at the second start
    idle = CampaignInput(
        campaign_id=uuid.uuid4(), brief=brief(), step_retry=FAST_RETRIES, start_immediately=False
    )
    handle = await start_campaign(client, idle, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.IDLE)
    code, out, err = await cli(stack, "start", str(idle.campaign_id))
    assert code == 0, out + err
    assert out.strip() == f"start accepted: {handle.id}, starts at RADAR_SCAN"
    code, out, err = await cli(stack, "start", str(idle.campaign_id))
    assert code == 3, out + err
    assert "refused the start: campaign is already started" in err and "(ALREADY_STARTED)" in err
    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert outcome.state is CampaignState.LEARN


async def test_the_temporal_cli_alone_gets_the_answer_or_the_refusal(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    c = campaign(RISKY)
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)

    def update() -> tuple[int, str]:
        done = temporal(
            stack, "workflow", "update", "execute", "--workflow-id", handle.id,
            "--name", "request_retry", "--input", '{"requested_by":"me"}',
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    code, text = await asyncio.to_thread(update)
    assert code == 0, text
    assert "resume_at:CONTENT_PROD" in text and "retry_count:1" in text, text
    await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)

    idle = CampaignInput(
        campaign_id=uuid.uuid4(), brief=brief(), step_retry=FAST_RETRIES, start_immediately=False
    )
    handle = await start_campaign(client, idle, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.IDLE)
    code, text = await asyncio.to_thread(update)
    assert code == 1, text
    assert (
        "unable to update workflow: campaign is IDLE, not FAILED: nothing to retry "
        "(type: NOT_FAILED" in text
    ), text
    await handle.terminate("test done")


async def test_twenty_concurrent_retries_of_one_failure_give_one_resume_and_one_publication(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    c = campaign(RISKY, max_retries=1)
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)

    async def one(i: int) -> RetryAccepted | CommandRefused:
        try:
            return await retry_campaign(client, handle.id, RetryRequest(requested_by=f"op-{i}"))
        except CommandRefused as refused:
            return refused

    answers = await asyncio.gather(*(one(i) for i in range(20)))
    accepted = [a for a in answers if isinstance(a, RetryAccepted)]
    refused = [a for a in answers if isinstance(a, CommandRefused)]
    assert len(accepted) == 1 and len(refused) == 19, answers
    assert accepted[0].retry_count == 1 and accepted[0].retries_left == 0
    # Refused while the accepted one is pending, after the resume, or after the campaign ended.
    allowed = {Refusal.RETRY_PENDING, Refusal.NOT_FAILED, Refusal.CAMPAIGN_ENDED}
    assert {r.refusal for r in refused} <= allowed, [str(r) for r in refused]
    assert all(r.reason for r in refused)

    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    payload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    resumes = [e for e in payload.execution_log if e.action == "retry_accepted"]
    assert len(resumes) == 1
    assert not [e for e in payload.execution_log if e.action == "retry_refused"]
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1


async def test_retry_all_failed_counts_what_each_workflow_answered(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    q = worker.task_queue
    retryable, spent = campaign(RISKY), campaign(RISKY, max_retries=0)
    handles = [await start_campaign(client, c, task_queue=q) for c in (retryable, spent)]
    for h in handles:
        await wait_for_state(client, h.id, CampaignState.FAILED)

    code, out, err = await cli(stack, "retry", "--all-failed", "--task-queue", q, "--rate", "5")
    assert code == 0, out + err
    assert "retry signal sent to 2 of 2 FAILED campaigns (batch operation" in out, out + err
    assert "max_operations_per_second 5)" in out, out
    assert out.rstrip().endswith(": 1 accepted, 1 refused (NO_RETRIES_LEFT: 1)"), out + err
    outcome = await asyncio.wait_for(handles[0].result(), RESULT_TIMEOUT)
    assert outcome.state is CampaignState.LEARN

    code, out, err = await cli(stack, "retry", "--all-failed", "--one-by-one", "--task-queue", q)
    assert code == 0, out + err
    assert out.strip() == (
        "request_retry sent to 1 of 1 FAILED campaigns (one update each, at most 50/s): "
        "0 accepted, 1 refused (NO_RETRIES_LEFT: 1)"
    )
    await handles[1].terminate("test done")


async def test_temporal_workflow_start_twice_with_one_id_publishes_once(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    """Issue reproduction: the `temporal` CLI's default id-reuse policy starts a second run of a
    campaign that already published; the second run ends ALREADY_PUBLISHED and the reference
    publisher's record still counts one publication."""
    c = campaign("Grow sign-ups")
    body = json.dumps({"campaign_id": str(c.campaign_id), "brief": c.brief.model_dump(mode="json")})

    def start_run() -> None:
        done = temporal(
            stack, "workflow", "start", "--type", "CampaignWorkflow",
            "--task-queue", worker.task_queue, "--workflow-id", f"campaign-{c.campaign_id}",
            "--input", body,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    await asyncio.to_thread(start_run)
    first = client.get_workflow_handle(f"campaign-{c.campaign_id}")
    await asyncio.wait_for(first.result(), RESULT_TIMEOUT)
    await asyncio.to_thread(start_run)
    second = client.get_workflow_handle(f"campaign-{c.campaign_id}")
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(second.result(), RESULT_TIMEOUT)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ALREADY_PUBLISHED"
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    lookup = await admin.http.get(f"/v1/publisher/publications/{c.campaign_id}")
    assert lookup.status_code == 200 and lookup.json()["publication_id"] in cause.message


async def test_a_cancel_during_publish_is_recorded_and_a_restart_publishes_nothing(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    """Issue reproduction: `campaign cancel` while PUBLISH is in flight (the publication still
    lands), then `campaign start` of the same id. The publisher's record is the truth."""
    await admin.faults(latency_ms=2000, services=[ServiceName.PUBLISHER.value])
    c = campaign("Grow sign-ups")
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.PUBLISH)
    code, out, err = await cli(stack, "cancel", str(c.campaign_id))
    assert code == 0, out + err
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    payload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    outcome = next(e for e in payload.execution_log if e.action == "publication_outcome")
    assert outcome.details["published"] is True
    assert payload.execution_log[-1].details["published"] is True
    await admin.faults()

    again = await start_campaign(client, c, task_queue=worker.task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(again.result(), RESULT_TIMEOUT)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ALREADY_PUBLISHED"
    assert str(outcome.details["publication_id"]) in cause.message
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
