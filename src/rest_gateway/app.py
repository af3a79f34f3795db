"""The REST gateway: the original design's HTTP API as a thin layer over Temporal.

Every endpoint is one call of orchestrator_client.campaign_ops, the same functions the `campaign`
CLI uses. Errors are HTTP statuses with a body that says why:

    404 unknown campaign         409 its state refuses the request    422 invalid input
    503 Temporal unreachable     504 no worker answered the query or update in time

POST .../retry and .../start are Temporal Updates: 200 carries the workflow's own answer, 409 its
refusal (`error` is the Refusal in lower case: not_failed, retry_pending, no_retries_left,
retry_window_over, cancelled, already_started; campaign_ended once the workflow has closed).

/api/v1/schedules are recurring campaigns on Temporal Schedules, one call each of
orchestrator_client.campaign_schedules (the `campaign schedule` commands): 404 unknown schedule,
409 its id is taken. Each run is a campaign of its own, at /api/v1/campaigns/{its workflow id}.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID, uuid4

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    CampaignInput,
    CampaignPayload,
    CampaignState,
    Decision,
    FailureReason,
    PauseAccepted,
    PauseRequest,
    RetryAccepted,
    RetryRequest,
    ReviewAccepted,
    ReviewRequest,
    StartAccepted,
    StartRequest,
    workflow_id_for,
)
from orchestrator_client.campaign_errors import (
    CampaignClosedError,
    CampaignConflictError,
    CampaignError,
    CampaignExistsError,
    CommandRefused,
    NoWorkerError,
    UnknownCampaignError,
)
from orchestrator_client.campaign_lookup import CampaignStatus
from orchestrator_client.campaign_ops import (
    campaign_payload,
    campaign_status,
    cancel_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    retry_campaign,
    review_campaign,
    send_start,
    start_campaign,
    target,
    visibility_query,
)
from orchestrator_client.campaign_schedules import (
    SCHEDULE_ID,
    CampaignScheduleRequest,
    Overlap,
    ScheduleView,
    backfill_schedule,
    create_schedule,
    delete_schedule,
    describe_schedule,
    list_schedules,
    parse_moment,
    pause_schedule,
    trigger_schedule,
    unpause_schedule,
)
from orchestrator_connection.settings import load_client_settings
from orchestrator_connection.temporal_client import TemporalUnavailableError, connect
from rest_gateway.settings import GatewaySettings

API = "/api/v1/campaigns"
SCHEDULES = "/api/v1/schedules"
E = TypeVar("E", bound=StrEnum)
# ?state=failed as ?state=FAILED: enum values in any case.
AnyCase = Annotated[E, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)]


# ---- bodies -----------------------------------------------------------------------------------


class CreateCampaignRequest(CampaignInput):
    """A campaign input; `campaign_id` is generated when omitted. With `start` false (the
    default) the campaign waits in IDLE until POST /api/v1/campaigns/{id}/start."""

    campaign_id: UUID = Field(default_factory=uuid4)
    start: bool = Field(default=False, description="true: start now; false: wait in IDLE.")

    @model_validator(mode="after")
    def _start_is_the_switch(self) -> CreateCampaignRequest:
        if "start_immediately" in self.model_fields_set:
            raise ValueError("use `start` (true or false), not start_immediately")
        return self

    def campaign_input(self) -> CampaignInput:
        data = self.model_dump(exclude={"start", "start_immediately"})
        return CampaignInput.model_validate({**data, "start_immediately": self.start})


class CampaignCreated(BaseModel):
    campaign_id: UUID
    workflow_id: str
    run_id: str | None
    started: bool
    links: dict[str, str]


class CampaignView(BaseModel):
    """State from visibility (works without a worker) and the payload by query (needs one)."""

    campaign_id: str
    workflow_id: str
    run_id: str | None
    execution_status: str
    state: CampaignState | None
    failure_reason: str | None
    retry_count: int | None
    start_time: str | None
    close_time: str | None
    task_queue: str | None = None
    name: str | None = Field(default=None, description="The brief's name (set at start).")
    paused: bool = Field(default=False, description="Held by a `pause` at a step boundary.")
    approvers: list[str] | None = Field(
        default=None,
        description="Waiting for a review: who may decide ('*': anyone); null otherwise.",
    )
    payload: CampaignPayload | None = None


class CampaignList(BaseModel):
    query: str = Field(description="The visibility query: paste it into the Web UI's filter.")
    campaigns: list[CampaignView]


class Accepted(BaseModel):
    workflow_id: str
    signal: str
    state_before: CampaignState | None


class ErrorBody(BaseModel):
    error: str = Field(
        description="not_found, already_exists, closed, a refusal (not_failed, retry_pending, "
        "no_retries_left, retry_window_over, cancelled, already_started, campaign_ended), …"
    )
    detail: str = Field(description="Why, in one sentence.")


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No campaign with that id"},
    409: {"model": ErrorBody, "description": "The campaign's state refuses the request"},
    503: {"model": ErrorBody, "description": "Temporal unreachable"},
}
UPDATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "model": ErrorBody,
        "description": "The workflow refused (`error` is its Refusal in lower case, `detail` "
        "its reason), or the campaign has ended (`campaign_ended`)",
    },
    504: {"model": ErrorBody, "description": "No worker answered the update in time"},
}


def _view(status: CampaignStatus, payload: CampaignPayload | None = None) -> CampaignView:
    return CampaignView.model_validate({**status.as_dict(), "payload": payload})


# ---- schedules: bodies and answers ------------------------------------------------------------

NO_CAMPAIGN_ID = "leave it out: each run's campaign id comes from the schedule and its time"
SCHEDULE_PATTERN = f"^{SCHEDULE_ID.pattern}$"


class CampaignTemplate(CampaignInput):
    """A campaign input without campaign_id: the template of every run of a schedule."""

    # Set from the schedule id (campaign_schedules.template_campaign_id), never from a client.
    campaign_id: SkipJsonSchema[UUID] = UUID(int=0)

    @field_validator("campaign_id", mode="before")
    @classmethod
    def _no_campaign_id(cls, _: object) -> UUID:
        raise ValueError(NO_CAMPAIGN_ID)


def _full_input(value: object) -> object:
    """A bare brief (no "brief" key) as {"brief": ...}, as `campaign schedule create -f` reads
    one; a campaign_id stays at the top, where it is refused by name."""
    if isinstance(value, dict) and "brief" not in value:
        brief = {k: v for k, v in value.items() if k != "campaign_id"}
        return {
            "brief": brief,
            **({"campaign_id": value["campaign_id"]} if "campaign_id" in value else {}),
        }
    return value


class CreateScheduleRequest(CampaignScheduleRequest):
    """A schedule: exactly one of `cron` and `every`; `every` and `catchup_window` in seconds or
    as ISO 8601 durations (PT24H). `campaign` is a brief, or a full campaign input without
    campaign_id: each run's comes from the schedule and its scheduled time."""

    schedule_id: str = Field(
        description="Letters, digits, '.', '_', '-'; at most 100",
        json_schema_extra={"pattern": SCHEDULE_PATTERN},
    )
    campaign: Annotated[CampaignTemplate, BeforeValidator(_full_input)] = Field(
        description="A brief, or a full campaign input without campaign_id"
    )

    def schedule_request(self) -> CampaignScheduleRequest:
        """What campaign_schedules takes: the template with the schedule's template id."""
        campaign = CampaignInput.model_validate(
            {**self.campaign.model_dump(), "campaign_id": self.template_id}
        )
        return CampaignScheduleRequest.model_validate(
            {**self.model_dump(exclude={"campaign"}), "campaign": campaign}
        )


