"""Client-side campaign operations shared by the starter, the demo and the tests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import uuid4

from pydantic import ValidationError
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.common.v1 import WorkflowExecution as ProtoExecution
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import (
    DescribeBatchOperationRequest,
    GetSystemInfoRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    StartBatchOperationRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    ANYONE,
    APPROVE_UPDATE,
    PAUSE_UPDATE,
    PAYLOAD_QUERY,
    REJECT_UPDATE,
    REQUEST_CHANGES_UPDATE,
    RESUME_UPDATE,
    RETRY_SIGNAL,
    RETRY_UPDATE,
    START_UPDATE,
    WORKFLOW_TYPE,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Decision,
    FailureReason,
    LogAction,
    PauseAccepted,
    PauseRequest,
    Refusal,
    RetryAccepted,
    RetryRequest,
    ReviewAccepted,
    ReviewRequest,
    StartAccepted,
    StartRequest,
    split_scheduled_workflow_id,
    workflow_id_for,
)
from orchestrator_client import campaign_lookup as lookup
from orchestrator_client.campaign_errors import (
    CampaignClosedError,
    CampaignConflictError,
    CampaignError,
    CampaignExistsError,
    CampaignWedgedError,
    CommandRefused,
    NoWorkerError,
    UnknownCampaignError,
)
from orchestrator_client.campaign_lookup import (
    NAME_MEMO,
    CampaignStatus,
    Visibility,
    describe_campaign,
    memo_name,
    status_of,
)
from orchestrator_client.campaign_lookup import workflow_id_from_ref as workflow_id_from_ref
from orchestrator_connection.temporal_client import where
from workflows import search_attributes as sa

# A published campaign can never be started again (no second publish); one that ended FAILED,
# cancelled or terminated can be started afresh under the same id.
ID_REUSE_POLICY = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
# An update or a query needs a worker to answer it: give up waiting after this long.
UPDATE_TIMEOUT = timedelta(seconds=10)
QUERY_TIMEOUT = timedelta(seconds=5)  # a polling worker answers a query in milliseconds
AnswerT = TypeVar("AnswerT", RetryAccepted, StartAccepted, ReviewAccepted, PauseAccepted)


# True from the start (the graph begins in IDLE), before a worker runs a task.
STARTING_ATTRIBUTES = TypedSearchAttributes(
    [
        SearchAttributePair(sa.CAMPAIGN_STATE, CampaignState.IDLE.value),
        SearchAttributePair(sa.CAMPAIGN_RETRY_COUNT, 0),
    ]
)


def brief_details(brief: CampaignBrief) -> str:
    """The Web UI's static details of a campaign: its brief in markdown."""
    return (
        f"**Objective:** {brief.objective}\n\n"
        f"**Audience:** {brief.audience}\n\n"
        f"**Channels:** {', '.join(brief.channels)}"
    )


def target(client: Client) -> str:
    """Which server and namespace a client asks: for every error message."""
    return where(client.service_client.config.target_host, client.namespace)


def visibility(client: Client) -> Visibility:
    return Visibility(
        service=client.workflow_service,
        namespace=client.namespace,
        target_host=client.service_client.config.target_host,
        codec=client.data_converter.payload_codec,
    )


async def worker_polling(client: Client, task_queue: str) -> bool:
    """Whether a live worker polls the task queue for workflow tasks."""
    return await lookup.worker_polling(visibility(client), task_queue)


def no_worker(client: Client, task_queue: str, what: str) -> NoWorkerError:
    return lookup.no_worker(target(client), task_queue, what)


async def require_worker(client: Client, task_queue: str, what: str) -> None:
    """NoWorkerError at once when no live worker polls the task queue; `what` says what then
    cannot happen ("nobody can answer the query of campaign-...")."""
    if not await worker_polling(client, task_queue):
        raise no_worker(client, task_queue, what)


