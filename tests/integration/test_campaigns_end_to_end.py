"""End to end: real dev server, real worker, real reference services over HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from contracts import (
    PAYLOAD_QUERY,
    STATE_QUERY,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Channel,
    FailureReason,
    RetryRequest,
    ServiceName,
    StepRetrySettings,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_errors import CampaignError, CommandRefused
from orchestrator_client.campaign_ops import retry_campaign, start_campaign
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers, workflow_runner
from tests.integration.conftest import stack_settings
from tests.stack import Admin, temporal
from workflows import CampaignWorkflow

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RESULT_TIMEOUT = 60

FAST_RETRIES = StepRetrySettings(
    initial_interval=timedelta(milliseconds=50),
    maximum_interval=timedelta(milliseconds=500),
    maximum_attempts=30,
    start_to_close_timeout=timedelta(seconds=3),
)


def brief(objective: str = "Grow newsletter sign-ups among hobby bakers") -> CampaignBrief:
    return CampaignBrief(
        name="Sourdough season",
        objective=objective,
        audience="Home bakers",
        channels=[Channel.EMAIL, Channel.SOCIAL],
        keywords=["sourdough"],
    )


def campaign(objective: str | None = None, **kw: Any) -> CampaignInput:
    return CampaignInput(
        campaign_id=uuid.uuid4(),
        brief=brief(objective) if objective else brief(),
        step_retry=FAST_RETRIES,
        **kw,
    )


async def wait_for_state(client: Client, workflow_id: str, wanted: CampaignState) -> None:
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(RESULT_TIMEOUT * 10):
        if await handle.query(STATE_QUERY, result_type=CampaignState) is wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never reached {wanted}")


async def test_a_campaign_publishes_once(client: Client, worker: CampaignWorkers, admin: Admin):
    c = campaign()
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)

    assert outcome.state is CampaignState.LEARN
    assert outcome.publish_receipt is not None
    payload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    assert [e.seq for e in payload.execution_log] == list(range(1, outcome.log_entries + 1))
    assert payload.learning_summary is not None
    for service in ServiceName:
        assert await admin.effect_count(service, c.campaign_id) == 1, service


async def run_with_content_faults(
    client: Client, worker: CampaignWorkers, admin: Admin, content_timeout: float, **faults: Any
) -> tuple[CampaignInput, CampaignOutcome]:
    """One campaign, its CONTENT_PROD step given `content_timeout` seconds and one attempt, with
    these faults (knobs) on the services while it runs."""
    content_step = FAST_RETRIES.model_copy(
        update={"start_to_close_timeout": timedelta(seconds=content_timeout), "maximum_attempts": 1}
    )
    c = campaign(step_retry_overrides={CampaignState.CONTENT_PROD: content_step})
    await admin.faults(**faults)
    try:
        handle = await start_campaign(client, c, task_queue=worker.task_queue)
        return c, await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    finally:
        await admin.faults()


async def test_a_slow_step_waits_as_long_as_its_own_timeout_not_the_clients(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    """The content service answers after 3 s; the worker's HTTP client would give up after 2 s
    (CAMPAIGN_HTTP_TIMEOUT_SECONDS=2); CONTENT_PROD is given 10 s, so its call waits for it."""
    c, outcome = await run_with_content_faults(
        client, worker, admin, 10, slow_rate=1.0, slow_seconds=3.0, services=["content"]
    )
    assert outcome.state is CampaignState.LEARN, outcome.failure
    assert await admin.effect_count(ServiceName.CONTENT, c.campaign_id) == 1


async def test_long_work_answered_202_is_awaited_at_its_status_url(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    """The content service takes 3 s, asynchronously: 202 Accepted with a status URL, which the
    activity asks until it answers 200 (docs/service-contract.md, "Long work")."""
    c, outcome = await run_with_content_faults(client, worker, admin, 20, content_async_seconds=3)
    assert outcome.state is CampaignState.LEARN, outcome.failure
    assert await admin.effect_count(ServiceName.CONTENT, c.campaign_id) == 1
    content_calls = [
        call["status_code"]
        for call in await admin.calls()
        if call["service"] == "content" and call["campaign_id"] == str(c.campaign_id)
    ]
    assert content_calls == [202], content_calls  # the POST; the status URL is not a call


async def test_without_the_sandbox_the_same_campaign_replays_in_the_sandbox(
    client: Client, stack: DevStack, admin: Admin
):
    """CAMPAIGN_WORKFLOW_SANDBOX=false runs the same graph: a campaign that parks, is retried
    and publishes once, with a history that the sandboxed replayer accepts."""
    settings = stack_settings(stack, http_timeout_seconds=2.0, workflow_sandbox=False)
    async with create_http_client(settings) as http:
        worker = build_workers(
            client, settings, create_activities(settings, http), task_queue=f"it-{uuid.uuid4()}"
        )
        assert worker.main is not None
        assert isinstance(worker.main.config()["workflow_runner"], UnsandboxedWorkflowRunner)
        async with worker:
            c = campaign("Promise guaranteed results to every baker")
            handle = await start_campaign(client, c, task_queue=worker.task_queue)
            await wait_for_state(client, handle.id, CampaignState.FAILED)
            await retry_campaign(client, handle.id, RetryRequest(requested_by="it"))
            outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)

    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    sandboxed = Replayer(
        workflows=[CampaignWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandbox=True),
    )
    replay = await sandboxed.replay_workflow(await handle.fetch_history())
    assert replay.replay_failure is None


async def test_critical_check_parks_in_failed_and_retry_publishes(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    c = campaign("Promise guaranteed results to every baker")
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)

    parked = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    assert parked.failure is not None
    assert parked.failure.reason is FailureReason.QUALITY_GATE_FAILED
    assert parked.failure.step is CampaignState.QUALITY_AUDIT
    assert parked.quality_report is not None and parked.quality_report.critical_checks
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0

    await retry_campaign(client, handle.id, RetryRequest(requested_by="it", reason="revise"))
    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)

    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    final = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    assert final.content is not None and final.content.revision == 1
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    # Resumed at content production: radar and strategy ran once.
    assert await admin.effect_count(ServiceName.RADAR, c.campaign_id) == 1
    assert await admin.effect_count(ServiceName.CONTENT, c.campaign_id) == 2
    actions = [e.action for e in final.execution_log]
    assert "campaign_failed" in actions and "retry_accepted" in actions


async def test_injected_5xx_are_retried_and_each_campaign_publishes_exactly_once(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    injected_before = injected_faults(await admin.stats())
    await admin.faults(error_rate=0.4, error_after_effect_share=0.5, seed=7)
    campaigns = [campaign() for _ in range(8)]
    handles = [await start_campaign(client, c, task_queue=worker.task_queue) for c in campaigns]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(h.result() for h in handles)), RESULT_TIMEOUT * 2
    )
    await admin.faults()

    assert all(o.state is CampaignState.LEARN for o in outcomes)
    for c in campaigns:
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    # The services did inject faults (see /admin/stats), and every campaign still published once.
    assert injected_faults(await admin.stats()) > injected_before


def injected_faults(stats: dict[str, Any]) -> int:
    """Faults the services injected so far, all kinds and services (/admin/stats)."""
    return sum(sum(service["injected"].values()) for service in stats.values())


async def test_retry_is_refused_for_a_campaign_that_is_not_failed(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    handle = await start_campaign(client, campaign(), task_queue=worker.task_queue)
    await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    with pytest.raises(CommandRefused, match=r"has ended \(COMPLETED, state LEARN\)"):
        await retry_campaign(client, handle.id, RetryRequest())


async def test_a_second_start_for_the_same_campaign_is_refused(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    await admin.faults(latency_ms=300)
    c = campaign()
    await start_campaign(client, c, task_queue=worker.task_queue)
    with pytest.raises(CampaignError, match="already exists"):
        await start_campaign(client, c, task_queue=worker.task_queue)


async def test_the_temporal_cli_alone_can_start_query_and_retry(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    """The public names: workflow type, task queue, input JSON, `state`/`payload` queries."""
    campaign_id = uuid.uuid4()
    workflow_id = f"campaign-{campaign_id}"
    document = {
        "campaign_id": str(campaign_id),
        "brief": {
            "name": "CLI launch",
            "objective": "Offer guaranteed savings to new members",
            "audience": "Students",
            "channels": ["email"],
        },
        "step_retry": {"initial_interval": "PT0.05S", "maximum_interval": "PT0.5S"},
    }
    started = await asyncio.to_thread(
        temporal, stack, "workflow", "start", "--type", "CampaignWorkflow",
        "--task-queue", worker.task_queue, "--workflow-id", workflow_id,
        "--input", json.dumps(document),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    await wait_for_state(client, workflow_id, CampaignState.FAILED)

    query = await asyncio.to_thread(
        temporal, stack, "workflow", "query", "--workflow-id", workflow_id, "--type", "state"
    )
    assert "FAILED" in query.stdout, query.stdout + query.stderr
    signalled = await asyncio.to_thread(
        temporal, stack, "workflow", "signal", "--workflow-id", workflow_id,
        "--name", "retry", "--input", json.dumps({"requested_by": "cli"}),
    )  # fmt: skip
    assert signalled.returncode == 0, signalled.stderr
    outcome = await asyncio.wait_for(
        client.get_workflow_handle(workflow_id).result(), RESULT_TIMEOUT
    )
    assert outcome["state"] == "LEARN"
    payload = await asyncio.to_thread(
        temporal, stack, "workflow", "query", "--workflow-id", workflow_id,
        "--type", "payload", "--output", "json",
    )  # fmt: skip
    assert payload.returncode == 0, payload.stderr
    assert "retry_accepted" in payload.stdout and "campaign_completed" in payload.stdout


async def test_bad_input_from_the_temporal_cli_fails_the_workflow_naming_the_field(
    client: Client, worker: CampaignWorkers, stack: DevStack
):
    workflow_id = f"campaign-{uuid.uuid4()}"
    started = await asyncio.to_thread(
        temporal, stack, "workflow", "start", "--type", "CampaignWorkflow",
        "--task-queue", worker.task_queue, "--workflow-id", workflow_id,
        "--input", json.dumps({"campaign_id": "not-a-uuid"}),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), RESULT_TIMEOUT)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert "campaign_id" in cause.message and "brief" in cause.message


async def test_starter_cli_start_wait_status_and_retry(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    async def starter(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "starter.py"), *args,
            "--address", stack.config.temporal_address,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), RESULT_TIMEOUT)
        return proc.returncode or 0, out.decode(), err.decode()

    campaign_id = str(uuid.uuid4())
    code, out, err = await starter(
        "start", "--campaign-id", campaign_id, "--name", "Risky", "--audience", "Everyone",
        "--objective", "A guaranteed win for everyone", "-c", "email",
        "--task-queue", worker.task_queue, "--wait",
    )  # fmt: skip
    assert code == 1, out + err
    assert "QUALITY_GATE_FAILED" in out, out + err
    assert "QUALITY_GATE_FAILED" in out and f"campaign retry {campaign_id}" in out

    code, out, err = await starter("status", campaign_id, "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "FAILED"

    code, out, err = await starter("retry", campaign_id, "--reason", "revised")
    assert code == 0, err
    outcome = await asyncio.wait_for(
        client.get_workflow_handle(f"campaign-{campaign_id}").result(), RESULT_TIMEOUT
    )
    assert outcome["state"] == "LEARN"

    code, out, err = await starter("status", str(uuid.uuid4()))
    assert code == 3 and "no campaign" in err
    code, out, err = await starter("start", "--name", "x", "--objective", "ok!", "--audience", "y")
    assert code == 2 and "brief.channels" in err