def _moment(value: object) -> object:
    return parse_moment(value) if isinstance(value, str) else value


def _in_utc(moment: datetime) -> datetime:
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is out of range in UTC") from None


# An ISO 8601 date or date-time; without an offset, UTC (as `campaign schedule backfill`).
Moment = Annotated[datetime, BeforeValidator(_moment), AfterValidator(_in_utc)]


class ScheduleNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(
        default=None,
        max_length=500,
        description="Why (the Web UI shows it). Unpause without one: the note it was created "
        "with again.",
    )


class TriggerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap: Overlap | None = Field(
        default=None, description="Instead of the schedule's overlap policy, for this run"
    )


class BackfillRequest(BaseModel):
    """The runs the calendar had from `start` to `end` (both included), as if due then."""

    model_config = ConfigDict(extra="forbid")

    start: Moment = Field(description="ISO 8601, e.g. 2026-11-02T08:00:00Z (UTC if bare)")
    end: Moment = Field(description="ISO 8601; included")
    overlap: Overlap = Field(
        default=Overlap.buffer_all,
        description="Of the backfilled runs: one after another by default",
    )

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"{end.isoformat()} is before the start ({start.isoformat()})")
        return end


class ScheduleCreated(BaseModel):
    schedule_id: str
    task_queue: str
    template_workflow_id: str = Field(
        description="Each run's workflow id is this, '-' and its scheduled time"
    )
    when: str = Field(description="The calendar in words")
    links: dict[str, str]


