"""A task queue per service, on the dev server with the real worker and the real services: each
step's activity is scheduled on its service's queue, a worker started for some services runs
only theirs, and a queue's rate limit holds across the fleet."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from contracts import (
    STEPS,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignState,
    Channel,
    RetryRequest,
    ServiceName,
    StepRetrySettings,
    service_task_queue,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import retry_all_failed, start_campaign
from orchestrator_connection.settings import WorkerRoles
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers
from tests.integration.conftest import stack_settings
from tests.reliability.support import WorkerProcess, wait_for_state
from tests.stack import Admin

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RESULT_TIMEOUT = 90
QUICK = StepRetrySettings(
    initial_interval=timedelta(milliseconds=50),
    maximum_interval=timedelta(milliseconds=200),
    maximum_attempts=5,
    start_to_close_timeout=timedelta(seconds=10),
)


def campaign(attempts: int = 5, **keys: Any) -> CampaignInput:
    return CampaignInput(
        campaign_id=uuid.uuid4(),
        brief=CampaignBrief(
            name="Queued launch", objective="Grow sign-ups among hobby bakers",
            audience="Home bakers", channels=[Channel.EMAIL],
        ),
        step_retry=QUICK.model_copy(update={"maximum_attempts": attempts}),
        **keys,
    )  # fmt: skip


@asynccontextmanager
async def workers_for(
    client: Client, stack: DevStack, task_queue: str, roles: WorkerRoles, **overrides: Any
) -> AsyncIterator[CampaignWorkers]:
    settings = stack_settings(stack, http_timeout_seconds=2.0, **overrides)
    async with create_http_client(settings) as http:
        activities = create_activities(settings, http)
        async with build_workers(
            client, settings, activities, task_queue=task_queue, roles=roles
        ) as workers:
            yield workers


async def run_campaigns(
    client: Client, task_queue: str, count: int
) -> list[WorkflowHandle[Any, Any]]:
    handles = [
        await start_campaign(client, campaign(), task_queue=task_queue) for _ in range(count)
    ]
    outcomes: list[CampaignOutcome] = await asyncio.wait_for(
        asyncio.gather(*(h.result() for h in handles)), RESULT_TIMEOUT
    )
    assert [o.state for o in outcomes] == [CampaignState.LEARN] * count
    return handles


def activities_of(events: list[HistoryEvent]) -> list[tuple[str, str, str]]:
    """(activity type, task queue it was scheduled on, identity of the worker that ran it)."""
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    ran = []
    for e in events:
        if e.HasField("activity_task_started_event_attributes"):
            started = e.activity_task_started_event_attributes
            s = scheduled[started.scheduled_event_id]
            ran.append((s.activity_type.name, s.task_queue.name, started.identity))
    return ran


async def test_each_step_runs_on_its_services_task_queue(
    client: Client, worker: CampaignWorkers
) -> None:
    (handle,) = await run_campaigns(client, worker.task_queue, 1)
    events = list((await handle.fetch_history()).events)
    started = events[0].workflow_execution_started_event_attributes
    assert started.task_queue.name == worker.task_queue  # workflow tasks stay on the main queue
    assert {(a, q) for a, q, _ in activities_of(events)} == {
        (step.activity, service_task_queue(worker.task_queue, step.service)) for step in STEPS
    }
    assert worker.task_queues == [
        worker.task_queue,
        *(service_task_queue(worker.task_queue, s) for s in ServiceName),
    ]


async def test_a_worker_started_for_some_services_runs_only_theirs(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    """`campaign-worker --services content` in a process of its own runs every content call and
    nothing else; this process, with the workflows and the other five, runs no content call."""
    queue = f"split-{uuid.uuid4()}"
    content_only = WorkerProcess(
        stack, "content-worker", queue,
        command=[sys.executable, "-m", "worker", "--services", "content"],
    )  # fmt: skip
    await asyncio.to_thread(content_only.start)
    pid = content_only.process.pid()
    try:
        others = WorkerRoles(
            workflows=True, services=tuple(s for s in ServiceName if s is not ServiceName.CONTENT)
        )
        async with workers_for(client, stack, queue, others):
            handles = await run_campaigns(client, queue, 3)
    finally:
        await asyncio.to_thread(content_only.stop)
    log = content_only.log_file.read_text()
    started = next(json.loads(line) for line in log.splitlines() if "worker_started" in line)
    assert started["task_queues"] == [service_task_queue(queue, ServiceName.CONTENT)]
    ran = [r for h in handles for r in activities_of(list((await h.fetch_history()).events))]
    assert len(ran) == 3 * len(STEPS)
    for activity_type, _, identity in ran:
        by_content_worker = identity.split("@")[0] == str(pid)
        assert by_content_worker == (activity_type == "produce_content"), (activity_type, identity)
    assert {i for a, _, i in ran if a != "produce_content"} == {client.identity}


async def test_a_services_rate_limit_holds_across_its_calls(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    """The radar queue at 2 calls/s: 12 campaigns started at once call radar at most about that
    often (counted in every one-second window), and all of them publish."""
    queue = f"rate-{uuid.uuid4()}"
    rate = 2.0
    async with workers_for(
        client, stack, queue, WorkerRoles.parse("all"), radar_rate_limit=rate
    ) as workers:
        assert (
            workers.services[ServiceName.RADAR].config()["max_task_queue_activities_per_second"]
            == rate
        )
        handles = await run_campaigns(client, queue, 12)
    ids = {h.id.removeprefix("campaign-") for h in handles}
    calls = [c for c in await admin.calls() if c["service"] == "radar" and c["campaign_id"] in ids]
    assert {c["campaign_id"] for c in calls} == ids
    # Without the limit all twelve arrive within a fraction of a second.
    assert within_rate(calls, rate), calls


def within_rate(calls: list[dict[str, Any]], rate: float) -> bool:
    """Whether the campaigns' first calls (HTTP retries aside) came no faster than `rate` a
    second, allowing the server's first burst (measured: rate + 1 at once): the calls after the
    first fit in the time they spanned. A loaded machine only spreads them further."""
    first: dict[str, datetime] = {}
    for c in calls:
        at = datetime.fromisoformat(c["at"])
        first[c["campaign_id"]] = min(at, first.get(c["campaign_id"], at))
    times = sorted(first.values())
    span = (times[-1] - times[0]).total_seconds()
    return len(times) - 1 <= rate * span + rate + 1


async def test_retry_all_failed_after_an_outage_calls_the_service_at_its_rate(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    """Twelve campaigns park at PUBLISH while the publisher is down; once it is back, one
    `retry --all-failed` resumes them all at once, and the publisher still sees at most about
    its queue's rate (2/s): no retry storm, and each campaign publishes once."""
    queue = f"storm-{uuid.uuid4()}"
    rate = 2.0
    await admin.faults(down=True, services=[ServiceName.PUBLISHER.value])
    async with workers_for(
        client, stack, queue, WorkerRoles.parse("all"), publisher_rate_limit=rate
    ):
        parking = [campaign(attempts=2) for _ in range(12)]  # two attempts each, then FAILED
        handles = [await start_campaign(client, c, task_queue=queue) for c in parking]
        for handle in handles:
            await wait_for_state(client, handle.id, CampaignState.FAILED)
        await admin.faults()
        since = datetime.now(UTC)
        result = await retry_all_failed(client, RetryRequest(requested_by="it"), task_queue=queue)
        assert (result.matched, result.accepted) == (12, 12), result
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), RESULT_TIMEOUT
        )
    assert {o.state for o in outcomes} == {CampaignState.LEARN}
    ids = {h.id.removeprefix("campaign-") for h in handles}
    calls = [
        c
        for c in await admin.calls()
        if c["service"] == "publisher"
        and c["campaign_id"] in ids
        and datetime.fromisoformat(c["at"]) >= since
    ]
    assert {c["campaign_id"] for c in calls} == ids
    assert within_rate(calls, rate), calls
    for handle in handles:
        cid = uuid.UUID(handle.id.removeprefix("campaign-"))
        assert await admin.effect_count(ServiceName.PUBLISHER, cid) == 1


async def test_status_says_when_a_steps_queue_has_no_worker(
    client: Client, stack: DevStack
) -> None:
    """No worker for content: the campaign waits at CONTENT_PROD, and `campaign status` says
    which queue needs one (the workflows' own queue is polled)."""
    queue = f"nocontent-{uuid.uuid4()}"
    others = WorkerRoles(
        workflows=True, services=tuple(s for s in ServiceName if s is not ServiceName.CONTENT)
    )
    async with workers_for(client, stack, queue, others):
        handle = await start_campaign(client, campaign(), task_queue=queue)
        await wait_for_state(client, handle.id, CampaignState.CONTENT_PROD)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "starter.py"), "status", handle.id, "--json",
            "--address", stack.config.temporal_address,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        await handle.cancel()
    assert proc.returncode == 0, err
    status = json.loads(out)
    assert status["state"] == "CONTENT_PROD"
    assert status["note"] == (
        f"waiting for a worker: none polls task queue '{queue}-content' for its CONTENT_PROD "
        "step (`campaign-worker --services content`)"
    )