async def start_campaign(
    client: Client,
    campaign: CampaignInput,
    *,
    task_queue: str,
    id_reuse_policy: WorkflowIDReusePolicy = ID_REUSE_POLICY,
    workflow_type: str = WORKFLOW_TYPE,  # another only for the benchmark's variants
) -> WorkflowHandle[Any, CampaignOutcome]:
    """Start the campaign's workflow. With start_immediately=False it waits in IDLE for `start`."""
    try:
        return await client.start_workflow(
            workflow_type,  # by name: clients need not load the workflow's code
            campaign,
            id=workflow_id_for(campaign.campaign_id),
            result_type=CampaignOutcome,
            task_queue=task_queue,
            id_reuse_policy=id_reuse_policy,
            # Its workflow tasks go by the keys its steps go by (CampaignInput.brand, .priority).
            priority=Priority(priority_key=campaign.priority, fairness_key=campaign.brand),
            static_summary=f"Campaign {campaign.brief.name}",
            memo={NAME_MEMO: campaign.brief.name},  # for `campaign list` (visibility carries it)
            search_attributes=STARTING_ATTRIBUTES,
            static_details=brief_details(campaign.brief),
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


async def campaign_status(client: Client, ref: str) -> CampaignStatus:
    """From visibility (describe): works without a worker, for running and closed campaigns."""
    return await describe_campaign(visibility(client), ref)


async def campaign_payload(
    client: Client, ref: str, *, rpc_timeout: timedelta = QUERY_TIMEOUT
) -> CampaignPayload:
    """The full payload and execution log, by query (needs a worker, also for closed campaigns):
    UnknownCampaignError, NoWorkerError (at once when none polls) or CampaignWedgedError."""
    status = await campaign_status(client, ref)
    if status.task_queue:
        await require_worker(
            client, status.task_queue, f"nothing can answer for {status.workflow_id}"
        )
    handle = client.get_workflow_handle(status.workflow_id)
    try:
        payload: CampaignPayload = await handle.query(
            PAYLOAD_QUERY, result_type=CampaignPayload, rpc_timeout=rpc_timeout
        )
    except WorkflowQueryFailedError as err:
        raise CampaignWedgedError(
            f"the worker cannot answer for {status.workflow_id}: {_first_line(str(err))}"
        ) from None
    except ValidationError:  # the placeholder of a run whose start input was refused
        raise CampaignClosedError(
            f"{status.workflow_id} never ran: {await _failure_of(handle)}"
        ) from None
    except RPCError as err:
        if not no_answer(err):
            raise
        if wedged := await wedged_reason(client, status.workflow_id):
            raise CampaignWedgedError(
                f"the worker cannot answer for {status.workflow_id}: {wedged}"
            ) from None
        raise NoWorkerError(
            f"no worker answered for {status.workflow_id} within "
            f"{rpc_timeout.total_seconds():g}s (task queue '{status.task_queue}')"
        ) from None
    return payload


async def _failure_of(handle: WorkflowHandle[Any, Any]) -> str:
    """Why a closed run failed, in one line (its failure's message)."""
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as err:
        cause = err.cause
        return _first_line(cause.message if isinstance(cause, FailureError) else str(err))
    return "its payload does not decode"


def no_answer(err: RPCError) -> bool:
    """A call that waited for a worker in vain (the rpc_timeout shows as CANCELLED)."""
    return (
        err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
        or "no poller seen" in err.message
    )


async def wedged_reason(client: Client, workflow_id: str) -> str | None:
    """Why a running campaign's workflow task keeps failing (the worker's last error, from
    history), or None when it does not: a wedged campaign answers no query or update."""
    desc = await client.get_workflow_handle(workflow_id).describe()
    pending = desc.raw_description.pending_workflow_task
    if pending.attempt <= 1:
        return None
    reply = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=ProtoExecution(workflow_id=workflow_id),
            maximum_page_size=20,
        )
    )
    failed = next(
        (e for e in reply.history.events if e.HasField("workflow_task_failed_event_attributes")),
        None,
    )
    why = (
        _first_line(failed.workflow_task_failed_event_attributes.failure.message)
        if failed is not None
        else "no failure recorded"
    )
    return (
        f"its workflow task has failed {pending.attempt - 1} times ({why}); see its event "
        "history in the Web UI"
    )


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def retry_campaign(
    client: Client,
    ref: str,
    request: RetryRequest,
    *,
    rpc_timeout: timedelta = UPDATE_TIMEOUT,
    check_worker: bool = True,
) -> RetryAccepted:
    """Ask the workflow to retry (the `request_retry` update): its answer, or CommandRefused
    (NoWorkerError at once when no worker polls its task queue, unless check_worker is off)."""
    return await _update(
        client, ref, RETRY_UPDATE, "retry", request, RetryAccepted, rpc_timeout, check_worker
    )


