"""A campaign's brand and priority (CampaignInput.brand, .priority) reach the server as Temporal's
fairness and priority keys, from every client, and the dev server of `make demo` honours them:
a brand's few campaigns are not queued behind another brand's backlog, an urgent one goes first."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Priority
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from contracts import (
    PAYLOAD_QUERY,
    CampaignPayload,
    CampaignState,
    ServiceName,
    service_task_queue,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_connection.settings import WorkerRoles
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_service_queues import RESULT_TIMEOUT, campaign, workers_for
from tests.stack import Admin, temporal

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def keys(p: Priority) -> tuple[int, str]:
    return p.priority_key, p.fairness_key


async def task_keys(
    handle: WorkflowHandle[Any, Any],
) -> tuple[tuple[int, str], set[tuple[int, str]]]:
    """The keys of the workflow's start, and the set of its activities' keys."""
    events: list[HistoryEvent] = list((await handle.fetch_history()).events)
    started = events[0].workflow_execution_started_event_attributes
    steps = {
        keys(e.activity_task_scheduled_event_attributes.priority)
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return keys(started.priority), steps


async def learned(client: Client, workflow_id: str) -> CampaignPayload:
    handle = client.get_workflow_handle(workflow_id)
    await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    payload: CampaignPayload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    assert payload.state is CampaignState.LEARN
    return payload


async def test_the_starter_gives_the_workflow_and_every_step_the_keys(
    client: Client, worker: CampaignWorkers
) -> None:
    c = campaign(brand="acme", priority=1)
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    payload = await learned(client, handle.id)
    assert await task_keys(handle) == ((1, "acme"), {(1, "acme")})
    created = payload.execution_log[0]
    assert created.action == "campaign_created"
    assert (created.details["brand"], created.details["priority"]) == ("acme", 1)
    plain = await start_campaign(client, campaign(), task_queue=worker.task_queue)
    await learned(client, plain.id)
    assert await task_keys(plain) == ((0, ""), {(0, "")})  # unset: the server's defaults


async def test_the_workflow_sets_them_when_the_temporal_cli_did_not(
    client: Client, worker: CampaignWorkers, stack: DevStack
) -> None:
    """`temporal workflow start` without --priority-key: the input's keys still reach every step
    (the workflow is the authority), while the workflow task itself runs at the default."""
    c = campaign(brand="cli-brand", priority=2)
    workflow_id = f"campaign-{c.campaign_id}"
    started = await asyncio.to_thread(
        temporal, stack, "workflow", "start", "--type", "CampaignWorkflow",
        "--task-queue", worker.task_queue, "--workflow-id", workflow_id,
        "--input", c.model_dump_json(),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    await learned(client, workflow_id)
    handle = client.get_workflow_handle(workflow_id)
    assert await task_keys(handle) == ((0, ""), {(2, "cli-brand")})


async def test_the_cli_and_the_gateway_take_brand_and_priority(
    client: Client, worker: CampaignWorkers, stack: DevStack, gateway: httpx.AsyncClient
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "starter.py"), "start", "--name", "CLI fair launch",
        "--objective", "Grow sign-ups", "--audience", "Bakers", "-c", "email",
        "--brand", "north", "--priority", "4", "--task-queue", worker.task_queue, "--json",
        "--address", stack.config.temporal_address,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    by_cli = json.loads(out)["workflow_id"]
    body = {
        "brief": {"name": "REST fair launch", "objective": "Grow sign-ups",
                  "audience": "Bakers", "channels": ["email"]},
        "brand": "south", "priority": 5, "start": True,
    }  # fmt: skip
    created = await gateway.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    by_rest = f"campaign-{created.json()['campaign_id']}"
    for workflow_id, expected in ((by_cli, (4, "north")), (by_rest, (5, "south"))):
        await learned(client, workflow_id)
        handle = client.get_workflow_handle(workflow_id)
        assert await task_keys(handle) == (expected, {expected})
    refused = await gateway.post("/api/v1/campaigns", json={**body, "priority": 0})
    assert refused.status_code == 422 and "priority" in refused.text


@pytest.mark.parametrize(
    ("crowd", "few"),
    [({"brand": "big"}, {"brand": "small"}), ({}, {"priority": 1})],
    ids=["fairness", "priority"],
)
async def test_a_few_campaigns_are_not_queued_behind_a_backlog(
    client: Client, stack: DevStack, admin: Admin, crowd: dict[str, Any], few: dict[str, Any]
) -> None:
    """The content queue held (rate 0, the outage playbook's command) while 16 campaigns of one
    brand and then two more (another brand, or priority 1) wait on it; released to a worker with
    one content slot, the two are among the first served, not after the whole backlog
    (counted in the order the content service saw them)."""
    queue = f"fair-{uuid.uuid4()}"
    content_queue = service_task_queue(queue, ServiceName.CONTENT)
    await hold(stack, content_queue, "0")
    async with workers_for(client, stack, queue, WorkerRoles.parse("all"), content_slots=1):
        first = [
            await start_campaign(client, campaign(**crowd), task_queue=queue) for _ in range(16)
        ]
        await waiting_at_content(first)
        later = [await start_campaign(client, campaign(**few), task_queue=queue) for _ in range(2)]
        await waiting_at_content(later)
        await hold(stack, content_queue, "default")
        await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in [*first, *later])), RESULT_TIMEOUT
        )
    order = [
        f"campaign-{c['campaign_id']}" for c in await admin.calls() if c["service"] == "content"
    ]
    assert len(order) == 18
    positions = sorted(order.index(h.id) for h in later)
    # FIFO puts them at 16 and 17 (measured with matching.enableFairness=false); fairly served,
    # or first, they come within the first few calls.
    assert positions[-1] <= 4, positions
    expected = (few.get("priority", 0), few.get("brand", ""))
    for h in later:
        assert (await task_keys(h))[1] == {expected}


async def hold(stack: DevStack, task_queue: str, rate: str) -> None:
    """`temporal task-queue config set --queue-rps-limit <rate>` for the queue's activities."""
    done = await asyncio.to_thread(
        temporal, stack, "task-queue", "config", "set", "--task-queue", task_queue,
        "--task-queue-type", "activity", "--queue-rps-limit", rate,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


async def waiting_at_content(handles: list[WorkflowHandle[Any, Any]]) -> None:
    """Until each campaign's content call is scheduled, waiting on the held queue (server side:
    its pending activity)."""
    for handle in handles:
        for _ in range(RESULT_TIMEOUT * 10):
            pending = (await handle.describe()).raw_description.pending_activities
            if any(a.activity_type.name == "produce_content" for a in pending):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{handle.id} never reached content production")
