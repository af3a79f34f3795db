"""Record the workflow histories that tests/reliability/test_replay.py replays.

    .venv/bin/python tests/histories/record.py --label v2            # the working tree's worker
    .venv/bin/python tests/histories/record.py --label v4 --rev 3afbc96   # a committed version
    .venv/bin/python tests/histories/record.py --label v5-schedules --only scheduled_run,...

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
    RETRY_SIGNAL,
    START_SIGNAL,
    WORKFLOW_TYPE,
    CampaignInput,
    CampaignState,
    RetryRequest,
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
                scenarios = SCENARIOS if rev else SCENARIOS | GUARANTEE_SCENARIOS
                for name, scenario in scenarios.items():
                    if only is not None and name not in only:
                        continue
                    await admin.reset()
                    handle = await scenario(client, admin, worker.task_queue)
                    history = await handle.fetch_history()
                    text = json.dumps(json.loads(history.to_json()), indent=1) + "\n"
                    (out_dir / f"{name}.json").write_text(text, encoding="utf-8")
                    print(f"{out_dir.name}/{name}.json: {len(history.events)} events")
        finally:
            await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(stack.down)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--label", required=True, help="subdirectory of tests/histories")
    parser.add_argument("--rev", help="git revision whose worker records (default: this tree)")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    args = parser.parse_args()
    (HERE / args.label).mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    asyncio.run(record(HERE / args.label, args.rev, only))
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())  # see orchestrator_connection.process_exit
