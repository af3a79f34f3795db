"""Mock step activities, registered under the real activity names, with scriptable behaviour.

Each step has a script: a list of actions consumed one per call (Temporal retries included); when
the script is empty the step follows its `always` action, else it answers a valid artifact.
An action is a callable `async (call) -> result` that may raise, or a ready result model.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import pytest
from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts import (
    CONTENT_PROD_STEP,
    LEARN_STEP,
    PUBLISH_STEP,
    QUALITY_AUDIT_STEP,
    RADAR_SCAN_STEP,
    STEPS,
    STRATEGY_GEN_STEP,
    AuditRequest,
    CampaignBrief,
    CampaignInput,
    CampaignPayload,
    CampaignState,
    Channel,
    ContentPiece,
    ContentRequest,
    FailureReason,
    LearningSummary,
    LearnRequest,
    ProducedContent,
    PublicationLookup,
    PublicationRecord,
    PublishedItem,
    PublishReceipt,
    PublishRequest,
    QualityCheck,
    QualityReport,
    QualityVerdict,
    RadarScanRequest,
    ServiceName,
    Severity,
    StepCall,
    StepRetrySettings,
    StrategyBrief,
    StrategyRequest,
    Trend,
    TrendReport,
    workflow_id_for,
)
from devstack.binaries import temporal_test_server
from orchestrator_connection.temporal_client import register_search_attributes
from orchestrator_worker.worker_factory import (
    CampaignWorkers,
    service_worker,
    workflow_runner,
)
from workflows import CampaignWorkflow

# The activity types the workflow schedules, from the table of steps (contracts.STEPS).
RADAR = RADAR_SCAN_STEP.activity
STRATEGY = STRATEGY_GEN_STEP.activity
CONTENT = CONTENT_PROD_STEP.activity
AUDIT = QUALITY_AUDIT_STEP.activity
PUBLISH = PUBLISH_STEP.activity
LEARN = LEARN_STEP.activity
LOOKUP = "find_publication"  # a local activity, not a step: kept out of `calls`
ALL_STEPS = tuple(step.activity for step in STEPS)
assert ALL_STEPS == (RADAR, STRATEGY, CONTENT, AUDIT, PUBLISH, LEARN), "a fake for every step"

ResultT = TypeVar("ResultT", bound=BaseModel)
Action = Callable[[StepCall[Any]], Awaitable[Any]] | BaseModel


def _now() -> datetime:
    return datetime.now(UTC)


# ---- actions -----------------------------------------------------------------------------------


def fail(reason: FailureReason, *, non_retryable: bool | None = None) -> Action:
    """Raise an ApplicationError typed by `reason` (retryability follows the reason by default)."""

    async def action(call: StepCall[Any]) -> Any:
        raise ApplicationError(
            f"mock {reason} for {call.idempotency_key}",
            type=reason.value,
            non_retryable=(
                not reason.retryable_by_temporal if non_retryable is None else non_retryable
            ),
        )

    return action


def crash(message: str = "mock bug") -> Action:
    """Raise a plain Python exception, like a bug in the activity would."""

    async def action(call: StepCall[Any]) -> Any:
        raise KeyError(message)

    return action


def sleep(seconds: float) -> Action:
    """Sleep (past the start-to-close timeout, typically), then give up."""

    async def action(call: StepCall[Any]) -> Any:
        await asyncio.sleep(seconds)
        raise RuntimeError("slept past the timeout and was still awaited")

    return action


def blocked(release: asyncio.Event, within: float = 15.0) -> Action:
    """Wait until the test sets `release` (bounded), then answer like the default would."""

    async def action(call: StepCall[Any]) -> Any:
        await asyncio.wait_for(release.wait(), within)
        return None  # None: FakeServices answers the default artifact

    return action


def quality_report(
    verdict: QualityVerdict, checks: Sequence[QualityCheck] = (), revision: int = 0
) -> QualityReport:
    return QualityReport(
        artifact_id=uuid.uuid4(),
        produced_at=_now(),
        verdict=verdict,
        checks=list(checks),
        audited_revision=revision,
    )


def check(name: str, *, passed: bool, severity: Severity) -> QualityCheck:
    return QualityCheck(name=name, passed=passed, severity=severity, message=f"{name} message")


# ---- the fake services -------------------------------------------------------------------------


@dataclass
class Call:
    step: str
    idempotency_key: str
    request: BaseModel
    attempt: int


class FakeServices:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.started: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.cancelled: list[str] = []
        self._scripts: dict[str, list[Action]] = defaultdict(list)
        self._always: dict[str, Action] = {}
        self.published: dict[uuid.UUID, PublishReceipt] = {}  # the publisher's record
        self.lookups = 0

    # configuration
    def script(self, step: str, *actions: Action) -> FakeServices:
        self._scripts[step].extend(actions)
        return self

    def always(self, step: str, action: Action) -> FakeServices:
        self._always[step] = action
        return self

    # inspection
    def steps(self) -> list[str]:
        return [c.step for c in self.calls]

    def calls_of(self, step: str) -> list[Call]:
        return [c for c in self.calls if c.step == step]

    async def _run(self, step: str, call: StepCall[Any], default: Callable[[], ResultT]) -> ResultT:
        self.calls.append(Call(step, call.idempotency_key, call.request, activity.info().attempt))
        self.started[step].set()
        script = self._scripts[step]
        action = script.pop(0) if script else self._always.get(step)
        if action is None:
            return default()
        if isinstance(action, BaseModel):
            return cast(ResultT, action)
        answer = await action(call)
        return default() if answer is None else cast(ResultT, answer)

    async def wait_forever(self, call: StepCall[Any]) -> Any:
        """An action: heartbeat until cancelled (records the cancellation)."""
        try:
            for _ in range(600):
                activity.heartbeat()
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.cancelled.append(call.idempotency_key)
            raise
        raise RuntimeError("never cancelled")

    # the activities, under the names the workflow schedules
    @activity.defn(name=RADAR)
    async def radar_scan(self, call: StepCall[RadarScanRequest]) -> TrendReport:
        return await self._run(
            RADAR,
            call,
            lambda: TrendReport(
                artifact_id=uuid.uuid4(),
                produced_at=_now(),
                trends=[Trend(topic="spring", score=0.8, source="mock")],
            ),
        )

    @activity.defn(name=STRATEGY)
    async def generate_strategy(self, call: StepCall[StrategyRequest]) -> StrategyBrief:
        return await self._run(
            STRATEGY,
            call,
            lambda: StrategyBrief(
                artifact_id=uuid.uuid4(),
                produced_at=_now(),
                positioning="the simple choice",
                key_messages=["simple"],
                channels=list(call.request.brief.channels),
            ),
        )

    @activity.defn(name=CONTENT)
    async def produce_content(self, call: StepCall[ContentRequest]) -> ProducedContent:
        return await self._run(
            CONTENT,
            call,
            lambda: ProducedContent(
                artifact_id=uuid.uuid4(),
                produced_at=_now(),
                revision=call.request.revision,
                pieces=[
                    ContentPiece(channel=c, headline="Hello", body="Body", call_to_action="Go")
                    for c in call.request.brief.channels
                ],
            ),
        )

    @activity.defn(name=AUDIT)
    async def audit_quality(self, call: StepCall[AuditRequest]) -> QualityReport:
        return await self._run(
            AUDIT,
            call,
            lambda: quality_report(
                QualityVerdict.PASS,
                [check("tone", passed=True, severity=Severity.CRITICAL)],
                revision=call.request.content.revision,
            ),
        )

    @activity.defn(name=PUBLISH)
    async def publish_campaign(self, call: StepCall[PublishRequest]) -> PublishReceipt:
        receipt = await self._run(
            PUBLISH,
            call,
            lambda: PublishReceipt(
                artifact_id=uuid.uuid4(),
                produced_at=_now(),
                publication_id=f"pub-{call.idempotency_key}",
                items=[
                    PublishedItem(channel=p.channel, url=f"https://example.test/{p.channel}")
                    for p in call.request.content.pieces
                ],
                published_at=_now(),
            ),
        )
        self.published.setdefault(call.request.campaign_id, receipt)
        return receipt

    @activity.defn(name=LOOKUP)
    async def find_publication(self, lookup: PublicationLookup) -> PublicationRecord:
        self.lookups += 1
        script = self._scripts[LOOKUP]
        action = script.pop(0) if script else self._always.get(LOOKUP)
        if action is not None and not isinstance(action, BaseModel):
            await action(StepCall(idempotency_key="lookup", request=lookup))
        return PublicationRecord(receipt=self.published.get(lookup.campaign_id))

    @activity.defn(name=LEARN)
    async def learn_from_campaign(self, call: StepCall[LearnRequest]) -> LearningSummary:
        return await self._run(
            LEARN,
            call,
            lambda: LearningSummary(
                artifact_id=uuid.uuid4(),
                produced_at=_now(),
                insights=["it worked"],
                predicted_engagement=0.5,
            ),
        )

    def step_activities(self) -> dict[ServiceName, Callable[..., Any]]:
        """Each service's step, for the worker of its task queue."""
        return {
            ServiceName.RADAR: self.radar_scan,
            ServiceName.STRATEGY: self.generate_strategy,
            ServiceName.CONTENT: self.produce_content,
            ServiceName.QUALITY: self.audit_quality,
            ServiceName.PUBLISHER: self.publish_campaign,
            ServiceName.LEARNING: self.learn_from_campaign,
        }

    def activities(self) -> list[Callable[..., Any]]:
        """The main queue's: every step (as a campaign started before the service queues
        schedules them there) and the publisher lookup (a local activity)."""
        return [*self.step_activities().values(), self.find_publication]