async def _update(
    client: Client,
    ref: str,
    update: str,
    command: str,
    request: RetryRequest | StartRequest | ReviewRequest | PauseRequest,
    answer: type[AnswerT],
    rpc_timeout: timedelta,
    check_worker: bool = True,
) -> AnswerT:
    """One update, its refusals and failures each turned into one clear error."""
    status = await campaign_status(client, ref)
    workflow_id = status.workflow_id
    if not status.running:
        raise CommandRefused(Refusal.CAMPAIGN_ENDED, workflow_id, command, _ended(status))
    if check_worker and status.task_queue:
        await require_worker(
            client, status.task_queue, f"nothing can answer the {command} of {workflow_id}"
        )
    handle = client.get_workflow_handle(workflow_id)
    try:
        result: AnswerT = await handle.execute_update(
            update, request, result_type=answer, rpc_timeout=rpc_timeout
        )
        return result
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in Refusal.__members__:
            refusal = Refusal(str(cause.type))
            raise CommandRefused(refusal, workflow_id, command, cause.message) from None
        raise CampaignConflictError(
            f"campaign {workflow_id} did not take the {command}: {cause}"
        ) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        if wedged := await wedged_reason(client, workflow_id):
            raise CampaignWedgedError(
                f"the worker cannot answer the {command} of {workflow_id}: {wedged}; the "
                f"{command} may still be applied once it is fixed"
            ) from None
        raise NoWorkerError(
            f"no worker answered the {command} of campaign {workflow_id} within "
            f"{rpc_timeout.total_seconds():g}s: it may still be applied when a worker picks it "
            f"up (see `campaign status {workflow_id}`)"
        ) from None
    except RPCError as err:
        if no_answer(err):
            raise NoWorkerError(
                f"no worker answered the {command} of campaign {workflow_id} within "
                f"{rpc_timeout.total_seconds():g}s"
            ) from None
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    # NOT_FOUND: it has closed since it was described.
    status = await campaign_status(client, workflow_id)
    if status.running:
        raise CampaignConflictError(f"campaign {workflow_id}: the server did not find it running")
    raise CommandRefused(Refusal.CAMPAIGN_ENDED, workflow_id, command, _ended(status))


def _ended(status: CampaignStatus) -> str:
    how = status.execution_status + (f", state {status.state}" if status.state else "")
    published = status.execution_status == WorkflowExecutionStatus.COMPLETED.name or (
        status.failure_reason == FailureReason.ALREADY_PUBLISHED.value
    )
    if published:
        return f"it has ended ({how}): it published, and publishes once; start a new campaign id"
    if scheduled := split_scheduled_workflow_id(status.workflow_id):
        at = scheduled[1]
        return (
            f"it has ended ({how}): run its time again (`campaign schedule backfill <schedule> "
            f"--start {at} --end {at}`)"
        )
    return (
        f"it has ended ({how}): start it again (`campaign start -f <file> --campaign-id "
        f"{status.campaign_id}`; one that published before ends at once), or a new campaign id"
    )


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


# Campaigns cancelled before CANCELLED existed carry CampaignState FAILED: their execution status
# says they were cancelled.
_CANCELED = f"ExecutionStatus = {_quoted(visibility_status(WorkflowExecutionStatus.CANCELED))}"


def _states_clause(states: Sequence[CampaignState]) -> str:
    plain = [s.value for s in dict.fromkeys(states) if s not in _CANCEL_AWARE]
    parts = [_one_of(sa.CAMPAIGN_STATE.name, plain)] if plain else []
    if CampaignState.FAILED in states:
        parts.append(f"({sa.CAMPAIGN_STATE.name} = 'FAILED' AND NOT {_CANCELED})")
    if CampaignState.CANCELLED in states:
        parts.append(f"({sa.CAMPAIGN_STATE.name} = 'CANCELLED' OR {_CANCELED})")
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


_CANCEL_AWARE = (CampaignState.FAILED, CampaignState.CANCELLED)


