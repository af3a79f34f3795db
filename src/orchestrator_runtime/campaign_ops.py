"""Client-side campaign operations shared by the starter, the demo and the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    StartBatchOperationRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    PAYLOAD_QUERY,
    RETRY_SIGNAL,
    START_SIGNAL,
    STATE_QUERY,
    WORKFLOW_TYPE,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    FailureReason,
    RetryRequest,
    StartRequest,
    workflow_id_for,
)
from workflows import CampaignWorkflow
from workflows import search_attributes as sa

# A published campaign can never be started again (no second publish); one that ended FAILED,
# cancelled or terminated can be started afresh under the same id.
ID_REUSE_POLICY = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
# retry_campaign's second look, which needs a worker: without one, refuse after this long.
STATE_QUERY_TIMEOUT = timedelta(seconds=5)


class CampaignError(RuntimeError):
    """An operator-facing error: the message is one clear line."""


class UnknownCampaignError(CampaignError):
    """No campaign with that id (HTTP 404)."""


class CampaignConflictError(CampaignError):
    """The campaign exists, but its state refuses the request (HTTP 409)."""


class NotRetryableError(CampaignConflictError):
    pass


class CampaignExistsError(CampaignConflictError):
    """A start for a campaign id that already has a workflow."""


class AlreadyStartedError(CampaignConflictError):
    """A `start` signal for a campaign that is already past IDLE."""


class CampaignClosedError(CampaignConflictError):
    """The campaign's workflow has ended: it takes no more signals."""


def workflow_id_from_ref(ref: str) -> str:
    """Accept a campaign id (UUID) or a workflow id (campaign-<uuid>)."""
    ref = ref.strip()
    raw = ref.removeprefix("campaign-")
    try:
        return workflow_id_for(UUID(raw))
    except ValueError:
        raise CampaignError(
            f"'{ref}' is not a campaign id (a UUID) or a workflow id (campaign-<uuid>)"
        ) from None


async def start_campaign(
    client: Client,
    campaign: CampaignInput,
    *,
    task_queue: str,
    id_reuse_policy: WorkflowIDReusePolicy = ID_REUSE_POLICY,
) -> WorkflowHandle[CampaignWorkflow, CampaignOutcome]:
    """Start the campaign's workflow. With start_immediately=False it waits in IDLE for `start`."""
    try:
        return await client.start_workflow(
            CampaignWorkflow.run,
            campaign,
            id=workflow_id_for(campaign.campaign_id),
            task_queue=task_queue,
            id_reuse_policy=id_reuse_policy,
            static_summary=f"Campaign {campaign.brief.name}",
            static_details=(
                f"**Objective:** {campaign.brief.objective}\n\n"
                f"**Audience:** {campaign.brief.audience}\n\n"
                f"**Channels:** {', '.join(campaign.brief.channels)}"
            ),
            # The first workflow task comes back in the start response when this client also
            # runs a worker for the queue (one matching round trip less); otherwise a no-op.
            request_eager_start=True,
        )
    except WorkflowAlreadyStartedError:
        raise CampaignExistsError(
            f"campaign {campaign.campaign_id} already exists "
            + (
                "(running, or already published)"
                if id_reuse_policy == ID_REUSE_POLICY
                else "(running or ended)"
            )
            + ": nothing was started"
        ) from None


@dataclass(frozen=True)
class CampaignStatus:
    workflow_id: str
    run_id: str | None
    execution_status: str
    state: CampaignState | None
    failure_reason: str | None
    retry_count: int | None
    start_time: datetime | None
    close_time: datetime | None

    @property
    def running(self) -> bool:
        return self.execution_status == WorkflowExecutionStatus.RUNNING.name

    @property
    def campaign_id(self) -> str:
        return self.workflow_id.removeprefix("campaign-")

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
        }


async def campaign_status(client: Client, ref: str) -> CampaignStatus:
    """From visibility (describe): works without a worker, for running and closed campaigns."""
    workflow_id = workflow_id_from_ref(ref)
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise UnknownCampaignError(f"no campaign with workflow id {workflow_id}") from None
        raise
    return _status_of(desc)


def _status_of(execution: WorkflowExecution) -> CampaignStatus:
    attrs = execution.typed_search_attributes
    state = attrs.get(sa.CAMPAIGN_STATE)
    return CampaignStatus(
        workflow_id=execution.id,
        run_id=execution.run_id,
        execution_status=execution.status.name if execution.status else "UNKNOWN",
        state=CampaignState(state) if state else None,
        failure_reason=attrs.get(sa.CAMPAIGN_FAILURE_REASON),
        retry_count=attrs.get(sa.CAMPAIGN_RETRY_COUNT),
        start_time=execution.start_time,
        close_time=execution.close_time,
    )