# ---- helpers -----------------------------------------------------------------------------------

QUERY_TIMEOUT = timedelta(seconds=10)

FAST_RETRY = StepRetrySettings(
    initial_interval=timedelta(milliseconds=10),
    backoff_coefficient=1.0,
    maximum_interval=timedelta(milliseconds=10),
    maximum_attempts=3,
    start_to_close_timeout=timedelta(seconds=10),
)


def campaign_input(**overrides: Any) -> CampaignInput:
    values: dict[str, Any] = dict(
        campaign_id=uuid.uuid4(),
        brief=CampaignBrief(
            name="Spring Launch",
            objective="Grow trial sign-ups",
            audience="Retail owners",
            channels=[Channel.EMAIL, Channel.BLOG],
        ),
        max_retries=3,
        retry_window=timedelta(hours=1),
        step_retry=FAST_RETRY,
    )
    values.update(overrides)
    return CampaignInput(**values)


@asynccontextmanager
async def running_worker(
    client: Client, services: FakeServices, task_queue: str | None = None, **options: Any
) -> AsyncIterator[str]:
    """Workers on a fresh task queue (or `task_queue`): CampaignWorkflow on it, and each fake
    step on its service's queue, as build_workers assembles them."""
    task_queue = task_queue or f"tq-{uuid.uuid4()}"
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=[CampaignWorkflow],
        activities=services.activities(),
        workflow_runner=workflow_runner(),
        **options,
    )
    async with fake_workers(client, task_queue, main, services):
        yield task_queue