def visibility_query(
    *,
    states: Sequence[CampaignState] = (),
    execution_statuses: Sequence[WorkflowExecutionStatus] = (),
    failure_reasons: Sequence[FailureReason] = (),
    task_queue: str | None = None,
    approver: str | None = None,
    paused: bool = False,
) -> str:
    """A visibility (list filter) query over campaigns, the same one the Web UI accepts.
    `approver`: those waiting for a review that this person (or anyone) may decide."""
    clauses = [f"WorkflowType = {_quoted(WORKFLOW_TYPE)}"]
    if states:
        clauses.append(_states_clause(states))
    if failure_reasons:
        clauses.append(_one_of(sa.CAMPAIGN_FAILURE_REASON.name, [r.value for r in failure_reasons]))
    if execution_statuses:
        clauses.append(
            _one_of("ExecutionStatus", [visibility_status(s) for s in execution_statuses])
        )
    if task_queue:
        clauses.append(f"TaskQueue = {_quoted(task_queue)}")
    if approver:
        clauses.append(_one_of(sa.CAMPAIGN_APPROVERS.name, [approver, ANYONE]))
    if paused:
        clauses.append(f"{sa.CAMPAIGN_PAUSED.name} = true")
    return " AND ".join(clauses)


async def list_campaigns(
    client: Client, query: str, *, limit: int | None = 100
) -> list[CampaignStatus]:
    """Campaigns matching a visibility query, newest first (needs no worker)."""
    codec = client.data_converter.payload_codec
    return [
        status_of(execution.raw_info, await memo_name(execution.raw_info, codec))
        async for execution in client.list_workflows(query, limit=limit)
    ]


async def count_campaigns(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


# ---- a person in the loop: review decisions, pause and resume --------------------------------

REVIEW_UPDATES = {
    Decision.APPROVE: APPROVE_UPDATE,
    Decision.REJECT: REJECT_UPDATE,
    Decision.REQUEST_CHANGES: REQUEST_CHANGES_UPDATE,
}


async def review_campaign(
    client: Client,
    ref: str,
    decision: Decision,
    request: ReviewRequest,
    *,
    rpc_timeout: timedelta = UPDATE_TIMEOUT,
) -> ReviewAccepted:
    """A reviewer's decision on the revision waiting for approval: the workflow's answer, or
    CommandRefused (not waiting, not an approver, another revision, already decided, ...)."""
    update = REVIEW_UPDATES[decision]
    command = decision.value.replace("_", " ")
    return await _update(client, ref, update, command, request, ReviewAccepted, rpc_timeout)


async def waiting_revision(client: Client, ref: str) -> int:
    """The content revision the campaign waits for a decision on (a payload query), or
    CommandRefused NOT_AWAITING_APPROVAL."""
    status = await campaign_status(client, ref)
    if not status.running:
        raise CommandRefused(Refusal.CAMPAIGN_ENDED, status.workflow_id, "review", _ended(status))
    payload = await campaign_payload(client, ref)
    if payload.approval is None:
        raise CommandRefused(
            Refusal.NOT_AWAITING_APPROVAL,
            workflow_id_from_ref(ref),
            "review",
            f"campaign is {payload.state}: it waits for no decision now",
        )
    return payload.approval.revision


async def pause_campaign(
    client: Client, ref: str, request: PauseRequest, *, rpc_timeout: timedelta = UPDATE_TIMEOUT
) -> PauseAccepted:
    """Hold the campaign at its next step boundary (the `pause` update)."""
    return await _update(client, ref, PAUSE_UPDATE, "pause", request, PauseAccepted, rpc_timeout)


async def resume_campaign(
    client: Client, ref: str, request: PauseRequest, *, rpc_timeout: timedelta = UPDATE_TIMEOUT
) -> PauseAccepted:
    """Let a paused campaign go on (the `resume` update)."""
    return await _update(client, ref, RESUME_UPDATE, "resume", request, PauseAccepted, rpc_timeout)


# ---- create-then-start, cancel ---------------------------------------------------------------


async def send_start(
    client: Client, ref: str, request: StartRequest, *, rpc_timeout: timedelta = UPDATE_TIMEOUT
) -> StartAccepted:
    """Ask a campaign created with start_immediately=False to start (the `request_start`
    update): its answer, or CommandRefused."""
    return await _update(client, ref, START_UPDATE, "start", request, StartAccepted, rpc_timeout)


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
    signalled: int  # delivered: signals the server took, or updates the workflows answered
    failed: int  # not delivered
    method: str  # "batch" (a server-side batch operation), "one-by-one" (an update each), "none"
    job_id: str | None = None
    note: str | None = None
    rate: float = 0.0  # the operations per second asked for
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # Refusal (or the log's why) -> count
    unanswered: int = 0  # delivered, but no answer was read back in time

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "matched": self.matched,
            "signalled": self.signalled,
            "failed": self.failed,
            "method": self.method,
            "job_id": self.job_id,
            "note": self.note,
            "rate": self.rate,
            "accepted": self.accepted,
            "refused": dict(self.refused),
            "unanswered": self.unanswered,
        }