async def campaign_payload(
    client: Client, ref: str, *, rpc_timeout: timedelta | None = None
) -> CampaignPayload:
    """The full payload and execution log, by query (needs a worker, also for closed campaigns)."""
    await campaign_status(client, ref)  # a clear error for an unknown campaign
    handle = client.get_workflow_handle(workflow_id_from_ref(ref))
    payload: CampaignPayload = await handle.query(
        PAYLOAD_QUERY, result_type=CampaignPayload, rpc_timeout=rpc_timeout
    )
    return payload


async def retry_campaign(client: Client, ref: str, request: RetryRequest) -> CampaignStatus:
    """Signal `retry`, after checking the campaign is open and parked in FAILED."""
    status = await campaign_status(client, ref)
    if not status.running:
        raise NotRetryableError(
            f"campaign {status.workflow_id} is closed ({status.execution_status}, state "
            f"{status.state}); start it again instead"
        )
    handle = client.get_workflow_handle(status.workflow_id)
    state = status.state
    if state is not CampaignState.FAILED:
        # The search attribute trails the workflow by the workflow task in flight (the one that
        # parks it, say): before refusing, ask the workflow itself.
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            state = await handle.query(
                STATE_QUERY, result_type=CampaignState, rpc_timeout=STATE_QUERY_TIMEOUT
            )
    if state is not CampaignState.FAILED:
        raise NotRetryableError(
            f"campaign {status.workflow_id} is {state}, not FAILED: nothing to retry"
        )
    await handle.signal(RETRY_SIGNAL, request)
    return status


# ---- visibility: find campaigns by state, reason, execution status ---------------------------


def visibility_status(status: WorkflowExecutionStatus) -> str:
    """Visibility's ExecutionStatus value: RUNNING -> Running, TIMED_OUT -> TimedOut."""
    return "".join(word.capitalize() for word in status.name.split("_"))


def _quoted(value: str) -> str:
    if "'" in value or '"' in value or "\\" in value:
        raise CampaignError(f"{value!r}: quotes and backslashes are not allowed in a filter")
    return f"'{value}'"


def _one_of(field: str, values: Sequence[str]) -> str:
    if len(values) == 1:
        return f"{field} = {_quoted(values[0])}"
    return f"{field} IN ({', '.join(_quoted(v) for v in values)})"


def visibility_query(
    *,
    states: Sequence[CampaignState] = (),
    execution_statuses: Sequence[WorkflowExecutionStatus] = (),
    failure_reasons: Sequence[FailureReason] = (),
    task_queue: str | None = None,
) -> str:
    """A visibility (list filter) query over campaigns, the same one the Web UI accepts."""
    clauses = [f"WorkflowType = {_quoted(WORKFLOW_TYPE)}"]
    if states:
        clauses.append(_one_of(sa.CAMPAIGN_STATE.name, [s.value for s in states]))
    if failure_reasons:
        clauses.append(_one_of(sa.CAMPAIGN_FAILURE_REASON.name, [r.value for r in failure_reasons]))
    if execution_statuses:
        clauses.append(
            _one_of("ExecutionStatus", [visibility_status(s) for s in execution_statuses])
        )
    if task_queue:
        clauses.append(f"TaskQueue = {_quoted(task_queue)}")
    return " AND ".join(clauses)


async def list_campaigns(
    client: Client, query: str, *, limit: int | None = 100
) -> list[CampaignStatus]:
    """Campaigns matching a visibility query, newest first (needs no worker)."""
    return [_status_of(execution) async for execution in client.list_workflows(query, limit=limit)]


