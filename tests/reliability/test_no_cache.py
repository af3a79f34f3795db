"""A worker with max_cached_workflows=0: every workflow task replays the whole history first.

Any nondeterminism in the graph (code that takes another path when replayed) fails a workflow
task here, which the checks below see as a workflow task failure or a stuck campaign.
"""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.client import Client

from contracts import CampaignState, RetryRequest, ServiceName
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import retry_campaign, start_campaign
from tests.reliability.support import (
    campaign,
    duplicate_effects,
    log_problems,
    outcomes,
    payloads,
    record_figures,
    retries,
    size,
    start_all,
    wait_for_state,
    worker_process,
    workflow_task_failures,
)
from tests.stack import Admin

pytestmark = pytest.mark.integration

PLAIN = size(ci=10, full=50)


async def test_every_task_replays_and_campaigns_still_complete(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    async with worker_process(
        stack, "worker-no-cache", "nocache", env={"CAMPAIGN_MAX_CACHED_WORKFLOWS": "0"}
    ) as worker:
        queue = worker.task_queue
        # Some 5xx on every service: activity retries in the histories being replayed.
        await admin.faults(error_rate=0.2, seed=3)
        plain = [campaign(i) for i in range(PLAIN)]
        gated = campaign(objective="Promise guaranteed results to every baker")
        down = campaign(step_retry=retries(attempts=3, initial=0.1, maximum=0.2))
        handles = await start_all(client, plain, queue)
        gated_handle = await start_campaign(client, gated, task_queue=queue)
        await wait_for_state(client, gated_handle.id, CampaignState.FAILED)
        await gated_handle.signal("retry", "garbage")  # dropped: replayed on every later task
        await retry_campaign(client, gated_handle.id, RetryRequest(requested_by="no-cache"))

        await admin.faults(down=True, services=[ServiceName.PUBLISHER.value])
        down_handle = await start_campaign(client, down, task_queue=queue)
        await wait_for_state(client, down_handle.id, CampaignState.FAILED)
        await admin.faults()
        await retry_campaign(client, down_handle.id, RetryRequest(requested_by="no-cache"))

        every = [*handles, gated_handle, down_handle]
        results = await outcomes(client, every, within=180)
        assert all(o.state is CampaignState.LEARN for o in results)
        assert [o.retry_count for o in results[-2:]] == [1, 1]
        effects = await admin.effects()
        assert not duplicate_effects(effects, plain)
        publishes = [e for e in effects if e["service"] == ServiceName.PUBLISHER.value]
        ids = {str(c.campaign_id) for c in [*plain, gated, down]}
        assert sorted(e["campaign_id"] for e in publishes if e["campaign_id"] in ids) == sorted(ids)

        logs = await payloads(client, [h.id for h in every])
        problems = [p for payload in logs[:-2] for p in log_problems(payload)]
        problems += [p for payload in logs[-2:] for p in log_problems(payload, operator_retries=1)]
        assert not problems, problems
        failures = [await workflow_task_failures(client, h.id) for h in every]
        assert sum(failures) == 0, failures
        assert "nondetermin" not in worker.log_text().lower()
        # No cache, so no sticky queue: every task went to the normal queue, i.e. was replayed.
        history = await down_handle.fetch_history()
        kinds = {
            e.workflow_task_scheduled_event_attributes.task_queue.kind
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
        }
        assert kinds == {TaskQueueKind.TASK_QUEUE_KIND_NORMAL}, kinds
        record_figures(
            "max_cached_workflows=0",
            campaigns=len(every),
            operator_retries=2,
            workflow_task_failures=0,
            publishes=len(ids),
            duplicates=0,
        )