# The server refuses a batch operation with these when it has them disabled, limited or absent.
_BATCH_UNAVAILABLE = (
    RPCStatusCode.UNIMPLEMENTED,
    RPCStatusCode.PERMISSION_DENIED,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)
# From 1.29 the server paces a batch by its dynamic config `worker.batcherRPS` (default 50) and
# ignores the request's max_operations_per_second (temporalio/temporal#8081).
_RATE_IGNORED_FROM = (1, 29)
DEFAULT_RETRY_RATE = 50.0


async def retry_all_failed(
    client: Client,
    request: RetryRequest,
    *,
    task_queue: str | None = None,
    failure_reasons: Sequence[FailureReason] = (),
    one_by_one: bool = False,
    rate: float = DEFAULT_RETRY_RATE,
    wait_seconds: float = 60.0,
    answer_seconds: float = 30.0,
    concurrency: int = 20,
) -> BulkRetryResult:
    """Retry every running campaign parked in FAILED (optionally only some reasons).

    Sends one server-side batch `retry` signal chosen by a visibility query (at most `rate` a
    second), waits for it to finish, then reads each campaign's log for the workflow's answer
    (accepted, or refused and why). Where the server has no batch operations (or `one_by_one`),
    sends each campaign the `request_retry` update instead, at most `rate` a second, and gets
    each answer directly."""
    query = visibility_query(
        states=[CampaignState.FAILED],
        execution_statuses=[WorkflowExecutionStatus.RUNNING],
        failure_reasons=failure_reasons,
        task_queue=task_queue,
    )
    found = await list_campaigns(client, query, limit=None)
    if not found:
        return BulkRetryResult(query, 0, 0, 0, "none")
    queues = sorted({s.task_queue for s in found if s.task_queue})
    idle = [q for q in queues if not await worker_polling(client, q)]
    if idle and (one_by_one or len(idle) == len(queues)):
        # Nothing could answer: say so at once rather than wait for answers that cannot come.
        raise no_worker(client, ", ".join(idle), "no FAILED campaign there can take a retry")
    answerable = [s.workflow_id for s in found if s.task_queue not in idle]
    targets = [s.workflow_id for s in found]
    note = (
        f"no worker polls task queue {', '.join(repr(q) for q in idle)}: the retry signal waits "
        "there for one, and those campaigns' answers were not read"
        if idle
        else None
    )
    if not one_by_one:
        try:
            result = await _batch_signal(
                client, query, targets, answerable, request, rate, wait_seconds,
                answer_seconds, concurrency,
            )  # fmt: skip
            if note:
                notes = "; ".join(n for n in (note, result.note) if n)
                result = dataclasses.replace(result, note=notes)
            return result
        except RPCError as err:
            if err.status not in _BATCH_UNAVAILABLE:
                raise
            note = f"batch operation refused by the server ({err.status.name}: {err.message})"
    return await _update_each(client, query, targets, request, rate, concurrency, note)


