"""Each operator command tells the truth in one line: with no worker, with a wrong namespace, for
a cancelled campaign, for a wedged one. The `campaign` CLI runs as a subprocess and the REST
gateway as a process, against the real dev server, worker and reference services."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from contracts import CampaignInput, CampaignState
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_campaigns_end_to_end import campaign, wait_for_state
from tests.integration.test_operator_cli import cli
from tests.integration.test_rest_gateway import API
from tests.stack import Admin

pytestmark = pytest.mark.integration
GATE_FAILING = "Promise guaranteed results to every baker"  # the quality gate closes on it


def where(stack: DevStack, namespace: str = "default") -> str:
    return f"(Temporal at {stack.config.temporal_address}, namespace {namespace})"


def one_line(err: str) -> str:
    """stderr must be exactly one error line: no traceback, no SDK output."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


async def unpolled(client: Client) -> tuple[CampaignInput, str]:
    """A campaign started on a task queue no worker polls."""
    queue = f"no-worker-{uuid.uuid4()}"
    new = campaign()
    await start_campaign(client, new, task_queue=queue)
    return new, queue


async def test_with_no_worker_every_command_says_so_at_once_naming_queue_and_server(
    client: Client, stack: DevStack
) -> None:
    new, queue = await unpolled(client)
    none = f"no worker is polling task queue '{queue}' {where(stack)}"

    code, out, err = await cli(stack, "status", str(new.campaign_id))
    assert code == 0, err
    assert (
        f"IDLE  (running)  retries=0  (waiting for a worker: none polls task queue '{queue}')"
        in (out)
    )

    code, out, err = await cli(stack, "log", str(new.campaign_id))
    assert code == 5 and out == ""
    assert one_line(err).startswith(f"error: {none}: nothing can answer for campaign-")

    code, out, err = await cli(stack, "retry", str(new.campaign_id))
    assert code == 5
    assert one_line(err).startswith(f"error: {none}: nothing can answer the retry of campaign-")

    code, out, err = await cli(
        stack, "start", "--name", "Nobody home", "--objective", "Grow sign-ups",
        "--audience", "Bakers", "-c", "email", "--task-queue", queue, "--wait", "--timeout", "2",
    )  # fmt: skip
    assert code == 5 and out.startswith("started campaign-"), out + err
    warning, error = err.strip().splitlines()
    assert warning.startswith(f"warning: {none}: campaign-") and "waiting up to 2s" in warning
    assert error.startswith(f"error: {none}: campaign-")


async def test_the_gateway_answers_504_no_worker_at_once(
    client: Client, stack: DevStack, gateway: httpx.AsyncClient
) -> None:
    new, queue = await unpolled(client)
    view = await gateway.get(f"{API}/{new.campaign_id}")
    assert view.status_code == 504, view.text
    assert view.json()["error"] == "no_worker"
    assert f"no worker is polling task queue '{queue}' {where(stack)}" in view.json()["detail"]
    retry = await gateway.post(f"{API}/{new.campaign_id}/retry")
    assert retry.status_code == 504 and retry.json()["error"] == "no_worker"
    # Visibility needs no worker.
    state_only = await gateway.get(f"{API}/{new.campaign_id}?payload=false")
    assert state_only.status_code == 200 and state_only.json()["task_queue"] == queue


async def test_an_unknown_namespace_is_one_line_exit_2(stack: DevStack) -> None:
    for args in (["list"], ["retry", "--all-failed"], ["status", str(uuid.uuid4())]):
        code, out, err = await cli(stack, *args, "--namespace", "nosuchns")
        assert code == 2, (args, out, err)
        line = one_line(err)
        assert "nosuchns" in line and "TEMPORAL_NAMESPACE" in line, line


