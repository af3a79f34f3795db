"""`campaign status` when the only live workers are of a build that gets no tasks: it says so,
and which command makes the build current (stand-ins for the server's two answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.deployment.v1 import (
    RoutingConfig,
    WorkerDeploymentInfo,
    WorkerDeploymentOptions,
    WorkerDeploymentVersion,
)
from temporalio.api.enums.v1 import WorkerVersioningMode
from temporalio.api.taskqueue.v1 import PollerInfo
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueResponse,
    DescribeWorkerDeploymentResponse,
)
from temporalio.service import WorkflowService

from orchestrator_client.campaign_lookup import inactive_versions_only
from orchestrator_connection.temporal_client import ServiceConnection

VERSIONED = WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED


def poller(build: str | None, age: timedelta = timedelta(seconds=5)) -> PollerInfo:
    seen = Timestamp()
    seen.FromDatetime(datetime.now(UTC) - age)
    options = (
        WorkerDeploymentOptions(
            deployment_name="campaign-orchestrator",
            build_id=build,
            worker_versioning_mode=VERSIONED,
        )
        if build
        else WorkerDeploymentOptions()
    )
    return PollerInfo(last_access_time=seen, deployment_options=options)


class Server:
    def __init__(self, pollers: list[PollerInfo], current: str, ramping: str = "") -> None:
        self.pollers, self.current, self.ramping = pollers, current, ramping

    async def describe_task_queue(self, *_: Any, **__: Any) -> DescribeTaskQueueResponse:
        return DescribeTaskQueueResponse(pollers=self.pollers)

    async def describe_worker_deployment(
        self, *_: Any, **__: Any
    ) -> DescribeWorkerDeploymentResponse:
        routing = RoutingConfig(
            current_deployment_version=WorkerDeploymentVersion(build_id=self.current),
            ramping_deployment_version=WorkerDeploymentVersion(build_id=self.ramping),
        )
        return DescribeWorkerDeploymentResponse(
            worker_deployment_info=WorkerDeploymentInfo(routing_config=routing)
        )


def temporal(server: Server) -> ServiceConnection:
    return ServiceConnection(cast(WorkflowService, server), "default", "localhost:7233")


async def test_only_an_inactive_build_polls_and_the_note_names_the_command() -> None:
    note = await inactive_versions_only(temporal(Server([poller("0.2.0")], "0.1.0")), "campaigns")
    assert note is not None
    assert (
        "only build 0.2.0 of deployment campaign-orchestrator polls task queue 'campaigns'" in note
    )
    assert "(current: 0.1.0)" in note
    assert (
        "temporal worker deployment set-current-version --deployment-name "
        "campaign-orchestrator --build-id 0.2.0" in note
    )


async def test_no_note_when_a_live_poller_gets_tasks() -> None:
    cases = [
        Server([poller("0.2.0"), poller("0.1.0")], "0.1.0"),  # the current build polls too
        Server([poller("0.2.0")], "0.1.0", ramping="0.2.0"),  # ramping: it gets some
        Server([poller("0.2.0"), poller(None)], "0.1.0"),  # an unversioned worker polls
        Server([poller("0.1.0")], "0.1.0"),
    ]
    for server in cases:
        assert await inactive_versions_only(temporal(server), "campaigns") is None


async def test_a_stopped_current_worker_does_not_count() -> None:
    stale = poller("0.1.0", age=timedelta(minutes=5))  # listed, but gone
    note = await inactive_versions_only(temporal(Server([stale, poller("0.2.0")], "0.1.0")), "q")
    assert note is not None and "only build 0.2.0" in note


async def test_a_campaign_pinned_to_the_polling_build_gets_no_note() -> None:
    server = Server([poller("0.2.0")], "0.1.0")  # a rollback pinned it to 0.2.0
    assert await inactive_versions_only(temporal(server), "q", pinned_build="0.2.0") is None
    assert await inactive_versions_only(temporal(server), "q", pinned_build="0.1.0") is not None