async def _batch_signal(
    client: Client,
    query: str,
    targets: list[str],
    answerable: list[str],
    request: RetryRequest,
    rate: float,
    wait_seconds: float,
    answer_seconds: float,
    concurrency: int,
) -> BulkRetryResult:
    job_id = f"retry-all-failed-{uuid4()}"
    payloads = await client.data_converter.encode([request])
    await client.workflow_service.start_batch_operation(
        StartBatchOperationRequest(
            namespace=client.namespace,
            job_id=job_id,
            visibility_query=query,
            reason=f"campaign retry --all-failed by {request.requested_by}",
            max_operations_per_second=rate,
            signal_operation=BatchOperationSignal(
                signal=RETRY_SIGNAL,
                input=Payloads(payloads=payloads),
                identity=client.identity,
            ),
        )
    )
    notes = [await _rate_note(client, rate)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        desc = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id)
        )
        if desc.state != BatchOperationState.BATCH_OPERATION_STATE_RUNNING:
            break
        if loop.time() > deadline:
            notes.append(f"still running after {wait_seconds:.0f}s")
            break
        await asyncio.sleep(0.2)
    if desc.state == BatchOperationState.BATCH_OPERATION_STATE_FAILED:
        notes.append(
            "the batch operation failed; see `temporal batch describe --job-id " + job_id + "`"
        )
    answers = await _read_answers(
        client, answerable, desc.start_time.ToDatetime(), request.requested_by,
        answer_seconds, concurrency,
    )  # fmt: skip
    answers += [None] * (len(targets) - len(answerable))
    refused = Counter(a for a in answers if a not in (_ACCEPTED, None))
    return BulkRetryResult(
        query, len(targets), desc.complete_operation_count, desc.failure_operation_count,
        "batch", job_id, "; ".join(n for n in notes if n) or None, rate,
        accepted=answers.count(_ACCEPTED), refused=dict(refused), unanswered=answers.count(None),
    )  # fmt: skip


async def _rate_note(client: Client, rate: float) -> str | None:
    """Say so when the server ignores the rate asked for (its version says whether)."""
    try:
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        version = tuple(int(n) for n in info.server_version.split(".")[:2])
    except (RPCError, ValueError):
        return None
    if version < _RATE_IGNORED_FROM:
        return None
    return (
        f"this server ({info.server_version}) paces batch operations by its own "
        f"worker.batcherRPS setting (default 50/s), not by the {rate:g}/s asked for"
    )


_ACCEPTED = "accepted"


async def _read_answers(
    client: Client,
    targets: list[str],
    since: datetime,
    requested_by: str,
    answer_seconds: float,
    concurrency: int,
) -> list[str | None]:
    """Per campaign, the workflow's answer to the batch signal, from its execution log: the
    first retry_accepted / retry_refused entry by `requested_by` since the batch began (its
    Refusal, or its `why` for campaigns started before refusals were typed); None if none
    appeared within answer_seconds (or no worker answered the query)."""
    gate = asyncio.Semaphore(max(1, concurrency))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + answer_seconds
    since = since.replace(tzinfo=since.tzinfo or UTC)

    async def answer(workflow_id: str) -> str | None:
        handle = client.get_workflow_handle(workflow_id)
        async with gate:
            while True:
                try:
                    payload: CampaignPayload = await handle.query(
                        PAYLOAD_QUERY, result_type=CampaignPayload, rpc_timeout=UPDATE_TIMEOUT
                    )
                except (RPCError, WorkflowQueryFailedError):
                    return None
                for entry in payload.execution_log:
                    if entry.at < since or entry.details.get("requested_by") != requested_by:
                        continue
                    if entry.action == LogAction.RETRY_ACCEPTED:
                        return _ACCEPTED
                    if entry.action == LogAction.RETRY_REFUSED:
                        return str(entry.details.get("refusal") or entry.details.get("why"))
                if loop.time() > deadline:
                    return None
                await asyncio.sleep(0.2)

    return list(await asyncio.gather(*(answer(w) for w in targets)))


async def _update_each(
    client: Client,
    query: str,
    targets: list[str],
    request: RetryRequest,
    rate: float,
    concurrency: int,
    note: str | None,
) -> BulkRetryResult:
    gate = asyncio.Semaphore(max(1, concurrency))
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def retry(i: int, workflow_id: str) -> str | None:
        await asyncio.sleep(max(0.0, began + i / rate - loop.time()))  # at most `rate` a second
        async with gate:
            try:
                await retry_campaign(client, workflow_id, request, check_worker=False)
            except CommandRefused as refused:
                return refused.refusal.value
            except (NoWorkerError, UnknownCampaignError, CampaignConflictError, RPCError):
                return None  # not answered: no worker, or the server refused the call
            return _ACCEPTED

    answers = await asyncio.gather(*(retry(i, w) for i, w in enumerate(targets)))
    refused = Counter(a for a in answers if a not in (_ACCEPTED, None))
    delivered = len(targets) - answers.count(None)
    return BulkRetryResult(
        query, len(targets), delivered, len(targets) - delivered, "one-by-one", None, note, rate,
        accepted=answers.count(_ACCEPTED), refused=dict(refused), unanswered=0,
    )  # fmt: skip