class ScheduleRunView(BaseModel):
    scheduled_at: datetime
    started_at: datetime
    workflow_id: str = Field(description="The run's campaign: GET /api/v1/campaigns/{workflow_id}")
    campaign: CampaignView | None = Field(
        description="null: gone from visibility (retention), or not a campaign's workflow id"
    )


class ScheduleDetails(BaseModel):
    """A schedule (GET /schedules leaves out the policies and recent runs: null and [])."""

    schedule_id: str
    memo: str | None
    when: str
    paused: bool
    note: str | None
    overlap: str | None
    catchup_window_seconds: float | None
    task_queue: str | None
    template_workflow_id: str | None
    next_runs: list[datetime]
    recent_runs: list[ScheduleRunView]
    actions_taken: int | None
    skipped_overlap: int | None
    missed_catchup: int | None


class ScheduleList(BaseModel):
    schedules: list[ScheduleDetails]


class ScheduleDone(BaseModel):
    schedule_id: str
    command: Literal["pause", "unpause", "trigger", "backfill", "delete"]
    detail: str = Field(description="What happens now, in one sentence.")


def _details(view: ScheduleView) -> ScheduleDetails:
    return ScheduleDetails.model_validate(view.as_dict())


SCHEDULE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No schedule with that id"},
    503: {"model": ErrorBody, "description": "Temporal unreachable"},
}
ScheduleId = Annotated[
    str, Path(pattern=SCHEDULE_PATTERN, description="The schedule's id", examples=["weekly-news"])
]


# ---- the app ----------------------------------------------------------------------------------


class _Temporal:
    """One client, connected on first use (so the gateway can start before Temporal)."""

    def __init__(self, client: Client | None) -> None:
        self.client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self.client is None:
            async with self._lock:
                if self.client is None:
                    self.client = await connect()
        return self.client


async def _client(request: Request) -> Client:
    temporal: _Temporal = request.app.state.temporal
    return await temporal.get()


TemporalClient = Annotated[Client, Depends(_client)]


MAX_PROBLEMS = 20
MAX_QUOTE = 80


