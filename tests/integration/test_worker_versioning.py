"""Worker Versioning on the dev server: campaigns parked under build v1 meet a v2 worker with a
patched graph change (tests/reliability/graph_variants.py's pause before PUBLISH, the change
docs/changing-the-graph.md rolls out); the doc's `temporal worker deployment` commands ramp it,
roll the ramp back, make it current (the parked campaigns resume on v2 and publish once) and
roll back to v1. And a worker process's first start activates its version; a second build does
not take over by itself, and says what to run."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import RoutingConfigUpdateState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkerDeploymentRequest,
)
from temporalio.client import Client, WorkflowHandle

from contracts import (
    CampaignBrief,
    CampaignInput,
    CampaignState,
    Channel,
    RetryRequest,
    ServiceName,
    StepRetrySettings,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import retry_campaign, start_campaign
from orchestrator_worker.deployment import activate_first_version, deployment_version
from orchestrator_worker.service_wiring import create_activities, create_http_client
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers
from tests.integration.conftest import stack_settings
from tests.reliability.graph_variants import PRE_PUBLISH_PAUSE, PatchedPauseBeforePublish
from tests.reliability.support import WorkerProcess, wait_for_state
from tests.stack import Admin, temporal
from workflows import WebhookNotifierWorkflow

pytestmark = pytest.mark.integration
IN_PROGRESS = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS
RESULT_TIMEOUT = 60
QUICK = StepRetrySettings(
    initial_interval=timedelta(milliseconds=50),
    maximum_interval=timedelta(milliseconds=200),
    maximum_attempts=2,
    start_to_close_timeout=timedelta(seconds=10),
)


def campaign() -> CampaignInput:
    return CampaignInput(
        campaign_id=uuid.uuid4(),
        brief=CampaignBrief(
            name="Versioned launch", objective="Grow sign-ups among hobby bakers",
            audience="Home bakers", channels=[Channel.EMAIL],
        ),
        step_retry=QUICK,
    )  # fmt: skip


@asynccontextmanager
async def versioned_workers(
    client: Client, stack: DevStack, queue: str, deployment: str, build_id: str, **overrides: Any
) -> AsyncIterator[CampaignWorkers]:
    settings = stack_settings(
        stack,
        http_timeout_seconds=2.0,
        worker_versioning=True,
        deployment_name=deployment,
        build_id=build_id,
    )
    async with create_http_client(settings) as http:
        activities = create_activities(settings, http)
        async with build_workers(
            client, settings, activities, task_queue=queue, **overrides
        ) as workers:
            yield workers


async def cli(stack: DevStack, *args: str) -> str:
    done = await asyncio.to_thread(temporal, stack, "worker", "deployment", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def routed(
    client: Client, deployment: str, queues: Sequence[str], current: str, ramping: str = ""
) -> None:
    """Until each task queue routes new tasks to `current` (and ramps `ramping`): the routing
    reaches the queues a moment after the command."""
    seen: list[tuple[str, str]] = []
    for _ in range(300):
        seen = []
        for queue in queues:
            info = (
                await client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=client.namespace,
                        task_queue=TaskQueue(name=queue),
                        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
                        if queue == queues[0]
                        else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                    )
                )
            ).versioning_info
            ramp = info.ramping_deployment_version.build_id
            seen.append(
                (
                    info.current_deployment_version.build_id,
                    ramp if info.ramping_version_percentage else "",
                )
            )
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
        )
        state = described.worker_deployment_info.routing_config_update_state
        if set(seen) == {(current, ramping)} and state != IN_PROGRESS:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"routing (current, ramping) of {list(queues)} is {seen}")


async def ran_on(handle: WorkflowHandle[Any, Any]) -> set[str]:
    """The builds that ran a campaign after its first workflow task. The first may follow the
    routing of a few seconds before a change (the server caches it); under AUTO_UPGRADE the
    next task moves to where the routing points now."""
    return set((await build_ids(handle))[1:])


async def build_ids(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The build id of every workflow task that completed, in order."""
    return [
        e.workflow_task_completed_event_attributes.deployment_version.build_id
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_task_completed_event_attributes")
    ]


async def patches(handle: WorkflowHandle[Any, Any]) -> set[str]:
    found = set()
    async for e in handle.fetch_history_events():
        if e.HasField("marker_recorded_event_attributes"):
            details = e.marker_recorded_event_attributes.details
            if "patch-data" in details:
                found.add(json.loads(details["patch-data"].payloads[0].data)["id"])
    return found


async def run_to_learn(client: Client, queue: str) -> WorkflowHandle[Any, Any]:
    handle = await start_campaign(client, campaign(), task_queue=queue)
    outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert outcome.state is CampaignState.LEARN
    return handle


