"""Record the workflow histories that tests/reliability/test_replay.py replays.

    .venv/bin/python tests/histories/record.py --label v2            # the working tree's worker
    .venv/bin/python tests/histories/record.py --label v4 --rev 3afbc96   # a committed version
    .venv/bin/python tests/histories/record.py --label v5-schedules --only scheduled_run,...
    .venv/bin/python tests/histories/record.py --label v6-review --only approval_approved,...

Writes tests/histories/<label>/<scenario>.json. Real runs: a file-backed dev server and the
reference services on free loopback ports (in a temporary directory), and a real worker process.
With --rev, the worker runs the code of that git revision (exported with `git archive` into the
temporary directory), so its histories are those of campaigns started before today's changes.
One campaign per representative path through the graph; each history is written with
WorkflowHistory.to_json().

Never re-record a label that is committed: those files prove that today's code still replays the
runs of yesterday's. After a deliberate (patched) change to the graph, add a new label.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import (
    Client,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.service import RPCError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.` importable
    sys.path.insert(0, str(ROOT))

from contracts import (  # noqa: E402
    APPROVE_UPDATE,
    PAUSE_UPDATE,
    REJECT_UPDATE,
    REQUEST_CHANGES_UPDATE,
    RESUME_UPDATE,
    RETRY_SIGNAL,
    START_SIGNAL,
    WORKFLOW_TYPE,
    ApprovalPolicy,
    ApprovalWait,
    CampaignInput,
    CampaignState,
    FailureReason,
    LogAction,
    PauseAccepted,
    PauseRequest,
    RetryRequest,
    ReviewAccepted,
    ReviewRequest,
    ServiceName,
    StartRequest,
    workflow_id_for,
)
from orchestrator_client.campaign_ops import retry_campaign, start_campaign  # noqa: E402
from orchestrator_client.campaign_schedules import (  # noqa: E402
    CampaignScheduleRequest,
    create_schedule,
    template_campaign_id,
)
from orchestrator_connection.process_exit import exit_without_finalizing  # noqa: E402
from orchestrator_connection.temporal_client import connect  # noqa: E402
from tests.reliability.support import (  # noqa: E402
    WorkerProcess,
    campaign,
    outcomes,
    payload_of,
    retries,
    wait_for_state,
)
from tests.stack import Admin, new_stack  # noqa: E402

RISKY = "Promise guaranteed results to every baker"
SHORT = retries(attempts=3, initial=0.1, maximum=0.2, start_to_close=3.0)
Scenario = Callable[[Client, Admin, str], Awaitable[WorkflowHandle[Any, Any]]]
LEGACY_INPUT = False
SCHEDULED_AT = "2026-11-30T08:00:00Z"  # the one time a recorder's schedule backfills
BACKFILL = ScheduleBackfill(
    start_at=datetime(2026, 11, 30, 8, tzinfo=UTC),
    end_at=datetime(2026, 11, 30, 8, tzinfo=UTC),
    overlap=ScheduleOverlapPolicy.BUFFER_ALL,
)  # --rev: an older CampaignInput may not know today's fields


async def begin(client: Client, c: CampaignInput, queue: str) -> WorkflowHandle[Any, Any]:
    """Start a campaign the way the starter does; for an older worker, without the fields
    that are at their defaults (fields added since are among them)."""
    if not LEGACY_INPUT:
        return await start_campaign(client, c, task_queue=queue)
    return await client.start_workflow(
        WORKFLOW_TYPE,
        c.model_dump(mode="json", exclude_defaults=True) | {"campaign_id": str(c.campaign_id)},
        id=workflow_id_for(c.campaign_id),
        task_queue=queue,
    )


async def ended(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the run has closed, however it ended."""
    with contextlib.suppress(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 60)