def _clip(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 (by its Content-Length
    before anything is read, or as soon as the stream passes the limit)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            status_code=413,
            content={
                "error": "too_large",
                "detail": f"the request body is over {self.max_bytes} bytes "
                "(CAMPAIGN_GATEWAY_MAX_BODY_BYTES)",
            },
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    settings: GatewaySettings | None = None,
    *,
    client: Client | None = None,
    task_queue: str | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    temporal = _Temporal(client)
    queue = task_queue or load_client_settings().task_queue
    query_timeout = timedelta(seconds=settings.query_timeout_seconds)

    app = FastAPI(
        title="campaign-orchestrator REST API",
        version="1",
        description=__doc__,
    )
    app.state.temporal = temporal
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    # -- errors --

    def error(status: int, code: str, detail: str) -> JSONResponse:
        # Every error names the server and namespace it asked (once connected).
        if temporal.client is not None and (asked := target(temporal.client)) not in detail:
            detail = f"{detail} ({asked})"
        return JSONResponse(status_code=status, content={"error": code, "detail": detail})

    conflict_codes: list[tuple[type[CampaignConflictError], str]] = [
        (CampaignExistsError, "already_exists"),
        (CampaignClosedError, "closed"),
    ]

    @app.exception_handler(CampaignError)
    async def campaign_error(_: Request, err: CampaignError) -> JSONResponse:
        if isinstance(err, UnknownCampaignError):
            return error(404, "not_found", str(err))
        if isinstance(err, CommandRefused):
            return error(409, err.refusal.value.lower(), str(err))
        if isinstance(err, NoWorkerError):
            return error(504, "no_worker", str(err))
        if isinstance(err, CampaignConflictError):
            code = next((c for cls, c in conflict_codes if isinstance(err, cls)), "conflict")
            return error(409, code, str(err))
        return error(422, "invalid", str(err))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        # Each bad field, with at most a short quote of what was sent (never the whole input).
        problems = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
                "input": _clip(e.get("input")),
            }
            for e in err.errors()[:MAX_PROBLEMS]
        ]
        return JSONResponse(status_code=422, content={"error": "invalid", "detail": problems})

    @app.exception_handler(TemporalUnavailableError)
    async def unavailable(_: Request, err: TemporalUnavailableError) -> JSONResponse:
        return error(503, "temporal_unavailable", str(err))

    @app.exception_handler(RPCError)
    async def rpc_error(_: Request, err: RPCError) -> JSONResponse:
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED or "no poller" in err.message:
            return error(504, "no_worker", f"no worker answered in time: {err.message}")
        if err.status == RPCStatusCode.NOT_FOUND and "amespace" in err.message:
            return error(503, "no_namespace", f"{err.message} (TEMPORAL_NAMESPACE)")
        return error(503, "temporal_error", f"{err.status.name}: {err.message}")

    @app.exception_handler(WorkflowQueryFailedError)
    async def query_failed(_: Request, err: WorkflowQueryFailedError) -> JSONResponse:
        return error(503, "query_failed", str(err))

    # -- endpoints --

    @app.post(
        API,
        status_code=201,
        response_model=CampaignCreated,
        responses=ERRORS,
        summary="Create a campaign (it waits in IDLE unless start=true)",
    )
    async def create(
        body: CreateCampaignRequest, client: TemporalClient, response: Response
    ) -> CampaignCreated:
        handle = await start_campaign(client, body.campaign_input(), task_queue=queue)
        location = f"{API}/{body.campaign_id}"
        response.headers["Location"] = location
        return CampaignCreated(
            campaign_id=body.campaign_id,
            workflow_id=workflow_id_for(body.campaign_id),
            run_id=handle.result_run_id,
            started=body.start,
            links={
                "self": location,
                "start": f"{location}/start",
                "retry": f"{location}/retry",
                "cancel": f"{location}/cancel",
            },
        )

    @app.get(API, response_model=CampaignList, responses=ERRORS, summary="List campaigns")
    async def list_(
        client: TemporalClient,
        state: Annotated[list[AnyCase[CampaignState]] | None, Query()] = None,
        failure_reason: Annotated[list[AnyCase[FailureReason]] | None, Query()] = None,
        running: Annotated[
            bool | None, Query(description="true: open campaigns only; false: ended only")
        ] = None,
        approver: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=100,
                description="Only those waiting for a decision this person may make",
            ),
        ] = None,
        paused: Annotated[bool, Query(description="true: only those held by a pause")] = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> CampaignList:
        query = visibility_query(
            states=state or (),
            failure_reasons=failure_reason or (),
            approver=approver,
            paused=paused,
        )
        if running is not None:
            query += " AND ExecutionStatus " + ("=" if running else "!=") + " 'Running'"
        found = await list_campaigns(client, query, limit=limit)
        return CampaignList(query=query, campaigns=[_view(s) for s in found])

    @app.get(
        f"{API}/{{campaign}}",
        response_model=CampaignView,
        responses={**ERRORS, 504: {"model": ErrorBody, "description": "No worker answered"}},
        summary="A campaign's state and payload",
    )
    async def get(
        campaign: str,
        client: TemporalClient,
        payload: Annotated[
            bool, Query(description="false: state only, from visibility (needs no worker)")
        ] = True,
    ) -> CampaignView:
        status = await campaign_status(client, campaign)
        data = (
            await campaign_payload(client, status.workflow_id, rpc_timeout=query_timeout)
            if payload
            else None
        )
        return _view(status, data)

    @app.post(
        f"{API}/{{campaign}}/start",
        response_model=StartAccepted,
        responses=UPDATE_ERRORS,
        summary="Start a campaign created with start=false (the `request_start` update)",
        description="200: the workflow's answer. 409 `already_started`, `cancelled` or "
        "`campaign_ended`, with the reason in `detail`.",
    )
    async def start(
        campaign: str, client: TemporalClient, body: StartRequest | None = None
    ) -> StartAccepted:
        return await send_start(
            client, campaign, body or StartRequest(requested_by="rest"), rpc_timeout=query_timeout
        )

    @app.post(
        f"{API}/{{campaign}}/retry",
        response_model=RetryAccepted,
        responses=UPDATE_ERRORS,
        summary="Retry a FAILED campaign from the step that failed (the `request_retry` update)",
        description="200: the workflow's answer (retry_count, retries_left, resume_at, "
        "retried_failure). 409 `not_failed`, `retry_pending`, `no_retries_left`, "
        "`retry_window_over`, `cancelled` or `campaign_ended`, with the reason in `detail`.",
    )
    async def retry(
        campaign: str, client: TemporalClient, body: RetryRequest | None = None
    ) -> RetryAccepted:
        return await retry_campaign(
            client, campaign, body or RetryRequest(requested_by="rest"), rpc_timeout=query_timeout
        )

    def review_route(decision: Decision) -> None:
        path = decision.value.replace("_", "-")
        then = {
            Decision.APPROVE: "it publishes",
            Decision.REJECT: "it parks in FAILED (APPROVAL_REJECTED); a retry revises it",
            Decision.REQUEST_CHANGES: "back to CONTENT_PROD with the comment as feedback",
        }[decision]

        async def review(
            campaign: str, body: ReviewRequest, client: TemporalClient
        ) -> ReviewAccepted:
            return await review_campaign(
                client, campaign, decision, body, rpc_timeout=query_timeout
            )

        app.post(
            f"{API}/{{campaign}}/{path}",
            response_model=ReviewAccepted,
            responses=UPDATE_ERRORS,
            summary=f"A reviewer's decision, {decision.value}: {then} (the `{decision.value}` "
            "update)",
            description="For a campaign waiting in AWAITING_APPROVAL. 200: the workflow's answer. "
            "409 `not_awaiting_approval`, `not_an_approver`, `wrong_revision`, "
            "`already_decided`, `comment_required`, `cancelled` or `campaign_ended`, with the "
            "reason in `detail`.",
            operation_id=f"{decision.value}_campaign",
        )(review)

    for decision in Decision:
        review_route(decision)

    @app.post(
        f"{API}/{{campaign}}/pause",
        response_model=PauseAccepted,
        responses=UPDATE_ERRORS,
        summary="Hold a campaign at its next step boundary (the `pause` update)",
        description="200: accepted (it holds before its next step). 409 `already_paused`, "
        "`cancelled` or `campaign_ended`.",
    )
    async def pause(
        campaign: str, client: TemporalClient, body: PauseRequest | None = None
    ) -> PauseAccepted:
        request = body or PauseRequest(requested_by="rest")
        return await pause_campaign(client, campaign, request, rpc_timeout=query_timeout)

    @app.post(
        f"{API}/{{campaign}}/resume",
        response_model=PauseAccepted,
        responses=UPDATE_ERRORS,
        summary="Let a paused campaign go on (the `resume` update)",
        description="200: accepted. 409 `not_paused`, `cancelled` or `campaign_ended`.",
    )
    async def resume(
        campaign: str, client: TemporalClient, body: PauseRequest | None = None
    ) -> PauseAccepted:
        request = body or PauseRequest(requested_by="rest")
        return await resume_campaign(client, campaign, request, rpc_timeout=query_timeout)

    @app.post(
        f"{API}/{{campaign}}/cancel",
        status_code=202,
        response_model=Accepted,
        responses=ERRORS,
        summary="Cancel a campaign (its workflow ends as cancelled)",
    )
    async def cancel(campaign: str, client: TemporalClient) -> Accepted:
        status = await cancel_campaign(client, campaign)
        return Accepted(workflow_id=status.workflow_id, signal="cancel", state_before=status.state)

    # -- schedules --

    @app.post(
        SCHEDULES,
        status_code=201,
        response_model=ScheduleCreated,
        responses={
            409: {"model": ErrorBody, "description": "A schedule with that id exists"},
            503: SCHEDULE_ERRORS[503],
        },
        summary="Create a schedule: a campaign started on a calendar",
        description="201: created, its URL in Location. 409 `already_exists`: nothing created. "
        "422: a bad field by name (a cron expression or interval Temporal refuses too).",
    )
    async def schedule_create(
        body: CreateScheduleRequest, client: TemporalClient, response: Response
    ) -> ScheduleCreated:
        request = body.schedule_request()
        try:
            await create_schedule(client, request, task_queue=queue)
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT and "schedule spec" in err.message:
                field, given = (
                    ("cron", request.cron) if request.cron is not None else ("every", body.every)
                )
                raise RequestValidationError(
                    [
                        {
                            "loc": ("body", field),
                            "msg": f"Temporal refused it: {err.message}",
                            "type": "value_error",
                            "input": given,
                        }
                    ]
                ) from None
            raise
        location = f"{SCHEDULES}/{request.schedule_id}"
        response.headers["Location"] = location
        return ScheduleCreated(
            schedule_id=request.schedule_id,
            task_queue=queue,
            template_workflow_id=workflow_id_for(request.template_id),
            when=request.when(),
            links={
                "self": location,
                **{c: f"{location}/{c}" for c in ("pause", "unpause", "trigger", "backfill")},
                "runs": f"{API}/{workflow_id_for(request.template_id)}-<scheduled time>",
            },
        )

    @app.get(
        SCHEDULES,
        response_model=ScheduleList,
        responses={503: SCHEDULE_ERRORS[503]},
        summary="List the schedules that start campaigns",
    )
    async def schedule_list(client: TemporalClient) -> ScheduleList:
        return ScheduleList(schedules=[_details(v) for v in await list_schedules(client)])

    @app.get(
        f"{SCHEDULES}/{{schedule_id}}",
        response_model=ScheduleDetails,
        responses=SCHEDULE_ERRORS,
        summary="A schedule: its calendar, policies, next runs, and recent runs with their "
        "campaigns",
    )
    async def schedule_get(schedule_id: ScheduleId, client: TemporalClient) -> ScheduleDetails:
        return _details(await describe_schedule(client, schedule_id))

    @app.post(
        f"{SCHEDULES}/{{schedule_id}}/pause",
        response_model=ScheduleDone,
        responses=SCHEDULE_ERRORS,
        summary="Pause a schedule: no runs start until unpaused (started ones go on)",
    )
    async def schedule_pause(
        schedule_id: ScheduleId, client: TemporalClient, body: ScheduleNote | None = None
    ) -> ScheduleDone:
        note = (body and body.note) or f"paused with POST {SCHEDULES}/{schedule_id}/pause"
        await pause_schedule(client, schedule_id, note)
        return ScheduleDone(
            schedule_id=schedule_id,
            command="pause",
            detail="paused: no runs start until unpaused; runs already started go on",
        )

    @app.post(
        f"{SCHEDULES}/{{schedule_id}}/unpause",
        response_model=ScheduleDone,
        responses=SCHEDULE_ERRORS,
        summary="Unpause a schedule: runs start again from the next due time",
    )
    async def schedule_unpause(
        schedule_id: ScheduleId, client: TemporalClient, body: ScheduleNote | None = None
    ) -> ScheduleDone:
        # Without a note, the schedule's note is the one it was created with again.
        await unpause_schedule(client, schedule_id, (body and body.note) or None)
        return ScheduleDone(
            schedule_id=schedule_id,
            command="unpause",
            detail="unpaused: runs start again from the next due time (missed ones within "
            "the catch-up window)",
        )

    @app.post(
        f"{SCHEDULES}/{{schedule_id}}/trigger",
        status_code=202,
        response_model=ScheduleDone,
        responses=SCHEDULE_ERRORS,
        summary="Start one run now (also while paused); its scheduled time is now",
    )
    async def schedule_trigger(
        schedule_id: ScheduleId, client: TemporalClient, body: TriggerRequest | None = None
    ) -> ScheduleDone:
        await trigger_schedule(client, schedule_id, body.overlap if body else None)
        return ScheduleDone(
            schedule_id=schedule_id,
            command="trigger",
            detail=f"one run starts now, under the overlap policy: GET {SCHEDULES}/"
            f"{schedule_id} shows it in recent_runs",
        )

    @app.post(
        f"{SCHEDULES}/{{schedule_id}}/backfill",
        status_code=202,
        response_model=ScheduleDone,
        responses=SCHEDULE_ERRORS,
        summary="Run the times the calendar had from start to end (both included)",
        description="202: the runs start one after another (overlap buffer_all). A time that "
        "already has a campaign is that same campaign, which publishes once.",
    )
    async def schedule_backfill(
        schedule_id: ScheduleId, body: BackfillRequest, client: TemporalClient
    ) -> ScheduleDone:
        await backfill_schedule(client, schedule_id, body.start, body.end, body.overlap)
        return ScheduleDone(
            schedule_id=schedule_id,
            command="backfill",
            detail=f"the runs from {body.start.isoformat()} to {body.end.isoformat()} start: "
            f"GET {SCHEDULES}/{schedule_id} shows them in recent_runs",
        )

    @app.delete(
        f"{SCHEDULES}/{{schedule_id}}",
        response_model=ScheduleDone,
        responses=SCHEDULE_ERRORS,
        summary="Delete a schedule; the campaigns it started go on",
    )
    async def schedule_delete(schedule_id: ScheduleId, client: TemporalClient) -> ScheduleDone:
        await delete_schedule(client, schedule_id)
        return ScheduleDone(
            schedule_id=schedule_id,
            command="delete",
            detail="deleted: no more runs start; the campaigns it started go on",
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