async def test_a_patched_graph_change_rolls_out_to_parked_campaigns(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    deployment, queue = f"it-{uuid.uuid4().hex[:12]}", f"versioned-{uuid.uuid4()}"
    v2_workflows = [PatchedPauseBeforePublish, WebhookNotifierWorkflow]
    async with versioned_workers(client, stack, queue, deployment, "v1") as v1:
        routing = await activate_first_version(
            client,
            deployment_version(stack_settings(stack, deployment_name=deployment, build_id="v1")),
        )
        assert routing.current == "v1"
        await routed(client, deployment, v1.task_queues, "v1")

        # Two campaigns park in FAILED at CONTENT_PROD under v1 (the content service is down).
        await admin.faults(down=True, services=[ServiceName.CONTENT.value])
        parked = [await start_campaign(client, campaign(), task_queue=queue) for _ in range(2)]
        for handle in parked:
            await wait_for_state(client, handle.id, CampaignState.FAILED)
        await admin.faults()
        assert {b for h in parked for b in await build_ids(h)} == {"v1"}

        async with versioned_workers(
            client, stack, queue, deployment, "v2", workflows=v2_workflows
        ):
            await activate_first_version(  # registered, and v1 stays current
                client,
                deployment_version(
                    stack_settings(stack, deployment_name=deployment, build_id="v2")
                ),
            )
            # Ramp: new campaigns go to v2 (100% here, so that the test knows which).
            await cli(stack, "set-ramping-version", "--deployment-name", deployment,
                      "--build-id", "v2", "--percentage", "100", "--yes")  # fmt: skip
            await routed(client, deployment, v1.task_queues, "v1", ramping="v2")
            ramped = await run_to_learn(client, queue)
            assert await ran_on(ramped) == {"v2"}, await build_ids(ramped)
            assert PRE_PUBLISH_PAUSE in await patches(ramped)

            # Roll the ramp back: new campaigns run on v1 again, without the change.
            await cli(stack, "set-ramping-version", "--deployment-name", deployment,
                      "--build-id", "v2", "--delete", "--yes")  # fmt: skip
            await routed(client, deployment, v1.task_queues, "v1")
            back = await run_to_learn(client, queue)
            assert await ran_on(back) == {"v1"}, await build_ids(back)
            assert PRE_PUBLISH_PAUSE not in await patches(back)

            # Make v2 current: the parked campaigns resume on v2, take the change, publish once.
            await cli(stack, "set-current-version", "--deployment-name", deployment,
                      "--build-id", "v2", "--yes")  # fmt: skip
            await routed(client, deployment, v1.task_queues, "v2")
            for handle in parked:
                await retry_campaign(client, handle.id, RetryRequest(requested_by="it"))
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(h.result() for h in parked)), RESULT_TIMEOUT
            )
            assert {o.state for o in outcomes} == {CampaignState.LEARN}
            for handle in parked:
                builds = await build_ids(handle)
                assert builds[0] == "v1" and builds[-1] == "v2", builds
                assert PRE_PUBLISH_PAUSE in await patches(handle)
                cid = uuid.UUID(handle.id.removeprefix("campaign-"))
                assert await admin.effect_count(ServiceName.PUBLISHER, cid) == 1

            # Roll back: v1 is current again; new campaigns run on v1.
            await cli(stack, "set-current-version", "--deployment-name", deployment,
                      "--build-id", "v1", "--yes")  # fmt: skip
            await routed(client, deployment, v1.task_queues, "v1")
            after = await run_to_learn(client, queue)
            assert await ran_on(after) == {"v1"}, await build_ids(after)
        assert v1.main is not None


def lines(process: WorkerProcess, event: str) -> Sequence[dict[str, Any]]:
    found = []
    for line in process.log_file.read_text().splitlines():
        if line.startswith("{") and f'"event": "{event}"' in line:
            found.append(json.loads(line))
    return found


async def wait_for_line(process: WorkerProcess, event: str) -> dict[str, Any]:
    for _ in range(300):
        if found := lines(process, event):
            return dict(found[-1])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event} line in {process.log_file}: {process.log_file.read_text()}")


async def test_a_workers_first_start_activates_its_version_and_a_second_build_waits(
    client: Client, stack: DevStack
) -> None:
    deployment, queue = f"it-{uuid.uuid4().hex[:12]}", f"first-{uuid.uuid4()}"

    def worker(build_id: str) -> WorkerProcess:
        env = {
            "CAMPAIGN_WORKER_VERSIONING": "true",
            "CAMPAIGN_DEPLOYMENT_NAME": deployment,
            "CAMPAIGN_BUILD_ID": build_id,
            "CAMPAIGN_LOG_FORMAT": "json",
        }
        return WorkerProcess(stack, f"worker-{build_id}-{uuid.uuid4().hex[:6]}", queue, env)

    first, second = worker("b1"), worker("b2")
    await asyncio.to_thread(first.start)
    try:
        assert (await wait_for_line(first, "worker_version"))["routing"] == "current"
        await asyncio.to_thread(second.start)
        try:
            inactive = await wait_for_line(second, "worker_version_inactive")
            assert inactive["routing"] == "inactive (current: b1)"
            assert inactive["activate"] == (
                "temporal worker deployment set-current-version "
                f"--deployment-name {deployment} --build-id b2"
            )
            handle = await run_to_learn(client, queue)
            assert await ran_on(handle) == {"b1"}, await build_ids(handle)
        finally:
            await asyncio.to_thread(second.stop)
    finally:
        await asyncio.to_thread(first.stop)
