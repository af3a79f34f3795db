"""The six reference services as one FastAPI app: `create_app()`.

The service routes are registered by iterating `contracts.services.ENDPOINTS`, so their paths,
request and response models can never drift from the contract. Every service call goes through
`ReferenceServices.handle`: auth, faults, the idempotency ledger, the business logic
(`behaviour.py`), then the answer. The admin routes under /admin read the ledger back and change
the fault config at run time.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.artifacts import ProducedContent, PublishReceipt
from contracts.enums import ServiceName
from contracts.services import (
    ALREADY_PUBLISHED_CODE,
    ENDPOINTS,
    IDEMPOTENCY_HEADER,
    KEY_REUSED_CODE,
    PUBLICATION_LOOKUP_PATH,
    Step,
)
from reference_services import behaviour
from reference_services.faults import FaultConfig, FaultController, FaultDecision
from reference_services.ledger import CallRecord, Effect, Ledger
from reference_services.settings import ReferenceSettings

REPLAYED_HEADER = "Idempotent-Replayed"
# Where an asynchronous content production answers (content_async_seconds): its status URL.
CONTENT_JOB_PATH = "/v1/content/productions/jobs/{key}"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
_CALL_SCOPE_KEY = "reference_services.call"
# Services whose side effect happens once per campaign, whatever the key.
ONCE_PER_CAMPAIGN = frozenset({ServiceName.PUBLISHER})

log = structlog.get_logger("reference_services")


# --- OpenAPI models ----------------------------------------------------------------------------


class Problem(BaseModel):
    """An error answer. `detail` is a sentence, or FastAPI's list of validation errors. A 422
    that the orchestrator must tell apart carries a `code`: `already_published` (with the first
    `receipt`) or `idempotency_key_reused`."""

    detail: str | list[dict[str, Any]]
    code: str | None = None
    receipt: dict[str, Any] | None = None


class EffectOut(Effect):
    # The ledger's Effect under the API's name (no docstring: it would be the schema's).
    model_config = ConfigDict(from_attributes=True)


class CallOut(CallRecord):
    # The ledger's CallRecord under the API's name.
    model_config = ConfigDict(from_attributes=True)


class EffectCount(BaseModel):
    count: int
    service: ServiceName | None = None
    campaign_id: UUID | None = None


class ServiceStats(BaseModel):
    # Read from the ledger's ServiceCounters.
    model_config = ConfigDict(from_attributes=True)

    calls: int = Field(description="Every call received: replays, rejections and faults too.")
    effects: int = Field(description="Side effects performed (at most one per key).")
    replays: int = Field(description="Repeated keys answered with the stored response.")
    conflicts: int = Field(description="Keys reused with another body (422).")
    in_progress: int = Field(description="Keys repeated while still being processed (409).")
    rejected: int = Field(description="Calls refused before processing (400, 401, 422).")
    errors: int = Field(description="Unexpected errors (bugs), answered 500.")
    injected: dict[str, int] = Field(description="Injected faults, by kind.")
    statuses: dict[str, int] = Field(description="Answers, by HTTP status.")


class Stats(BaseModel):
    services: dict[ServiceName, ServiceStats]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ResetDone(BaseModel):
    status: Literal["reset"] = "reset"
    faults: FaultConfig


ServiceQuery = Annotated[ServiceName | None, Query(description="Only this service.")]
CampaignQuery = Annotated[UUID | None, Query(description="Only this campaign.")]


def _problem_response(description: str, **extra: Any) -> dict[str, Any]:
    return {"model": Problem, "description": description, **extra}


def _retry_after_header(description: str) -> dict[str, Any]:
    return {"Retry-After": {"description": description, "schema": {"type": "integer"}}}


SERVICE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Success: the artifact. A repeated Idempotency-Key with the same body gets "
        "the stored answer again, marked `Idempotent-Replayed: true`.",
        "headers": {
            REPLAYED_HEADER: {
                "description": "`true` when this is the stored answer to an earlier call with "
                "the same key (no new side effect).",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    },
    400: _problem_response(
        f"The `{IDEMPOTENCY_HEADER}` header is missing or invalid. Not retried (SERVICE_REJECTED)."
    ),
    401: _problem_response(
        "Missing or wrong bearer token (only when the service requires one). Not retried."
    ),
    409: _problem_response(
        "A call with the same key is still being processed. Retried by the orchestrator.",
        headers=_retry_after_header("Seconds to wait before retrying."),
    ),
    422: _problem_response(
        "The body breaks the contract (SERVICE_REJECTED); or `code: idempotency_key_reused`, "
        "the key was already used for another request body (IDEMPOTENCY_CONFLICT); or, from "
        "the publisher, `code: already_published` with the first `receipt`: this campaign was "
        "published before, under another key or body (ALREADY_PUBLISHED). Never retried."
    ),
    429: _problem_response(
        "Throttled. Retried by the orchestrator after Retry-After.",
        headers=_retry_after_header("Seconds to wait before retrying."),
    ),
    500: _problem_response("Internal error. Retried with the same key."),
    502: _problem_response("Bad gateway. Retried with the same key."),
    503: _problem_response(
        "Service unavailable (down). Retried with the same key.",
        headers=_retry_after_header("Seconds to wait before retrying, when known."),
    ),
}


# --- per-call bookkeeping ----------------------------------------------------------------------


@dataclass
class CallInfo:
    """What one service call did; filled by the handler, recorded by `CallRecorder`."""

    service: ServiceName
    idempotency_key: str | None
    campaign_id: UUID | None = None
    request_hash: str | None = None
    outcome: str | None = None
    injected: list[str] = field(default_factory=list)


class CallRecorder:
    """ASGI middleware: records and logs every call to a service path, whatever its outcome."""

    def __init__(self, app: ASGIApp, ledger: Ledger, paths: dict[str, ServiceName]) -> None:
        self.app = app
        self.ledger = ledger
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.paths.get(scope.get("path", "")) if scope["type"] == "http" else None
        if service is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        key = None
        for name, value in scope.get("headers", []):
            if name.decode("latin-1").lower() == IDEMPOTENCY_HEADER.lower():
                key = value.decode("latin-1")[:IDEMPOTENCY_KEY_MAX_LENGTH]
        info = CallInfo(service=service, idempotency_key=key)
        scope[_CALL_SCOPE_KEY] = info
        status = 500
        started = time.perf_counter()

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            outcome = info.outcome or ("rejected" if 400 <= status < 500 else "error")
            self.ledger.record_call(
                CallRecord(
                    service=service,
                    idempotency_key=info.idempotency_key,
                    campaign_id=info.campaign_id,
                    at=datetime.now(UTC),
                    request_hash=info.request_hash,
                    outcome=outcome,
                    status_code=status,
                    duration_ms=duration_ms,
                    injected=tuple(info.injected),
                )
            )
            logger = structlog.get_logger("reference_services")  # honours the current config
            event = logger.error if outcome == "error" else logger.info
            event(
                "service_call",
                service=service.value,
                campaign_id=str(info.campaign_id) if info.campaign_id else None,
                idempotency_key=info.idempotency_key,
                outcome=outcome,
                status=status,
                injected=info.injected or None,
                duration_ms=duration_ms,
            )


def _call_info(request: Request, service: ServiceName) -> CallInfo:
    info = request.scope.get(_CALL_SCOPE_KEY)
    if isinstance(info, CallInfo):
        return info
    info = CallInfo(service=service, idempotency_key=None)  # mounted without the middleware
    request.scope[_CALL_SCOPE_KEY] = info
    return info


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _oversize(body: bytes, minimum: int) -> bytes:
    """A content answer padded past `minimum` bytes: long body text, then JSON whitespace."""
    if len(body) > minimum:
        return body
    data = json.loads(body)
    filler = " This paragraph repeats to make the answer large."
    for piece in data.get("pieces", []):
        missing = minimum + 1 - len(_json_bytes(data))
        if missing <= 0:
            break
        room = 20_000 - len(piece["body"])
        if room > len(filler):
            count = min(room, missing + len(filler)) // len(filler)
            piece["body"] += filler * count
    padded = _json_bytes(data)
    if len(padded) <= minimum:
        padded += b" " * (minimum + 1 - len(padded))
    return padded


# --- the services ------------------------------------------------------------------------------


class ReferenceServices:
    """The state behind the app: settings, the ledger and the fault controller."""

    def __init__(self, settings: ReferenceSettings, faults: FaultConfig | None = None) -> None:
        self.settings = settings
        self.initial_faults = faults if faults is not None else settings.fault_config()
        self.faults = FaultController(self.initial_faults)
        self.ledger = Ledger(max_recorded_calls=settings.max_recorded_calls)
        # Asynchronous content productions (content_async_seconds): key -> when it is ready.
        self.ready_at: dict[str, float] = {}

    async def handle(
        self, service: ServiceName, request: Request, body: BaseModel, key: str
    ) -> Response:
        info = _call_info(request, service)
        info.idempotency_key = key
        campaign_id = getattr(body, "campaign_id", None)
        info.campaign_id = campaign_id if isinstance(campaign_id, UUID) else None
        info.request_hash = request_hash = behaviour.request_hash(body)

        decision = self.faults.draw(service)
        if decision.rate_limited:
            info.injected.append("rate_limited")
            info.outcome = "injected"
            rate = decision.config.rate_limit_per_second[service]
            return _problem(
                429,
                f"{service.value} allows {rate:g} calls per second; retry later.",
                headers={"Retry-After": str(max(1, math.ceil(1 / rate)))},
            )
        if decision.latency_seconds > 0:
            info.injected.append("latency")
            await asyncio.sleep(decision.latency_seconds)
        if decision.slow:
            info.injected.append("slow")

        early = await self._fault_before_ledger(decision, info)
        if early is not None:
            return early

        assert info.campaign_id is not None
        begin = self.ledger.begin(
            service,
            key,
            request_hash,
            info.campaign_id,
            once_per_campaign=service in ONCE_PER_CAMPAIGN,
        )
        replayed = False
        if begin.kind == "already_done":
            await asyncio.sleep(decision.slow_seconds)
            info.outcome = "conflict"
            assert begin.response is not None
            return JSONResponse(
                {
                    "detail": f"campaign {info.campaign_id} was already published; a campaign "
                    "publishes once (its receipt is attached).",
                    "code": ALREADY_PUBLISHED_CODE,
                    "receipt": json.loads(begin.response),
                },
                status_code=422,
            )
        if begin.kind == "conflict":
            await asyncio.sleep(decision.slow_seconds)
            info.outcome = "conflict"
            return JSONResponse(
                {
                    "detail": f"{IDEMPOTENCY_HEADER} {key!r} was already used for another "
                    f"request to {service.value} (campaign {begin.first_campaign_id}); use a new "
                    "key for a new request.",
                    "code": KEY_REUSED_CODE,
                },
                status_code=422,
            )
        if begin.kind == "in_progress":
            await asyncio.sleep(decision.slow_seconds)
            info.outcome = "in_progress"
            return _problem(
                409,
                f"A request with {IDEMPOTENCY_HEADER} {key!r} is still in progress; "
                "retry later with the same key.",
                headers={"Retry-After": "1"},
            )
        if begin.kind == "replay":
            await asyncio.sleep(decision.slow_seconds)
            assert begin.response is not None
            payload = begin.response
            replayed = True
            info.outcome = "replay"
        else:
            try:
                await asyncio.sleep(decision.slow_seconds)  # processing: the key is in progress
                artifact_id = behaviour.artifact_id_for(service, key)
                artifact = behaviour.respond(
                    service, body, artifact_id=artifact_id, now=datetime.now(UTC)
                )
                payload = _json_bytes(artifact.model_dump(mode="json"))
                self.ledger.complete(
                    service,
                    key,
                    payload,
                    request_hash=request_hash,
                    campaign_id=info.campaign_id,
                    artifact_id=artifact_id,
                )
            except Exception:
                self.ledger.abort(service, key, begin.token)
                info.outcome = "error"
                log.exception("service_error", service=service.value, idempotency_key=key)
                return _problem(500, f"{service.value} failed to process the request.")
            except BaseException:  # cancelled: nothing was recorded, the key is free again
                self.ledger.abort(service, key, begin.token)
                raise
            info.outcome = "effect"
        answer = self._answer(service, decision, info, payload, replayed)
        wait = decision.config.content_async_seconds
        if service is ServiceName.CONTENT and wait > 0 and answer.status_code == 200:
            return self.accepted(key, wait) or answer
        return answer

    def accepted(self, key: str, wait: float) -> Response | None:
        """202 Accepted with the production's status URL until it is ready (`wait` seconds after
        its first request); None once it is."""
        ready_at = self.ready_at.setdefault(key, time.monotonic() + wait)
        left = ready_at - time.monotonic()
        if left <= 0:
            return None
        return JSONResponse(
            {"status": "running", "ready_in_seconds": round(left, 3)},
            status_code=202,
            headers={
                "Location": CONTENT_JOB_PATH.format(key=quote(key, safe="")),
                "Retry-After": str(max(1, min(int(left), 5))),
            },
        )

    async def _fault_before_ledger(
        self, decision: FaultDecision, info: CallInfo
    ) -> Response | None:
        """The faults answered before the ledger is touched: nothing is recorded."""
        if decision.down:
            info.injected.append("down")
            info.outcome = "injected"
            return _problem(503, f"{info.service.value} is down (fault injection).")
        if decision.outcome == "throttle":
            await asyncio.sleep(decision.slow_seconds)
            info.injected.append("throttle")
            info.outcome = "injected"
            retry_after = decision.config.throttle_retry_after_seconds
            return _problem(
                429,
                f"{info.service.value} is throttling; retry after {retry_after}s "
                "(fault injection).",
                headers={"Retry-After": str(retry_after)},
            )
        if decision.outcome == "error" and not decision.error_after_effect:
            await asyncio.sleep(decision.slow_seconds)
            info.injected.append("error_before_effect")
            info.outcome = "injected"
            return _problem(
                decision.error_status,
                f"{info.service.value} failed before doing anything (fault injection).",
            )
        return None

    def _answer(
        self,
        service: ServiceName,
        decision: FaultDecision,
        info: CallInfo,
        payload: bytes,
        replayed: bool,
    ) -> Response:
        """The answer to a call that was processed (or replayed), with post-effect faults."""
        headers = {REPLAYED_HEADER: "true"} if replayed else {}
        if decision.outcome == "error":  # after the effect: the answer is lost
            info.injected.append("error_after_effect")
            return _problem(
                decision.error_status,
                f"{service.value} failed after doing its work (fault injection); "
                "retry with the same key.",
            )
        if decision.outcome == "malformed":
            info.injected.append("malformed")
            return Response(
                payload[: max(len(payload) // 2, 1)] + b"\x00<!-- truncated",
                status_code=200,
                media_type="application/json",
                headers=headers,
            )
        if decision.outcome == "wrong_schema":
            info.injected.append("wrong_schema")
            wrong = {
                "status": "ok",
                "service": service.value,
                "result": {"id": str(info.campaign_id), "items": []},
            }
            return Response(
                _json_bytes(wrong), status_code=200, media_type="application/json", headers=headers
            )
        if decision.outcome == "empty":
            info.injected.append("empty")
            return Response(b"", status_code=200, media_type="application/json", headers=headers)
        oversize = decision.oversize_bytes(service)
        if oversize > 0:
            info.injected.append("oversize")
            payload = _oversize(payload, oversize)
        return Response(payload, status_code=200, media_type="application/json", headers=headers)


# --- routes ------------------------------------------------------------------------------------


def _service_route(
    endpoint: Step[Any, Any], services: ReferenceServices
) -> Callable[..., Awaitable[Response]]:
    service = endpoint.service

    async def call_service(request: Request, body: BaseModel, idempotency_key: str) -> Response:
        return await services.handle(service, request, body, idempotency_key)

    # FastAPI reads the signature: the body is the endpoint's request model, the key a header.
    key_header = Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Required. One key per operation: the same for every retry of one step, a "
        "new one for a new attempt. A repeated key with the same body gets the stored answer "
        "(no new side effect); with another body, 422; while still in progress, 409.",
        examples=["5d0f8a52-...:9b1e-...:RADAR_SCAN:r0"],
    )
    call_service.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter(
                "body", inspect.Parameter.KEYWORD_ONLY, annotation=endpoint.request_model
            ),
            inspect.Parameter(
                "idempotency_key",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, key_header],
            ),
        ],
        return_annotation=Response,
    )
    call_service.__name__ = f"{service.value}_call"
    return call_service


def _bearer_dependency(settings: ReferenceSettings) -> list[DependsParam]:
    token = settings.require_token
    if token is None:
        return []
    scheme = HTTPBearer(
        auto_error=False,
        description="Required because the reference services were started with "
        "REFSVC_REQUIRE_TOKEN.",
    )
    expected = token.get_secret_value().encode()

    async def require_bearer(request: Request) -> None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            credentials.strip().encode(), expected
        ):
            raise HTTPException(
                status_code=401,
                detail="Missing or invalid bearer token (Authorization: Bearer <token>).",
                headers={"WWW-Authenticate": "Bearer"},
            )

    # The scheme (auto_error=False) only documents the security requirement in OpenAPI.
    return [Depends(scheme), Depends(require_bearer)]


_DESCRIPTION = f"""
Reference implementations of the six services the campaign orchestrator calls: radar, strategy,
content, quality, publisher and learning. Deterministic (the answer is a function of the request
body), idempotent (per `{IDEMPOTENCY_HEADER}`), with fault injection for testing.

