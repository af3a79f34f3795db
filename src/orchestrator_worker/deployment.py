"""Worker Versioning: the version a worker registers as, and its first activation.

Every Worker of a process (the main task queue and each service's) registers as one version,
CAMPAIGN_DEPLOYMENT_NAME . CAMPAIGN_BUILD_ID, so that making a version current moves all its
queues together, and the server refuses to make current a version that lacks a queue of the
current one. The server routes each campaign's next workflow task to the deployment's current
(or ramping) version; a version that is neither gets no tasks. How to roll one out:
docs/changing-the-graph.md.

Every workflow runs AUTO_UPGRADE: its next workflow task goes to whichever version is current
then. A campaign may park in FAILED for days, and PINNED would keep each build's workers running
until its last campaign ends; with AUTO_UPGRADE, old workers can stop once the new version is
current, and `workflow.patched` (with replay tests of committed histories) keeps each change
replayable for the campaigns that started before it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.worker import WorkerDeploymentConfig

from orchestrator_connection.settings import Settings

REGISTER_TIMEOUT = 30.0  # seconds for the server to list this version after the first polls


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The Workers' versioning options; None when CAMPAIGN_WORKER_VERSIONING=false."""
    if not settings.worker_versioning:
        return None
    return WorkerDeploymentConfig(
        version=deployment_version(settings),
        use_worker_versioning=True,
        # Ours declare none (an unversioned worker may not report one): all AUTO_UPGRADE.
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


def deployment_version(settings: Settings) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(settings.deployment_name, settings.build_id)


@dataclass(frozen=True)
class Routing:
    """Where the deployment sends new tasks: the current build id (None: unversioned workers)
    and a ramping one with its percentage."""

    current: str | None
    ramping: str | None = None
    ramp_percentage: float = 0.0

    def serves(self, build_id: str) -> bool:
        """Whether new tasks go to this build (current, or ramping)."""
        return build_id in (self.current, self.ramping)

    def describe(self, build_id: str) -> str:
        if self.current == build_id:
            return "current"
        if self.ramping == build_id:
            return f"ramping at {self.ramp_percentage:g}%"
        return "inactive (current: " + (self.current or "unversioned workers") + ")"


async def activate_first_version(client: Client, version: WorkerDeploymentVersion) -> Routing:
    """Once this version is registered, make it current if the deployment has no current
    version yet (a first start); otherwise leave the routing as it is. Returns the routing."""
    described = await _wait_registered(client, version)
    routing = _routing(described)
    if routing.current is not None:
        return routing
    try:
        await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=version.deployment_name,
                build_id=version.build_id,
                conflict_token=described.conflict_token,
                identity=client.identity,
            )
        )
    except RPCError:
        pass  # another worker changed the routing first (a conflict): it decided
    return _routing(await _describe(client, version.deployment_name))


async def routing_of(client: Client, version: WorkerDeploymentVersion) -> Routing:
    """The deployment's routing, once this version is registered."""
    return _routing(await _wait_registered(client, version))


def set_current_command(version: WorkerDeploymentVersion) -> str:
    return (
        "temporal worker deployment set-current-version "
        f"--deployment-name {version.deployment_name} --build-id {version.build_id}"
    )


async def _wait_registered(
    client: Client, version: WorkerDeploymentVersion
) -> DescribeWorkerDeploymentResponse:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REGISTER_TIMEOUT
    while True:
        try:
            described = await _describe(client, version.deployment_name)
        except RPCError:
            described = None  # NotFound until the first poll registers the deployment
        if described is not None and any(
            s.deployment_version.build_id == version.build_id
            for s in described.worker_deployment_info.version_summaries
        ):
            return described
        if loop.time() > deadline:
            raise TimeoutError(
                f"the server did not list version {version.to_canonical_string()} of "
                f"deployment {version.deployment_name!r} within {REGISTER_TIMEOUT:g} s"
            )
        await asyncio.sleep(0.5)


async def _describe(client: Client, deployment_name: str) -> DescribeWorkerDeploymentResponse:
    return await client.workflow_service.describe_worker_deployment(
        DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
    )


def _routing(described: DescribeWorkerDeploymentResponse) -> Routing:
    config = described.worker_deployment_info.routing_config
    current = config.current_deployment_version.build_id or None
    ramping = config.ramping_deployment_version.build_id or None
    return Routing(current, ramping, config.ramping_version_percentage if ramping else 0.0)