async def count_campaigns(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


# ---- create-then-start, cancel ---------------------------------------------------------------


async def send_start(
    client: Client, ref: str, request: StartRequest, *, rpc_timeout: timedelta | None = None
) -> CampaignStatus:
    """Signal `start` to a campaign created with start_immediately=False and still in IDLE."""
    status = await campaign_status(client, ref)
    if not status.running:
        raise CampaignClosedError(
            f"campaign {status.workflow_id} has ended ({status.execution_status}): "
            "it cannot be started"
        )
    payload = await campaign_payload(client, status.workflow_id, rpc_timeout=rpc_timeout)
    started = any(entry.action == "campaign_started" for entry in payload.execution_log)
    if payload.state is not CampaignState.IDLE or started:
        raise AlreadyStartedError(
            f"campaign {status.workflow_id} is already started (state {payload.state})"
        )
    await client.get_workflow_handle(status.workflow_id).signal(START_SIGNAL, request)
    return status


async def cancel_campaign(client: Client, ref: str) -> CampaignStatus:
    """Request cancellation: the workflow logs `campaign_cancelled` and ends as cancelled."""
    status = await campaign_status(client, ref)
    if not status.running:
        raise CampaignClosedError(
            f"campaign {status.workflow_id} has already ended ({status.execution_status}): "
            "nothing to cancel"
        )
    await client.get_workflow_handle(status.workflow_id).cancel()
    return status


# ---- retry every FAILED campaign -------------------------------------------------------------


@dataclass(frozen=True)
class BulkRetryResult:
    query: str
    matched: int
    signalled: int
    failed: int
    method: str  # "batch" (a server-side batch operation) or "one-by-one"
    job_id: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "matched": self.matched,
            "signalled": self.signalled,
            "failed": self.failed,
            "method": self.method,
            "job_id": self.job_id,
            "note": self.note,
        }


# The server refuses a batch operation with these when it has them disabled, limited or absent.
_BATCH_UNAVAILABLE = (
    RPCStatusCode.UNIMPLEMENTED,
    RPCStatusCode.PERMISSION_DENIED,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)


async def retry_all_failed(
    client: Client,
    request: RetryRequest,
    *,
    task_queue: str | None = None,
    failure_reasons: Sequence[FailureReason] = (),
    one_by_one: bool = False,
    wait_seconds: float = 60.0,
    concurrency: int = 20,
) -> BulkRetryResult:
    """Signal `retry` to every running campaign parked in FAILED (optionally only some reasons).

    Uses one server-side batch signal operation chosen by a visibility query, and waits for it to
    finish. Where the server has no batch operations (or `one_by_one`), lists the campaigns and
    signals each. Campaigns with no retries left log `retry_refused` and stay FAILED."""
    query = visibility_query(
        states=[CampaignState.FAILED],
        execution_statuses=[WorkflowExecutionStatus.RUNNING],
        failure_reasons=failure_reasons,
        task_queue=task_queue,
    )
    matched = await count_campaigns(client, query)
    if matched == 0:
        return BulkRetryResult(query, 0, 0, 0, "none")
    note = None
    if not one_by_one:
        try:
            return await _batch_signal(client, query, matched, request, wait_seconds)
        except RPCError as err:
            if err.status not in _BATCH_UNAVAILABLE:
                raise
            note = f"batch operation refused by the server ({err.status.name}: {err.message})"
    return await _signal_each(client, query, request, concurrency, note)


async def _batch_signal(
    client: Client, query: str, matched: int, request: RetryRequest, wait_seconds: float
) -> BulkRetryResult:
    job_id = f"retry-all-failed-{uuid4()}"
    payloads = await client.data_converter.encode([request])
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace=client.namespace,
            job_id=job_id,
            visibility_query=query,
            reason=f"campaign retry --all-failed by {request.requested_by}",
            signal_operation=BatchOperationSignal(
                signal=RETRY_SIGNAL,
                input=Payloads(payloads=payloads),
                identity=client.identity,
            ),
        )
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        desc = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id)
        )
        if desc.state != BatchOperationState.BATCH_OPERATION_STATE_RUNNING:
            break
        if loop.time() > deadline:
            return BulkRetryResult(
                query, matched, desc.complete_operation_count, desc.failure_operation_count,
                "batch", job_id, f"still running after {wait_seconds:.0f}s",
            )  # fmt: skip
        await asyncio.sleep(0.2)
    note = None
    if desc.state == BatchOperationState.BATCH_OPERATION_STATE_FAILED:
        note = "the batch operation failed; see `temporal batch describe --job-id " + job_id + "`"
    return BulkRetryResult(
        query, matched, desc.complete_operation_count, desc.failure_operation_count,
        "batch", job_id, note,
    )  # fmt: skip


async def _signal_each(
    client: Client, query: str, request: RetryRequest, concurrency: int, note: str | None
) -> BulkRetryResult:
    targets = [s.workflow_id async for s in _iter_ids(client, query)]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def signal(workflow_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).signal(RETRY_SIGNAL, request)
            except RPCError:
                return False  # ended meanwhile, or the server refused it
            return True

    results = await asyncio.gather(*(signal(w) for w in targets))
    ok = sum(results)
    return BulkRetryResult(query, len(targets), ok, len(targets) - ok, "one-by-one", None, note)


async def _iter_ids(client: Client, query: str) -> AsyncIterator[CampaignStatus]:
    async for execution in client.list_workflows(query):
        yield _status_of(execution)