async def test_a_cancelled_campaign_is_cancelled_everywhere_and_never_retryable(
    client: Client,
    worker: CampaignWorkers,
    admin: Admin,
    stack: DevStack,
    gateway: httpx.AsyncClient,
) -> None:
    q = worker.task_queue
    parked = campaign(GATE_FAILING)
    handle = await start_campaign(client, parked, task_queue=q)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    code, out, err = await cli(stack, "list", "--state", "failed", "--task-queue", q, "--json")
    assert code == 0, err
    assert [c["workflow_id"] for c in json.loads(out)] == [handle.id]

    code, out, err = await cli(stack, "cancel", handle.id, "--wait")
    assert code == 0 and "ended: canceled" in out, out + err
    code, out, err = await cli(stack, "status", handle.id)
    assert f"{handle.id}  CANCELLED  (canceled)" in out, out + err
    for state, expected in (("FAILED", []), ("Cancelled", [handle.id])):
        code, out, err = await cli(stack, "list", "-s", state, "--task-queue", q, "--json")
        assert [c["workflow_id"] for c in json.loads(out)] == expected, (state, out, err)
    listed = await gateway.get(API, params={"state": "cancelled", "limit": 1000})
    assert listed.status_code == 200, listed.text
    assert handle.id in {c["workflow_id"] for c in listed.json()["campaigns"]}
    failed = await gateway.get(API, params={"state": "failed", "limit": 1000})
    assert failed.status_code == 200 and handle.id not in {
        c["workflow_id"] for c in failed.json()["campaigns"]
    }

    code, out, err = await cli(stack, "log", handle.id)
    assert code == 0 and out.strip().splitlines()[-1].split()[2:4] == [
        "CANCELLED",
        "campaign_cancelled",
    ], out
    code, out, err = await cli(stack, "retry", handle.id)
    assert code == 3 and "(CAMPAIGN_ENDED)" in one_line(err) and "retry with" not in out + err


async def test_a_published_campaign_refuses_a_retry_saying_it_published(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
) -> None:
    code, out, err = await cli(
        stack, "start", "--name", "Once", "--objective", "Grow newsletter sign-ups",
        "--audience", "Bakers", "-c", "email", "--task-queue", worker.task_queue, "--wait",
        "--max-retries", "0",
    )  # fmt: skip
    assert code == 0 and "after 0 operator retries" in out, out + err
    workflow_id = out.split()[1]
    code, out, err = await cli(stack, "retry", workflow_id)
    assert code == 3
    assert "it published, and publishes once; start a new campaign id (CAMPAIGN_ENDED)" in (
        one_line(err)
    )


async def test_no_retries_left_is_said_and_no_retry_offered(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
) -> None:
    code, out, err = await cli(
        stack, "start", "--name", "No second chance", "--objective", GATE_FAILING,
        "--audience", "Bakers", "-c", "email", "--task-queue", worker.task_queue, "--wait",
        "--max-retries", "0",
    )  # fmt: skip
    assert code == 1, out + err
    assert "retries_left=0" in out and "retry with" not in out
    assert out.strip().splitlines()[-1].startswith("no retries left (max_retries 0)")


@workflow.defn(name="CampaignWorkflow", sandboxed=False)
class WedgedCampaign:
    """A deploy gone wrong: the campaign's workflow task fails on every attempt."""

    @workflow.run
    async def run(self, _: CampaignInput) -> None:
        raise RuntimeError("a bug in the deployed graph")


async def test_log_of_a_wedged_campaign_is_one_line_exit_5(client: Client, stack: DevStack) -> None:
    new, queue = await unpolled(client)
    async with Worker(client, task_queue=queue, workflows=[WedgedCampaign]):
        code, out, err = await cli(stack, "log", str(new.campaign_id))
    assert code == 5, out + err
    line = one_line(err)
    assert "the worker cannot answer for campaign-" in line and "a bug in the deployed graph" in (
        line
    ), line


async def test_a_worker_for_an_unknown_namespace_exits_2_in_one_line(stack: DevStack) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "TEMPORAL_"))},
        "TEMPORAL_ADDRESS": stack.config.temporal_address,
        "TEMPORAL_NAMESPACE": "nosuchns",
        "CAMPAIGN_LOG_FORMAT": "json",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert out == b"", out  # logs and errors go to stderr
    assert proc.returncode == 2, err
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("error: Worker validation failed: Namespace nosuchns") and (
        "Status {" not in last
    ), last
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize("inputs", [(), ({"brief": {"name": "A"}}, {"x": 1})])
async def test_log_of_a_run_whose_start_input_was_refused_says_why_in_one_line(
    client: Client, worker: CampaignWorkers, stack: DevStack, inputs: tuple[object, ...]
):
    """As `temporal workflow start` with no --input, or two: the workflow fails at once
    (INVALID_INPUT) and `campaign log` says why instead of failing to decode its placeholder."""
    workflow_id = f"campaign-{uuid.uuid4()}"
    handle = await client.start_workflow(
        "CampaignWorkflow", args=list(inputs), id=workflow_id, task_queue=worker.task_queue
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    code, out, err = await cli(stack, "log", workflow_id)
    assert code == 3, out + err
    expected = "got no payload" if not inputs else "got 2 payloads"
    assert one_line(err) == (
        f"error: {workflow_id} never ran: the start input must be one JSON object "
        f"(CampaignInput); {expected} {where(stack)}"
    )
