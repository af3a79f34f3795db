"""A campaign's status from Temporal visibility, with nothing more than the SDK's service client.

`campaign status` is the command operators run most; it reads one DescribeWorkflowExecution and
needs no worker, no data converter and (without CAMPAIGN_* settings) no settings, so it loads
neither `temporalio.client` nor pydantic-settings. `campaign_ops.campaign_status` (the REST
gateway, the other commands) goes through the same functions with a full client's service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from temporalio.api.common.v1 import WorkflowExecution as ProtoExecution
from temporalio.api.enums.v1 import (
    TaskQueueType,
    WorkerVersioningMode,
    WorkflowExecutionStatus,
)
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkerDeploymentRequest,
    DescribeWorkflowExecutionRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    WORKFLOW_ID_PREFIX,
    CampaignState,
    campaign_id_of,
    split_scheduled_workflow_id,
    workflow_id_for,
)
from orchestrator_client.campaign_errors import CampaignError, NoWorkerError, UnknownCampaignError
from orchestrator_connection.temporal_client import ServiceConnection
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from temporalio.api.workflow.v1 import WorkflowExecutionInfo
    from temporalio.converter import PayloadCodec

NAME_MEMO = "name"  # the brief's name, in the memo our clients set at start
RPC_TIMEOUT = timedelta(seconds=10)
# A live worker polls its task queue at least once a minute (a long poll lasts up to 60 s); a
# poller the server has not heard from for longer than this has gone.
POLLER_FRESH = timedelta(seconds=75)
_STATUS_PREFIX = "WORKFLOW_EXECUTION_STATUS_"
_PLAIN_JSON = b"json/plain"


# What a status read needs: the workflow service, the namespace, where they are (for messages)
# and the payload codec, if any, that a memo written through it needs.
Visibility = ServiceConnection


@dataclass(frozen=True)
class CampaignStatus:
    workflow_id: str
    run_id: str | None
    execution_status: str  # RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT, ...
    state: CampaignState | None
    failure_reason: str | None
    retry_count: int | None
    start_time: datetime | None
    close_time: datetime | None
    task_queue: str | None = None
    name: str | None = None  # the brief's name, from the memo our clients set at start
    paused: bool = False  # held by a `pause` at a step boundary
    pinned_build: str | None = None  # pinned to a build by a versioning override (a rollback)
    approvers: tuple[str, ...] | None = None  # waiting for a review: who may decide ("*": any)

    @property
    def running(self) -> bool:
        return self.execution_status == "RUNNING"

    @property
    def campaign_id(self) -> str:
        """A scheduled run's is derived from its template and time (contracts.names)."""
        derived = campaign_id_of(self.workflow_id)
        return str(derived) if derived else self.workflow_id.removeprefix(WORKFLOW_ID_PREFIX)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for `--json` output and the REST API."""
        return {
            "campaign_id": self.campaign_id,
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "execution_status": self.execution_status,
            "state": self.state.value if self.state else None,
            "failure_reason": self.failure_reason,
            "retry_count": self.retry_count,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "close_time": self.close_time.isoformat() if self.close_time else None,
            "task_queue": self.task_queue,
            "name": self.name,
            "paused": self.paused,
            "approvers": list(self.approvers) if self.approvers is not None else None,
        }


def workflow_id_from_ref(ref: str) -> str:
    """Accept a campaign id (UUID), a workflow id (campaign-<uuid>) or a scheduled run's
    workflow id (campaign-<uuid>-<scheduled time>)."""
    ref = ref.strip()
    if (scheduled := split_scheduled_workflow_id(ref)) is not None:
        template_id, at = scheduled
        return f"{workflow_id_for(template_id)}-{at}"
    raw = ref.removeprefix(WORKFLOW_ID_PREFIX)
    try:
        return workflow_id_for(UUID(raw))
    except ValueError:
        raise CampaignError(
            f"'{ref}' is not a campaign id (a UUID) or a workflow id (campaign-<uuid>, or a "
            "scheduled run's campaign-<uuid>-<time>)"
        ) from None


async def describe_campaign(
    temporal: Visibility, ref: str, run_id: str | None = None
) -> CampaignStatus:
    """From visibility: works without a worker, for running and closed campaigns. The latest
    run of the workflow id, or the run `run_id`."""
    workflow_id = workflow_id_from_ref(ref)
    try:
        described = await temporal.service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=temporal.namespace,
                execution=ProtoExecution(workflow_id=workflow_id, run_id=run_id or ""),
            ),
            retry=True,
            timeout=RPC_TIMEOUT,
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND and "amespace" not in err.message:
            raise UnknownCampaignError(f"no campaign with workflow id {workflow_id}") from None
        raise
    info = described.workflow_execution_info
    return status_of(info, await memo_name(info, temporal.codec))


def status_of(info: WorkflowExecutionInfo, name: str | None = None) -> CampaignStatus:
    """A campaign's status from its execution info (describe and list both carry one)."""
    status = WorkflowExecutionStatus.Name(info.status).removeprefix(_STATUS_PREFIX)
    state_value = _search_attribute(info, sa.CAMPAIGN_STATE.name)
    state = CampaignState(state_value) if state_value else None
    if status == "CANCELED":
        # Campaigns cancelled before CANCELLED existed carry FAILED; some never ran a task.
        state = CampaignState.CANCELLED
    retry_count = _search_attribute(info, sa.CAMPAIGN_RETRY_COUNT.name)
    return CampaignStatus(
        workflow_id=info.execution.workflow_id,
        run_id=info.execution.run_id or None,
        execution_status="UNKNOWN" if status == "UNSPECIFIED" else status,
        state=state,
        failure_reason=_search_attribute(info, sa.CAMPAIGN_FAILURE_REASON.name) or None,
        retry_count=int(retry_count) if retry_count is not None else None,
        start_time=info.start_time.ToDatetime(UTC) if info.HasField("start_time") else None,
        close_time=info.close_time.ToDatetime(UTC) if info.HasField("close_time") else None,
        task_queue=info.task_queue or None,
        name=name,
        paused=_search_attribute(info, sa.CAMPAIGN_PAUSED.name) is True,
        approvers=_keyword_list(info, sa.CAMPAIGN_APPROVERS.name),
        pinned_build=info.versioning_info.versioning_override.pinned.version.build_id or None,
    )