def fake_workers(
    client: Client, task_queue: str, main: Worker, services: FakeServices
) -> CampaignWorkers:
    return CampaignWorkers(
        task_queue,
        main,
        {
            service: service_worker(client, task_queue, service, step, slots=100)
            for service, step in services.step_activities().items()
        },
    )


async def start(
    client: Client, task_queue: str, input: CampaignInput
) -> WorkflowHandle[CampaignWorkflow, Any]:
    return await client.start_workflow(
        CampaignWorkflow.run,
        input,
        id=workflow_id_for(input.campaign_id),
        task_queue=task_queue,
    )


async def query_state(handle: WorkflowHandle[Any, Any]) -> CampaignState:
    return await handle.query(CampaignWorkflow.state, rpc_timeout=QUERY_TIMEOUT)


async def query_payload(handle: WorkflowHandle[Any, Any]) -> CampaignPayload:
    return await handle.query(CampaignWorkflow.payload, rpc_timeout=QUERY_TIMEOUT)


async def wait_for(
    handle: WorkflowHandle[Any, Any],
    predicate: Callable[[CampaignPayload], bool],
    what: str,
    within: float = 15.0,
) -> CampaignPayload:
    """Poll the payload query until `predicate` holds; fail (not hang) after `within`."""

    async def poll() -> CampaignPayload:
        while True:
            try:
                payload = await query_payload(handle)
            except RPCError as err:
                # A worker busy with hundreds of signals on a loaded machine may answer a query
                # after its rpc timeout: ask again, until `within`.
                if err.status is not RPCStatusCode.DEADLINE_EXCEEDED and "Timeout" not in str(err):
                    raise
                continue
            if predicate(payload):
                return payload
            await asyncio.sleep(0.05)

    try:
        return await asyncio.wait_for(poll(), within)
    except TimeoutError:
        payload = await query_payload(handle)
        raise AssertionError(
            f"not {what} after {within}s: campaign is {payload.state}, log: {actions(payload)}"
        ) from None


async def wait_for_state(
    handle: WorkflowHandle[Any, Any], state: CampaignState, within: float = 15.0
) -> CampaignPayload:
    return await wait_for(handle, lambda p: p.state is state, f"in {state}", within)


async def result(handle: WorkflowHandle[Any, Any], within: float = 20.0) -> Any:
    return await asyncio.wait_for(handle.result(), within)


def actions(payload: CampaignPayload) -> list[str]:
    return [e.action for e in payload.execution_log]


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    """The ApplicationError a campaign failed with (the test fails if it did not fail)."""
    with pytest.raises(WorkflowFailureError) as info:
        await result(handle, within=15)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def run_chain(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """The histories of a campaign's first run and of every run it continued as new into."""
    histories = []
    run_id = handle.first_execution_run_id or handle.run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        continued = last.HasField("workflow_execution_continued_as_new_event_attributes")
        attributes = last.workflow_execution_continued_as_new_event_attributes
        run_id = attributes.new_execution_run_id if continued else None
    return histories


@asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, with the pydantic converter and our search
    attributes."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server(),
        data_converter=pydantic_data_converter,
    )
    try:
        await register_search_attributes(environment.client)
        yield environment
    finally:
        await environment.shutdown()


async def update_events(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    """The update events of the campaign's history (accepted, rejected, completed), in order."""
    kinds = (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    )
    history = await handle.fetch_history()
    return [e.event_type for e in history.events if e.event_type in kinds]