async def happy_path(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    handle = await begin(client, campaign(1), queue)
    await outcomes(client, [handle], within=60)
    return handle


async def gate_failure_retry(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """Gate closes, a garbage `retry` argument is dropped, a valid retry revises and publishes."""
    handle = await begin(client, campaign(2, objective=RISKY), queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    await handle.signal(RETRY_SIGNAL, "garbage")  # dropped by the SDK: see test_signals.py
    await retry_campaign(client, handle.id, RetryRequest(requested_by="recorder"))
    await outcomes(client, [handle], within=60)
    return handle


async def service_failure_retry(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """The publisher is down past the retry policy: FAILED; it comes back; retry publishes."""
    await admin.faults(down=True, services=[ServiceName.PUBLISHER.value])
    handle = await begin(client, campaign(3, step_retry=SHORT), queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    await admin.faults()
    await retry_campaign(client, handle.id, RetryRequest(requested_by="recorder"))
    await outcomes(client, [handle], within=60)
    return handle


async def cancellation(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    await admin.faults(latency_ms=5000, services=[ServiceName.STRATEGY.value])
    handle = await begin(client, campaign(4), queue)
    await wait_for_state(client, handle.id, CampaignState.STRATEGY_GEN)
    await handle.cancel()
    await ended(handle)
    await admin.faults()
    return handle


async def start_signal(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """Created in IDLE (start_immediately=false), started by the `start` signal."""
    c = campaign(5).model_copy(update={"start_immediately": False})
    handle = await begin(client, c, queue)
    await wait_for_state(client, handle.id, CampaignState.IDLE)
    await handle.signal(START_SIGNAL, StartRequest(requested_by="recorder"))
    await outcomes(client, [handle], within=60)
    return handle


async def retry_window_expired(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """Gate closes and nobody retries: the workflow ends failed when the window expires."""
    c = campaign(6, objective=RISKY).model_copy(update={"retry_window": timedelta(seconds=2)})
    handle = await begin(client, c, queue)
    await ended(handle)
    return handle


async def already_published(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """A second run of a published campaign id (as `temporal workflow start` allows): it ends
    as ALREADY_PUBLISHED. Needs a worker with the `workflow-guarantees` patch."""
    c = campaign(7)
    await outcomes(client, [await begin(client, c, queue)], within=60)
    handle = await client.start_workflow(
        WORKFLOW_TYPE, c, id=workflow_id_for(c.campaign_id), task_queue=queue
    )
    await ended(handle)
    return handle


async def cancel_during_publish(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """A cancel while PUBLISH is in flight: the workflow waits for the publication's outcome."""
    await admin.faults(latency_ms=3000, services=[ServiceName.PUBLISHER.value])
    handle = await begin(client, campaign(8), queue)
    await wait_for_state(client, handle.id, CampaignState.PUBLISH)
    await handle.cancel()
    await ended(handle)
    await admin.faults()
    return handle


async def parked_continue_as_new(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """Parked in FAILED, 80 garbage `retry` signals: the run continues as new (its history is
    the one recorded), and the next run takes the retry and publishes."""
    c = campaign(9, objective=RISKY).model_copy(update={"continue_as_new_after_events": 200})
    handle = await begin(client, c, queue)
    await wait_for_state(client, handle.id, CampaignState.FAILED)
    for _ in range(80):
        await handle.signal(RETRY_SIGNAL, "garbage")
    latest = client.get_workflow_handle(handle.id)
    for _ in range(600):
        if (await latest.describe()).run_id != handle.result_run_id:
            break
        await asyncio.sleep(0.1)
    await retry_campaign(client, handle.id, RetryRequest(requested_by="recorder"))
    await outcomes(client, [latest], within=60)
    return client.get_workflow_handle(handle.id, run_id=handle.result_run_id)


async def scheduled(client: Client, queue: str, schedule_id: str, c: CampaignInput) -> str:
    """A schedule for `c`, due yearly at SCHEDULED_AT; its template workflow id."""
    request = CampaignScheduleRequest(schedule_id=schedule_id, cron="0 8 30 11 *", campaign=c)
    await create_schedule(client, request, task_queue=queue)
    return workflow_id_for(template_campaign_id(schedule_id))


async def scheduled_run(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """A schedule's backfilled run: the campaign of its time, to LEARN."""
    template = await scheduled(client, queue, "recorder-run", campaign(10))
    try:
        await client.get_schedule_handle("recorder-run").backfill(BACKFILL)
        handle = client.get_workflow_handle(f"{template}-{SCHEDULED_AT}")
        await _appeared(handle)
        await outcomes(client, [handle], within=60)
    finally:
        await client.get_schedule_handle("recorder-run").delete()
    return handle


async def scheduled_repeat(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """The same scheduled time backfilled again after its campaign published: the repeat ends
    at once as ALREADY_PUBLISHED (its history is the one recorded)."""
    template = await scheduled(client, queue, "recorder-repeat", campaign(11))
    workflow_id = f"{template}-{SCHEDULED_AT}"
    try:
        schedule = client.get_schedule_handle("recorder-repeat")
        await schedule.backfill(BACKFILL)
        first = client.get_workflow_handle(workflow_id)
        await _appeared(first)
        await outcomes(client, [first], within=60)
        first_run = (await first.describe()).run_id
        await schedule.backfill(BACKFILL)
        for _ in range(600):
            if (await client.get_workflow_handle(workflow_id).describe()).run_id != first_run:
                break
            await asyncio.sleep(0.1)
        repeat = client.get_workflow_handle(workflow_id)
        await ended(repeat)
    finally:
        await client.get_schedule_handle("recorder-repeat").delete()
    return client.get_workflow_handle(workflow_id, run_id=(await repeat.describe()).run_id)


async def _appeared(handle: WorkflowHandle[Any, Any]) -> None:
    for _ in range(600):
        with contextlib.suppress(RPCError):
            await handle.describe()
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} never started")


# ---- a person in the loop: approval before PUBLISH, pause and resume (label v6-review) --------

APPROVER = "ana"


def reviewed(i: int, policy: ApprovalPolicy | None = None) -> CampaignInput:
    """A campaign that waits for ana's decision after the quality gate."""
    return campaign(i).model_copy(
        update={"approval": policy or ApprovalPolicy(approvers=[APPROVER])}
    )


async def awaiting_approval(client: Client, workflow_id: str, revision: int = 0) -> ApprovalWait:
    """Until the campaign waits in AWAITING_APPROVAL for a decision on `revision` (or later)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        p = await payload_of(client, workflow_id)
        waiting = p.approval
        if p.state is CampaignState.AWAITING_APPROVAL and waiting and waiting.revision >= revision:
            return waiting
        await asyncio.sleep(0.1)
    log = [(e.action, e.details) for e in p.execution_log[-6:]]
    raise AssertionError(
        f"{workflow_id} never waited for a decision on revision {revision}: {p.state}, "
        f"{p.failure}, last log entries {log}"
    )


async def decide(
    client: Client, workflow_id: str, update: str, revision: int, comment: str = ""
) -> ReviewAccepted:
    """ana's decision on `revision`, by the update of that name (as `campaign approve` sends)."""
    request = ReviewRequest(reviewer=APPROVER, revision=revision, comment=comment)
    answer: ReviewAccepted = await client.get_workflow_handle(workflow_id).execute_update(
        update, request, result_type=ReviewAccepted
    )
    return answer


async def failed_with(client: Client, workflow_id: str, reason: FailureReason) -> None:
    await wait_for_state(client, workflow_id, CampaignState.FAILED)
    failure = (await payload_of(client, workflow_id)).failure
    assert failure is not None and failure.reason is reason, failure


async def approval_approved(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """AWAITING_APPROVAL after the gate; ana approves the audited revision; it publishes."""
    handle = await begin(client, reviewed(12), queue)
    waiting = await awaiting_approval(client, handle.id)
    answer = await decide(client, handle.id, APPROVE_UPDATE, waiting.revision, "fine as it is")
    assert answer.next_state is CampaignState.PUBLISH, answer
    await outcomes(client, [handle], within=60)
    return handle


async def approval_changes_requested(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """ana requests changes: back to CONTENT_PROD, a new revision is audited; she approves it."""
    handle = await begin(client, reviewed(13), queue)
    waiting = await awaiting_approval(client, handle.id)
    comment = 'drop "reliability" from the subject line'
    answer = await decide(client, handle.id, REQUEST_CHANGES_UPDATE, waiting.revision, comment)
    assert answer.next_state is CampaignState.CONTENT_PROD, answer
    revised = await awaiting_approval(client, handle.id, waiting.revision + 1)
    await decide(client, handle.id, APPROVE_UPDATE, revised.revision, "better")
    await outcomes(client, [handle], within=60)
    return handle


async def approval_rejected_retried(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """ana rejects: FAILED (APPROVAL_REJECTED); an operator retry produces a new revision
    against her comment; she approves it."""
    handle = await begin(client, reviewed(14), queue)
    waiting = await awaiting_approval(client, handle.id)
    comment = 'no "reliability" claims in a bakery newsletter'
    answer = await decide(client, handle.id, REJECT_UPDATE, waiting.revision, comment)
    assert answer.next_state is CampaignState.FAILED, answer
    await failed_with(client, handle.id, FailureReason.APPROVAL_REJECTED)
    await retry_campaign(client, handle.id, RetryRequest(requested_by="recorder"))
    revised = await awaiting_approval(client, handle.id, waiting.revision + 1)
    await decide(client, handle.id, APPROVE_UPDATE, revised.revision, "approved")
    await outcomes(client, [handle], within=60)
    return handle


async def approval_timeout_retried(
    client: Client, admin: Admin, queue: str
) -> WorkflowHandle[Any, Any]:
    """Nobody decides: a reminder, then FAILED (APPROVAL_TIMEOUT) at the deadline; an operator
    retry asks again (the same revision, a new deadline) and ana approves in time."""
    policy = ApprovalPolicy(
        approvers=[APPROVER], deadline=timedelta(seconds=3), remind_after=timedelta(seconds=1)
    )
    handle = await begin(client, reviewed(15, policy), queue)
    await awaiting_approval(client, handle.id)
    await failed_with(client, handle.id, FailureReason.APPROVAL_TIMEOUT)
    log = (await payload_of(client, handle.id)).execution_log
    assert any(e.action == LogAction.APPROVAL_REMINDER for e in log), "no reminder"
    await retry_campaign(client, handle.id, RetryRequest(requested_by="recorder"))
    waiting = await awaiting_approval(client, handle.id)
    await decide(client, handle.id, APPROVE_UPDATE, waiting.revision, "sorry for the wait")
    await outcomes(client, [handle], within=60)
    return handle


async def pause_resume(client: Client, admin: Admin, queue: str) -> WorkflowHandle[Any, Any]:
    """`pause` while STRATEGY_GEN is in flight (a slow service): the step finishes, the campaign
    holds before CONTENT_PROD; `resume` lets it go on to LEARN."""
    await admin.faults(latency_ms=3000, services=[ServiceName.STRATEGY.value])
    handle = await begin(client, campaign(16), queue)
    await wait_for_state(client, handle.id, CampaignState.STRATEGY_GEN)
    latest = client.get_workflow_handle(handle.id)
    request = PauseRequest(requested_by="recorder", reason="hold for the brand review")
    paused = await latest.execute_update(PAUSE_UPDATE, request, result_type=PauseAccepted)
    assert paused.paused, paused
    deadline = time.monotonic() + 60
    while (held := (await payload_of(client, handle.id)).paused) is None or not held.held_before:
        assert time.monotonic() < deadline, f"{handle.id} never held"
        await asyncio.sleep(0.1)
    assert held.held_before is CampaignState.CONTENT_PROD, held
    await admin.faults()
    request = PauseRequest(requested_by="recorder", reason="brand review done")
    resumed = await latest.execute_update(RESUME_UPDATE, request, result_type=PauseAccepted)
    assert not resumed.paused, resumed
    await outcomes(client, [handle], within=60)
    return handle


SCENARIOS: dict[str, Scenario] = {
    "happy_path": happy_path,
    "gate_failure_retry": gate_failure_retry,
    "service_failure_retry": service_failure_retry,
    "cancellation": cancellation,
    "start_signal": start_signal,
    "retry_window_expired": retry_window_expired,
}
# Paths that exist only from the `workflow-guarantees` patch on (not recorded with --rev).
GUARANTEE_SCENARIOS: dict[str, Scenario] = {
    "already_published": already_published,
    "cancel_during_publish": cancel_during_publish,
    "parked_continue_as_new": parked_continue_as_new,
    "scheduled_run": scheduled_run,
    "scheduled_repeat": scheduled_repeat,
}
# Paths of the approval before PUBLISH and of pause/resume (5384daf on; recorded as v6-review).
REVIEW_SCENARIOS: dict[str, Scenario] = {
    "approval_approved": approval_approved,
    "approval_changes_requested": approval_changes_requested,
    "approval_rejected_retried": approval_rejected_retried,
    "approval_timeout_retried": approval_timeout_retried,
    "pause_resume": pause_resume,
}


def export_revision(rev: str, into: Path) -> list[str]:
    """The worker command of `rev`'s code, exported read-only with `git archive`."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return [sys.executable, str(into / "worker.py")]


async def record(out_dir: Path, rev: str | None, only: set[str] | None = None) -> None:
    global LEGACY_INPUT
    LEGACY_INPUT = rev is not None
    with tempfile.TemporaryDirectory(prefix="histories-") as tmp:
        stack = new_stack(Path(tmp) / "run")
        worker = WorkerProcess(stack, "worker", "histories")
        if rev:
            code = Path(tmp) / "code"
            worker.command = export_revision(rev, code)
            # The script's directory comes first on sys.path; src/ packages via PYTHONPATH.
            worker.env["PYTHONPATH"] = str(code / "src")
        try:
            await asyncio.to_thread(stack.start_server)
            await asyncio.to_thread(stack.start_services)
            await asyncio.to_thread(worker.start)
            client = await connect(target_host=stack.config.temporal_address, namespace="default")
            async with httpx.AsyncClient(base_url=stack.config.services_url, timeout=30) as http:
                admin = Admin(http)
                scenarios = SCENARIOS if rev else SCENARIOS | GUARANTEE_SCENARIOS | REVIEW_SCENARIOS
                for name, scenario in scenarios.items():
                    if only is not None and name not in only:
                        continue
                    await admin.reset()
                    handle = await scenario(client, admin, worker.task_queue)
                    history = await handle.fetch_history()
                    text = json.dumps(json.loads(history.to_json()), indent=1) + "\n"
                    (out_dir / f"{name}.json").write_text(text, encoding="utf-8")
                    print(f"{out_dir.name}/{name}.json: {len(history.events)} events")
        except BaseException:
            print(f"--- the worker's log (end):\n{worker.log_text()[-6000:]}", file=sys.stderr)
            raise
        finally:
            await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(stack.down)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--label", required=True, help="subdirectory of tests/histories")
    parser.add_argument("--rev", help="git revision whose worker records (default: this tree)")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    known = SCENARIOS | GUARANTEE_SCENARIOS | REVIEW_SCENARIOS
    if only is not None and (unknown := only - set(known)):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    (HERE / args.label).mkdir(parents=True, exist_ok=True)
    asyncio.run(record(HERE / args.label, args.rev, only))
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())  # see orchestrator_connection.process_exit
