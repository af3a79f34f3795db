"""Crashes: the worker process is SIGKILLed mid-run; the dev server is stopped mid-run.

A new worker (or the restarted server, on the same SQLite file) must bring every campaign to
LEARN with no duplicate side effect anywhere and execution logs without gaps or repeats.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts import CampaignInput
from devstack.stack import DevStack
from orchestrator_connection.temporal_client import connect
from tests.reliability.support import (
    FULL,
    WorkerProcess,
    campaign,
    duplicate_effects,
    injected_totals,
    log_problems,
    new_queue,
    outcomes,
    payloads,
    record_figures,
    retries,
    retries_seen,
    size,
    start_all,
    worker_process,
)
from tests.stack import Admin, admin_of, running_stack

# Full sizes take longer than pytest's default 300 s limit (pyproject) on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900 if FULL else 300)]

CRASH_CAMPAIGNS = size(ci=40, full=100)
RESTART_CAMPAIGNS = size(ci=40, full=100)
# Slow enough that campaigns are in flight for a while; some calls hold their key in progress.
IN_FLIGHT_FAULTS = dict(latency_ms=150, slow_rate=0.1, slow_seconds=1.0, seed=11)
# A step attempt lost with a dead worker is retried after start_to_close_timeout.
CRASH_RETRIES = retries(attempts=50, start_to_close=3.0)


async def wait_for_progress(
    admin: Admin, campaigns: list[CampaignInput], share: float, within: float = 120
) -> int:
    """Until this share of all the campaigns' side effects happened; returns how many did."""
    ids = {str(c.campaign_id) for c in campaigns}
    wanted = int(len(campaigns) * 6 * share)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done = sum(1 for e in await admin.effects() if e["campaign_id"] in ids)
        if done >= wanted:
            return done
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {wanted} side effects after {within:.0f}s")


async def completed(client: Client, task_queue: str) -> int:
    """How many campaigns of this task queue have completed (from visibility: no worker needed)."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Completed'"
    return (await client.count_workflows(query)).count


async def check_all_learned_once(
    client: Client, admin: Admin, campaigns: list[CampaignInput], handles: list[Any], within: float
) -> dict[str, Any]:
    results = await outcomes(client, handles, within=within)
    lost = [h.id for h, o in zip(handles, results, strict=True) if o.state != "LEARN"]
    assert not lost, f"lost campaigns: {lost}"
    effects = await admin.effects()
    duplicates = duplicate_effects(effects, campaigns)
    assert not duplicates, duplicates
    logs = await payloads(client, [h.id for h in handles])
    problems = [p for payload in logs for p in log_problems(payload)]
    assert not problems, problems[:10]
    return {
        "reached_learn": len(results),
        "effects": len(
            [e for e in effects if e["campaign_id"] in {str(c.campaign_id) for c in campaigns}]
        ),
        "duplicates": len(duplicates),
    }


async def test_sigkill_of_the_worker_mid_run_loses_and_duplicates_nothing(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    queue = new_queue("crash")
    first = WorkerProcess(stack, "worker-crash-1", queue)
    second = WorkerProcess(stack, "worker-crash-2", queue)
    await asyncio.to_thread(first.start)
    try:
        await admin.faults(**IN_FLIGHT_FAULTS)
        campaigns = [campaign(i, step_retry=CRASH_RETRIES) for i in range(CRASH_CAMPAIGNS)]
        started = time.monotonic()
        handles = await start_all(client, campaigns, queue)
        effects_at_kill = await wait_for_progress(admin, campaigns, share=0.3)
        await asyncio.to_thread(first.kill)
        killed_at = time.monotonic() - started
        done_at_kill = await completed(client, queue)
        assert done_at_kill < CRASH_CAMPAIGNS, "the kill came too late to hit campaigns in flight"

        await asyncio.to_thread(second.start)
        figures = await check_all_learned_once(client, admin, campaigns, handles, 300)
        elapsed = time.monotonic() - started
        stats = await admin.stats()
        record_figures(
            "worker SIGKILL",
            campaigns=CRASH_CAMPAIGNS,
            in_flight_at_kill=CRASH_CAMPAIGNS - done_at_kill,
            effects_before_kill=effects_at_kill,
            killed_after_seconds=round(killed_at, 1),
            faults_injected=injected_totals(stats),
            retries_seen=retries_seen(await admin.calls(), campaigns),
            replays=sum(s["replays"] for s in stats.values()),
            seconds=round(elapsed, 1),
            **figures,
        )
    finally:
        await admin.faults()
        for worker in (first, second):
            await asyncio.to_thread(worker.stop)


@pytest.fixture
def restart_stack(tmp_path: Path) -> Iterator[DevStack]:
    """A stack of its own: this test stops and restarts its dev server."""
    with running_stack(tmp_path / "restart") as stack:
        yield stack


async def test_a_dev_server_restart_mid_run_loses_nothing(restart_stack: DevStack) -> None:
    stack = restart_stack
    client = await connect(target_host=stack.config.temporal_address, namespace="default")
    async with (
        worker_process(stack, "worker-restart", "restart") as worker,
        admin_of(stack) as admin,
    ):
        await admin.faults(**IN_FLIGHT_FAULTS)
        campaigns = [campaign(i, step_retry=CRASH_RETRIES) for i in range(RESTART_CAMPAIGNS)]
        started = time.monotonic()
        handles = await start_all(client, campaigns, worker.task_queue)
        effects_at_stop = await wait_for_progress(admin, campaigns, share=0.3)
        done_at_stop = await completed(client, worker.task_queue)
        assert done_at_stop < RESTART_CAMPAIGNS, "the restart came too late"

        down_started = time.monotonic()
        await asyncio.to_thread(stack.server.stop)
        await asyncio.sleep(2.0)  # the worker and the client see the server gone
        await asyncio.to_thread(stack.start_server)
        down_seconds = time.monotonic() - down_started
        assert worker.process.running(), worker.process.tail()

        figures = await check_all_learned_once(client, admin, campaigns, handles, 300)
        elapsed = time.monotonic() - started
        stats = await admin.stats()
        record_figures(
            "dev server restart",
            campaigns=RESTART_CAMPAIGNS,
            in_flight_at_stop=RESTART_CAMPAIGNS - done_at_stop,
            effects_before_stop=effects_at_stop,
            server_away_seconds=round(down_seconds, 1),
            faults_injected=injected_totals(stats),
            retries_seen=retries_seen(await admin.calls(), campaigns),
            seconds=round(elapsed, 1),
            **figures,
        )