**Every call** is `POST` with a JSON body of the request model and a `{IDEMPOTENCY_HEADER}` header.

* 2xx: success; the body validates against the response model.
* 408, 409, 425, 429 (with `Retry-After`) and 5xx: retried by the orchestrator with the same key.
* any other 4xx: the request is wrong; the step fails without retrying (SERVICE_REJECTED).
* a 2xx body that is not JSON or not of the response model: INVALID_SERVICE_RESPONSE.

The `/admin` routes read back the side effects and change the injected faults at run time.
"""


def create_app(
    settings: ReferenceSettings | None = None, *, faults: FaultConfig | None = None
) -> FastAPI:
    """The app. `faults` overrides the initial fault config the settings describe."""
    settings = settings or ReferenceSettings()
    services = ReferenceServices(settings, faults)
    app = FastAPI(
        title="Campaign reference services",
        version="1.0.0",
        description=_DESCRIPTION,
        openapi_tags=[
            *(
                {"name": e.service.value, "description": f"{e.state.value} step: {e.summary}"}
                for e in ENDPOINTS.values()
            ),
            {"name": "admin", "description": "Read-back and fault injection (not a service)."},
            {"name": "ops", "description": "Health."},
        ],
    )
    app.state.services = services
    auth = _bearer_dependency(settings)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        for error in exc.errors():
            loc = [str(part).lower() for part in error.get("loc", ())]
            if loc[:2] == ["header", IDEMPOTENCY_HEADER.lower()]:
                return _problem(
                    400,
                    f"The {IDEMPOTENCY_HEADER} header is required: 1 to "
                    f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters, the same for every retry of one "
                    "operation.",
                )
        return await request_validation_exception_handler(request, exc)

    for endpoint in ENDPOINTS.values():
        app.add_api_route(
            endpoint.path,
            _service_route(endpoint, services),
            methods=["POST"],
            response_model=endpoint.response_model,
            summary=endpoint.summary,
            description=(
                f"**{endpoint.state.value}** step. Request: `{endpoint.request_model.__name__}`; "
                f"answer: `{endpoint.response_model.__name__}`. Requires the "
                f"`{IDEMPOTENCY_HEADER}` header; the side effect happens at most once per key."
            ),
            tags=[endpoint.service.value],
            operation_id=f"{endpoint.service.value}_{endpoint.state.value.lower()}",
            responses=SERVICE_RESPONSES,
            dependencies=auth,
        )

    @app.get(
        PUBLICATION_LOOKUP_PATH,
        tags=[ServiceName.PUBLISHER.value],
        summary="The campaign's publication, if it was published.",
        description="200 with the receipt of the campaign's one publication; 404 if it was "
        "never published. The orchestrator asks when a run begins, so a later run of a "
        "published campaign never publishes it again.",
        operation_id="publisher_find_publication",
        response_model=PublishReceipt,
        responses={404: _problem_response("Never published.")},
        dependencies=auth,
    )
    async def find_publication(campaign_id: UUID) -> Response:
        answer = services.ledger.answer_for_campaign(ServiceName.PUBLISHER, campaign_id)
        if answer is None:
            return _problem(404, f"campaign {campaign_id} was never published.")
        return Response(answer, media_type="application/json")

    @app.get(
        CONTENT_JOB_PATH,
        tags=[ServiceName.CONTENT.value],
        summary="The status of an asynchronous production (content_async_seconds).",
        description="202 while the production runs (with `Retry-After`), then 200 with the "
        "content, as the production's POST would have answered; 404 for an unknown key.",
        operation_id="content_production_status",
        response_model=ProducedContent,
        responses={
            202: {"description": "Still running: ask again after `Retry-After` seconds."},
            404: _problem_response("No production with this key."),
        },
        dependencies=auth,
    )
    async def content_production_status(key: str) -> Response:
        answer = services.ledger.answer_for_key(ServiceName.CONTENT, key)
        if answer is None:
            return _problem(404, f"no content production with {IDEMPOTENCY_HEADER} {key!r}.")
        wait = services.faults.config.content_async_seconds
        still = services.accepted(key, wait) if key in services.ready_at else None
        return still or Response(answer, media_type="application/json")

    # --- admin -------------------------------------------------------------------------------

    @app.get("/healthz", tags=["ops"], summary="Liveness.")
    async def healthz() -> Health:
        return Health()

    @app.get(
        "/admin/effects",
        tags=["admin"],
        summary="The side effects performed, oldest first.",
        dependencies=auth,
    )
    async def list_effects(
        service: ServiceQuery = None, campaign_id: CampaignQuery = None
    ) -> list[EffectOut]:
        return [EffectOut.model_validate(e) for e in services.ledger.effects(service, campaign_id)]

    @app.get(
        "/admin/effects/count",
        tags=["admin"],
        summary="How many side effects, e.g. how many times a campaign was published.",
        dependencies=auth,
    )
    async def count_effects(
        service: ServiceQuery = None, campaign_id: CampaignQuery = None
    ) -> EffectCount:
        count = len(services.ledger.effects(service, campaign_id))
        return EffectCount(count=count, service=service, campaign_id=campaign_id)

    @app.get(
        "/admin/calls",
        tags=["admin"],
        summary="The calls received (replays, rejections and injected faults too), oldest first.",
        dependencies=auth,
    )
    async def list_calls(
        service: ServiceQuery = None,
        campaign_id: CampaignQuery = None,
        limit: Annotated[int | None, Query(ge=1, description="Only the last N.")] = None,
    ) -> list[CallOut]:
        return [
            CallOut.model_validate(c) for c in services.ledger.calls(service, campaign_id, limit)
        ]

    @app.get("/admin/stats", tags=["admin"], summary="Counters per service.", dependencies=auth)
    async def stats() -> Stats:
        return Stats(
            services={s: ServiceStats.model_validate(c) for s, c in services.ledger.stats().items()}
        )

    @app.post(
        "/admin/reset",
        tags=["admin"],
        summary="Clear the ledger and the counters (and, with faults=true, restore the initial "
        "fault config).",
        dependencies=auth,
    )
    async def reset(
        faults: Annotated[bool, Query(description="Also restore the initial faults.")] = False,
    ) -> ResetDone:
        services.ledger.reset()
        current = (
            services.faults.replace(services.initial_faults) if faults else services.faults.config
        )
        log.info("admin_reset", faults_restored=faults)
        return ResetDone(faults=current)

    @app.get(
        "/admin/faults", tags=["admin"], summary="The current fault config.", dependencies=auth
    )
    async def get_faults() -> FaultConfig:
        return services.faults.config

    @app.put(
        "/admin/faults",
        tags=["admin"],
        summary="Replace the fault config (omitted fields take their defaults; re-seeds).",
        dependencies=auth,
        responses={400: _problem_response("The body is not JSON.")},
    )
    async def put_faults(config: FaultConfig) -> FaultConfig:
        log.info("admin_faults", faults=config.model_dump(mode="json"))
        return services.faults.replace(config)

    @app.patch(
        "/admin/faults",
        tags=["admin"],
        summary="Change some fault knobs, keep the others (re-seeds).",
        dependencies=auth,
        responses={400: _problem_response("The body is not JSON.")},
    )
    async def patch_faults(changes: dict[str, Any]) -> FaultConfig:
        merged = {**services.faults.config.model_dump(), **changes}
        try:
            config = FaultConfig.model_validate(merged)
        except ValidationError as err:
            raise RequestValidationError(err.errors(include_url=False)) from err
        log.info("admin_faults", faults=config.model_dump(mode="json"))
        return services.faults.replace(config)

    paths = {e.path: e.service for e in ENDPOINTS.values()}
    app.add_middleware(CallRecorder, ledger=services.ledger, paths=paths)
    return app
