"""The `campaign` CLI's batch, list, retry --all-failed, cancel and log commands, driven as a
subprocess against the real dev server, the real worker and the real reference services.

Each test has its own task queue (the `worker` fixture) and filters by it, so campaigns of other
tests on the same server do not count."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from contracts import CampaignInput, CampaignState
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_campaigns_end_to_end import (
    FAST_RETRIES,
    RESULT_TIMEOUT,
    brief,
    campaign,
    wait_for_state,
)
from tests.stack import Admin

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def cli(stack: DevStack, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "starter.py"), *args,
        "--address", stack.config.temporal_address,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), RESULT_TIMEOUT * 2)
    return proc.returncode or 0, out.decode(), err.decode()


def line(name: str, objective: str = "Grow newsletter sign-ups") -> str:
    return json.dumps(
        {"name": name, "objective": objective, "audience": "Home bakers", "channels": ["email"]}
    )


async def test_batch_starts_each_line_once_reports_bad_lines_and_outcomes(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack, tmp_path: Path
):
    q = worker.task_queue
    jsonl = tmp_path / "briefs.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                line("Clean one"),
                line("Clean two"),
                line("Risky", "A guaranteed win for every baker"),
                "{not json",
                line("Bad channel").replace('"email"', '"fax"'),
                "",
                line("Clean one"),  # the same campaign as line 1
            ]
        )
        + "\n"
    )

    code, out, err = await cli(stack, "batch", str(jsonl), "--task-queue", q, "--json", "-j", "4")
    assert code == 2, out + err  # bad lines make the exit code 2; the others still ran
    report = json.loads(out)
    assert report["lines"] == 6 and report["started"] == 3
    assert report["outcomes"] == {
        "published": 2,
        "failed: QUALITY_GATE_FAILED": 1,
        "skipped: duplicate line": 1,
        "invalid lines": 2,
    }
    assert [p["line"] for p in report["invalid"]] == [4, 5]
    assert "line 4: invalid campaign: not valid JSON" in err
    assert "line 5: invalid campaign: brief.channels.0" in err
    assert report["duplicates"] == [{"line": 7, "error": "same campaign as line 1"}]
    by_line = {c["line"]: c for c in report["campaigns"].values()}
    assert (
        by_line[3]["outcome"] == "failed" and by_line[3]["failure_reason"] == "QUALITY_GATE_FAILED"
    )

    # Re-running the same file starts nothing and shows how each existing campaign ended.
    code, out, err = await cli(stack, "batch", str(jsonl), "--task-queue", q)
    assert code == 2, out + err  # still the bad lines
    assert "briefs.jsonl: 3 campaigns (6 lines) in " in out, out
    assert re.search(r"existing: published\s+│\s+2 │", out), out
    assert re.search(r"existing: failed: QUALITY_GATE_FAILED\s+│\s+1 │", out), out
    in_queue = await client.count_workflows(f"TaskQueue = '{q}'")
    assert in_queue.count == 3


async def test_batch_no_wait_exits_0_and_a_rerun_exits_1_for_an_existing_failed_campaign(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack, tmp_path: Path
):
    q = worker.task_queue
    jsonl = tmp_path / "two.jsonl"
    tag = uuid.uuid4()
    jsonl.write_text(line(f"Clean {tag}") + "\n" + line(f"Risky {tag}", "A guaranteed win") + "\n")
    code, out, err = await cli(stack, "batch", str(jsonl), "--task-queue", q, "--no-wait")
    assert code == 0, out + err
    assert "started, not followed │         2 │" in out, out
    settled = f"TaskQueue = '{q}' AND CampaignState IN ('LEARN', 'FAILED')"
    for _ in range(RESULT_TIMEOUT * 10):  # visibility, as the batch reads it
        if (await client.count_workflows(settled)).count == 2:
            break
        await asyncio.sleep(0.1)

    code, out, err = await cli(stack, "batch", str(jsonl), "--task-queue", q, "--json")
    assert code == 1, out + err  # nothing started; one existing campaign failed
    report = json.loads(out)
    assert report["started"] == 0 and report["valid"] == 2
    assert report["outcomes"] == {
        "existing: published": 1,
        "existing: failed: QUALITY_GATE_FAILED": 1,
    }


async def test_batch_with_no_worker_warns_at_once_and_notes_it(
    client: Client, stack: DevStack, tmp_path: Path
):
    queue = f"no-worker-{uuid.uuid4()}"
    jsonl = tmp_path / "waiting.jsonl"
    jsonl.write_text(line(f"Waiting {uuid.uuid4()}") + "\n")
    code, out, err = await cli(stack, "batch", str(jsonl), "--task-queue", queue, "--timeout", "2")
    try:
        assert code == 1, out + err
        assert err.startswith(
            f"warning: no worker is polling task queue '{queue}' (Temporal at "
            f"{stack.config.temporal_address}, namespace default): the campaigns start and wait "
            "for one"
        ), err
        assert "still running (not settled in time) │         1 │" in out, out
        assert f"no worker was polling task queue '{queue}' at the end: 1 campaign waits" in out
    finally:
        async for execution in client.list_workflows(f"TaskQueue = '{queue}'"):
            await client.get_workflow_handle(execution.id).terminate("test cleanup")


async def test_batch_keeps_at_most_max_in_flight_campaigns_running(
    worker: CampaignWorkers, stack: DevStack, tmp_path: Path
):
    jsonl = tmp_path / "window.jsonl"
    jsonl.write_text("\n".join(line(f"Window {i} {uuid.uuid4()}") for i in range(6)) + "\n")
    code, out, err = await cli(
        stack, "batch", str(jsonl), "--task-queue", worker.task_queue, "--json",
        "-j", "8", "--max-in-flight", "2",
    )  # fmt: skip
    assert code == 0, out + err
    report = json.loads(out)
    assert report["outcomes"] == {"published": 6}
    # Eight start calls could run at once; the window let two campaigns run at a time.
    assert 1 <= report["peak_in_flight"] <= 2, report["peak_in_flight"]


async def test_batch_gives_up_starting_when_the_window_stays_full(
    client: Client, stack: DevStack, tmp_path: Path
):
    """No worker polls this queue, so the first campaign never settles: after --timeout the
    rest of the file is reported as not started, one line each, and the exit code is 2."""
    queue = f"no-worker-{uuid.uuid4()}"
    jsonl = tmp_path / "stuck.jsonl"
    jsonl.write_text("\n".join(line(f"Stuck {i} {uuid.uuid4()}") for i in range(3)) + "\n")
    code, out, err = await cli(
        stack, "batch", str(jsonl), "--task-queue", queue, "--json",
        "--max-in-flight", "1", "--timeout", "2",
    )  # fmt: skip
    report = json.loads(out)
    try:
        assert code == 2, out + err
        assert report["started"] == 1
        assert [e["line"] for e in report["errors"]] == [2, 3]
        assert all("none settled in 2 s" in e["error"] for e in report["errors"])
        assert "line 2: not started: 1 campaign still running" in err
    finally:
        for workflow_id in report["campaigns"]:
            await client.get_workflow_handle(workflow_id).terminate("test cleanup")


async def test_list_and_retry_all_failed_with_a_batch_operation(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    q = worker.task_queue
    risky = [campaign("Promise guaranteed results to every baker") for _ in range(2)]
    clean = campaign()
    handles = [await start_campaign(client, c, task_queue=q) for c in [*risky, clean]]
    for h in handles[:2]:
        await wait_for_state(client, h.id, CampaignState.FAILED)
    await asyncio.wait_for(handles[2].result(), RESULT_TIMEOUT)

    # The Web UI's current details: why it failed and how to retry.
    metadata = await handles[0].query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "QUALITY_GATE_FAILED" in metadata.current_details
    assert f"campaign retry {risky[0].campaign_id}" in metadata.current_details

    code, out, err = await cli(stack, "list", "--state", "FAILED", "--task-queue", q, "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert sorted(c["workflow_id"] for c in listed) == sorted(h.id for h in handles[:2])
    assert {c["failure_reason"] for c in listed} == {"QUALITY_GATE_FAILED"}

    code, out, err = await cli(stack, "list", "--status", "completed", "--task-queue", q)
    assert code == 0, err
    assert handles[2].id in out and "1 campaign" in out and handles[0].id not in out
    assert "ExecutionStatus = 'Completed'" in err  # the query, to paste into the Web UI

    code, out, err = await cli(stack, "retry", "--all-failed", "--task-queue", q, "--reason", "x")
    assert code == 0, out + err
    assert "retry signal sent to 2 of 2 FAILED campaigns (batch operation" in out, out + err
    assert out.rstrip().endswith(": 2 accepted, 0 refused"), out + err
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(h.result() for h in handles[:2])), RESULT_TIMEOUT
    )
    assert [o.state for o in outcomes] == [CampaignState.LEARN] * 2
    assert [o.retry_count for o in outcomes] == [1, 1]

    code, out, err = await cli(stack, "retry", "--all-failed", "--task-queue", q)
    assert code == 0 and "nothing to retry" in out, out + err


async def test_retry_all_failed_one_by_one_cancel_and_log(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    q = worker.task_queue
    risky = campaign("Promise guaranteed results to every baker")
    handle = await start_campaign(client, risky, task_queue=q)
    await wait_for_state(client, handle.id, CampaignState.FAILED)

    code, out, err = await cli(
        stack, "retry", "--all-failed", "--one-by-one", "--task-queue", q, "--json"
    )
    assert code == 0, out + err
    result = json.loads(out)
    assert (result["method"], result["matched"], result["signalled"]) == ("one-by-one", 1, 1)
    assert (result["accepted"], result["refused"]) == (1, {})
    assert (await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)).state is CampaignState.LEARN

    idle = CampaignInput(
        campaign_id=uuid.uuid4(), brief=brief(), step_retry=FAST_RETRIES, start_immediately=False
    )
    await start_campaign(client, idle, task_queue=q)
    await wait_for_state(client, f"campaign-{idle.campaign_id}", CampaignState.IDLE)
    code, out, err = await cli(stack, "cancel", str(idle.campaign_id), "--wait")
    assert code == 0, out + err
    assert f"campaign-{idle.campaign_id} ended: canceled" in out
    code, out, err = await cli(stack, "cancel", str(idle.campaign_id))
    assert code == 3 and "already ended (CANCELED)" in err, out + err

    code, out, err = await cli(stack, "log", str(idle.campaign_id), "--json")
    assert code == 0, err
    actions = [e["action"] for e in json.loads(out)]
    assert actions == ["campaign_created", "campaign_cancelled"]