def _keyword_list(info: WorkflowExecutionInfo, key: str) -> tuple[str, ...] | None:
    payload = info.search_attributes.indexed_fields.get(key)
    if payload is None or not payload.data:
        return None
    value = json.loads(payload.data)
    return tuple(value) if isinstance(value, list) else (str(value),)


def _search_attribute(info: WorkflowExecutionInfo, key: str) -> Any:
    """A keyword or int search attribute's value: the server indexes them as plain JSON."""
    payload = info.search_attributes.indexed_fields.get(key)
    if payload is None or not payload.data:
        return None
    value = json.loads(payload.data)
    if isinstance(value, list):  # how some servers return a single keyword
        return value[0] if value else None
    return value


async def memo_name(info: WorkflowExecutionInfo, codec: PayloadCodec | None) -> str | None:
    """The brief's name from the memo, or None: no memo, another client's memo, or one that
    this client's codec cannot decode (an encrypted memo without the key)."""
    payload = info.memo.fields.get(NAME_MEMO)
    if payload is None:
        return None
    try:
        if codec is not None and payload.metadata.get("encoding") != _PLAIN_JSON:
            [payload] = await codec.decode([payload])
        name = json.loads(payload.data) if payload.metadata.get("encoding") == _PLAIN_JSON else None
    except Exception:  # an undecodable memo names nothing
        return None
    return name if isinstance(name, str) else None


async def worker_polling(temporal: Visibility, task_queue: str, activities: bool = False) -> bool:
    """Whether a live worker polls the task queue for workflow tasks (or, with `activities`,
    activity tasks), by its pollers' last access times: the server lists a stopped worker's
    poller for minutes."""
    return bool(await live_pollers(temporal, task_queue, activities))


async def live_pollers(
    temporal: Visibility, task_queue: str, activities: bool = False
) -> list[PollerInfo]:
    kind = (
        TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
        if activities
        else TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    )
    described = await temporal.service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=temporal.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=kind,
        ),
        timeout=RPC_TIMEOUT,
    )
    now = datetime.now(UTC)
    return [p for p in described.pollers if now - p.last_access_time.ToDatetime(UTC) < POLLER_FRESH]


async def inactive_versions_only(
    temporal: Visibility, task_queue: str, pinned_build: str | None = None
) -> str | None:
    """Why no task moves when every live poller of the queue is a versioned worker whose build
    gets no tasks (neither current nor ramping in its Worker Deployment, nor the build the
    campaign is pinned to); None otherwise."""
    pollers = await live_pollers(temporal, task_queue)
    builds: dict[str, set[str]] = {}
    for poller in pollers:
        options = poller.deployment_options
        if options.worker_versioning_mode != WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED:
            return None  # an unversioned worker takes the tasks no version gets
        builds.setdefault(options.deployment_name, set()).add(options.build_id)
    if not builds:
        return None
    notes = []
    for deployment, polling in sorted(builds.items()):
        try:
            described = await temporal.service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(
                    namespace=temporal.namespace, deployment_name=deployment
                ),
                timeout=RPC_TIMEOUT,
            )
        except RPCError:
            return None  # cannot tell: say nothing rather than something wrong
        routing = described.worker_deployment_info.routing_config
        served = {
            routing.current_deployment_version.build_id,
            routing.ramping_deployment_version.build_id,
            pinned_build or "",
        } - {""}
        if polling & served:
            return None
        build = next(iter(polling)) if len(polling) == 1 else "<build>"
        current = routing.current_deployment_version.build_id or "none"
        notes.append(
            f"only build {', '.join(sorted(polling))} of deployment {deployment} polls task "
            f"queue '{task_queue}', and it gets no tasks (current: {current}): start a worker "
            f"of the current build, or make this one current (`temporal worker deployment "
            f"set-current-version --deployment-name {deployment} --build-id {build}`)"
        )
    return "; ".join(notes) or None


async def step_waiting_for_worker(
    temporal: Visibility, task_queue: str, state: CampaignState
) -> str | None:
    """Why a running campaign at `state` does not move on, when no worker polls its step's
    service queue (None when one does, or the state is no step)."""
    from contracts import SERVICE_FOR_STATE, service_task_queue  # the models: only here

    service = SERVICE_FOR_STATE.get(state)
    if service is None:
        return None
    queue = service_task_queue(task_queue, service)
    if await worker_polling(temporal, queue, activities=True):
        return None
    return (
        f"waiting for a worker: none polls task queue '{queue}' for its {state} step "
        f"(`campaign-worker --services {service}`)"
    )


def no_worker(where: str, task_queue: str, what: str) -> NoWorkerError:
    """`what` says what cannot happen without one ("nobody can answer ...")."""
    return NoWorkerError(
        f"no worker is polling task queue '{task_queue}' ({where}): {what} "
        "(start one with `campaign-worker`)"
    )
