"""The HTTP-to-Temporal mapping of the step activities, against httpx.MockTransport (no network)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import CampaignActivities, ServiceClient
from activities.http_errors import MAX_RETRY_AFTER, redacted, retry_after
from contracts import (
    ENDPOINTS,
    IDEMPOTENCY_HEADER,
    STEPS,
    CampaignBrief,
    CampaignState,
    Channel,
    ContentPiece,
    FailureReason,
    LearningSummary,
    ProducedContent,
    PublishedItem,
    PublishReceipt,
    QualityReport,
    QualityVerdict,
    RadarScanRequest,
    ServiceName,
    Step,
    StepCall,
    StrategyBrief,
    Trend,
    TrendReport,
)

BASE = "http://svc.test"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def sample_response(service: ServiceName) -> BaseModel:
    common: dict[str, Any] = {"artifact_id": uuid.uuid4(), "produced_at": NOW}
    factories: dict[ServiceName, Callable[[], BaseModel]] = {
        ServiceName.RADAR: lambda: TrendReport(
            **common, trends=[Trend(topic="spring", score=0.7, source="news")]
        ),
        ServiceName.STRATEGY: lambda: StrategyBrief(
            **common, positioning="simple", key_messages=["easy"], channels=[Channel.EMAIL]
        ),
        ServiceName.CONTENT: lambda: ProducedContent(
            **common,
            revision=0,
            pieces=[
                ContentPiece(channel=Channel.EMAIL, headline="Hi", body="Body", call_to_action="Go")
            ],
        ),
        ServiceName.QUALITY: lambda: QualityReport(
            **common, verdict=QualityVerdict.PASS, audited_revision=0
        ),
        ServiceName.PUBLISHER: lambda: PublishReceipt(
            **common,
            publication_id="pub-1",
            items=[PublishedItem(channel=Channel.EMAIL, url="https://x.test/1")],
            published_at=NOW,
        ),
        ServiceName.LEARNING: lambda: LearningSummary(**common, predicted_engagement=0.4),
    }
    return factories[service]()


def trend_body() -> bytes:
    return sample_response(ServiceName.RADAR).model_dump_json().encode()


def radar_call(key: str = "camp:exec:RADAR_SCAN:r0") -> StepCall[RadarScanRequest]:
    return StepCall[RadarScanRequest](
        idempotency_key=key,
        request=RadarScanRequest(
            campaign_id=uuid.uuid4(),
            brief=CampaignBrief(
                name="Spring", objective="Grow sign-ups", audience="Retail", channels=["email"]
            ),
        ),
    )


class Recorder:
    """A MockTransport handler that records requests and answers what the test says."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def client_for(
    answer: Handler,
    *,
    tokens: dict[ServiceName, SecretStr | None] | None = None,
    max_response_bytes: int = 512 * 1024,
    base: str = BASE,
) -> tuple[ServiceClient, Recorder]:
    recorder = Recorder(answer)
    # The worker's default timeouts (CAMPAIGN_HTTP_TIMEOUT_SECONDS, ..._CONNECT_TIMEOUT_SECONDS).
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder), timeout=httpx.Timeout(10.0, connect=5.0)
    )
    services = ServiceClient(
        http,
        base_urls={s: base for s in ServiceName},
        tokens=tokens,
        max_response_bytes=max_response_bytes,
    )
    return services, recorder


def answer(status: int, content: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, content=content, headers=headers)


async def radar_error(handler: Handler, **kwargs: Any) -> ApplicationError:
    services, _ = client_for(handler, **kwargs)
    with pytest.raises(ApplicationError) as err:
        await CampaignActivities(services).step(CampaignState.RADAR_SCAN)(radar_call())
    return err.value


# ---- success and the request that is sent ------------------------------------------------------


async def test_success_returns_the_model_and_sends_the_contract() -> None:
    body = trend_body()
    services, recorder = client_for(answer(200, body))
    call = radar_call("c1:e1:RADAR_SCAN:r0")

    result = await CampaignActivities(services).step(CampaignState.RADAR_SCAN)(call)

    assert isinstance(result, TrendReport)
    assert result == TrendReport.model_validate_json(body)
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == BASE + ENDPOINTS[ServiceName.RADAR].path
    assert request.headers[IDEMPOTENCY_HEADER] == "c1:e1:RADAR_SCAN:r0"
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert json.loads(request.content) == json.loads(call.request.model_dump_json())
    assert RadarScanRequest.model_validate_json(request.content) == call.request


async def test_activity_runs_in_an_activity_context() -> None:
    services, recorder = client_for(answer(200, trend_body()))
    activities = CampaignActivities(services)
    result = await ActivityEnvironment().run(
        activities.step(CampaignState.RADAR_SCAN), radar_call("k-env")
    )
    assert isinstance(result, TrendReport)
    assert recorder.requests[0].headers[IDEMPOTENCY_HEADER] == "k-env"

    failing, _ = client_for(answer(503, b"down"))
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            CampaignActivities(failing).step(CampaignState.RADAR_SCAN), radar_call()
        )
    assert err.value.type == FailureReason.SERVICE_UNAVAILABLE.value


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.activity)
async def test_each_activity_calls_its_service(step: Step[Any, Any]) -> None:
    service = step.service
    expected = sample_response(service)
    services, recorder = client_for(answer(200, expected.model_dump_json().encode()))
    activities = CampaignActivities(services)
    activity_method = activities.step(step.state)
    assert activity_method in activities.all()
    assert activity_method.__name__ == step.activity  # the type name the workflow schedules
    # The request's type does not matter to the HTTP layer: it is sent as it is.
    result = await activity_method(radar_call(f"key-{service}"))
    assert result == expected
    assert type(result) is ENDPOINTS[service].response_model
    [request] = recorder.requests
    assert request.url.path == ENDPOINTS[service].path
    assert request.headers[IDEMPOTENCY_HEADER] == f"key-{service}"


async def test_bearer_token_only_for_services_that_have_one() -> None:
    services, recorder = client_for(
        answer(200, trend_body()),
        tokens={ServiceName.RADAR: SecretStr("s3cret"), ServiceName.STRATEGY: None},
    )
    await services.call(ServiceName.RADAR, radar_call(), TrendReport)
    await services.call(ServiceName.STRATEGY, radar_call(), TrendReport)
    await services.call(ServiceName.CONTENT, radar_call(), TrendReport)
    radar, strategy, content = recorder.requests
    assert radar.headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in strategy.headers
    assert "Authorization" not in content.headers


async def test_trailing_slash_of_base_url_is_ignored() -> None:
    services, recorder = client_for(answer(200, trend_body()), base=BASE + "/")
    await services.call(ServiceName.RADAR, radar_call(), TrendReport)
    assert str(recorder.requests[0].url) == BASE + "/v1/radar/scans"


def test_missing_base_url_is_a_value_error() -> None:
    urls: dict[ServiceName, str] = {s: BASE for s in ServiceName if s is not ServiceName.LEARNING}
    with pytest.raises(ValueError, match="learning"):
        ServiceClient(httpx.AsyncClient(), base_urls=urls)


# ---- status codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 409, 425, 429])
async def test_retryable_statuses(status: int) -> None:
    err = await radar_error(answer(status, b"try later"))
    assert err.type == FailureReason.SERVICE_UNAVAILABLE.value
    assert err.non_retryable is False
    assert str(status) in err.message
    assert "try later" in err.message
    assert err.next_retry_delay is None


async def test_retry_after_seconds_sets_next_retry_delay() -> None:
    err = await radar_error(answer(429, b"slow down", {"Retry-After": "7"}))
    assert err.type == FailureReason.SERVICE_UNAVAILABLE.value
    assert not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)


async def test_retry_after_http_date_sets_next_retry_delay() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    err = await radar_error(answer(503, b"", {"Retry-After": format_datetime(when, usegmt=True)}))
    assert err.type == FailureReason.SERVICE_UNAVAILABLE.value
    assert err.next_retry_delay is not None
    assert timedelta(seconds=100) < err.next_retry_delay <= timedelta(seconds=120)


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("7", timedelta(seconds=7)),
        (" 0 ", timedelta(0)),
        ("Sat, 01 Mar 2025 12:00:30 GMT", timedelta(seconds=30)),
        ("Sat, 01 Mar 2025 11:00:00 GMT", timedelta(0)),  # in the past
        ("86400", MAX_RETRY_AFTER),  # capped
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_parsing(value: str, delay: timedelta | None) -> None:
    response = httpx.Response(429, headers={"Retry-After": value})
    assert retry_after(response, now=NOW) == delay


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_rejected_without_retry(status: int) -> None:
    err = await radar_error(answer(status, b'{"detail": "brief.name   is\n wrong"}'))
    assert err.type == FailureReason.SERVICE_REJECTED.value
    assert err.non_retryable is True
    assert f"answered {status}" in err.message
    assert "/v1/radar/scans" in err.message
    assert 'brief.name is wrong"' in err.message  # body snippet, whitespace collapsed


async def test_long_error_body_is_truncated_in_the_message() -> None:
    err = await radar_error(answer(400, b"x" * 5000))
    assert err.message.endswith("x" * 300 + "...")
    assert len(err.message) < 500


async def test_413_is_payload_too_large() -> None:
    err = await radar_error(answer(413, b"too big"))
    assert err.type == FailureReason.PAYLOAD_TOO_LARGE.value
    assert err.non_retryable is True


# ---- bodies ------------------------------------------------------------------------------------


async def test_non_json_body_is_an_invalid_response() -> None:
    err = await radar_error(answer(200, b"<html>hello</html>"))
    assert err.type == FailureReason.INVALID_SERVICE_RESPONSE.value
    assert err.non_retryable is True
    assert "not JSON" in err.message


async def test_empty_body_is_an_invalid_response() -> None:
    err = await radar_error(answer(200, b""))
    assert err.type == FailureReason.INVALID_SERVICE_RESPONSE.value
    assert err.non_retryable is True


async def test_wrong_schema_names_the_bad_field() -> None:
    data = json.loads(trend_body())
    data["trends"][0]["score"] = 7
    err = await radar_error(answer(200, json.dumps(data).encode()))
    assert err.type == FailureReason.INVALID_SERVICE_RESPONSE.value
    assert err.non_retryable is True
    assert "TrendReport" in err.message
    assert "trends.0.score" in err.message


async def test_unknown_field_in_response_breaks_the_contract() -> None:
    data = json.loads(trend_body())
    data["surprise"] = 1
    err = await radar_error(answer(200, json.dumps(data).encode()))
    assert err.type == FailureReason.INVALID_SERVICE_RESPONSE.value
    assert "surprise" in err.message


async def test_body_over_the_cap_is_payload_too_large() -> None:
    body = trend_body()
    services, _ = client_for(answer(200, body), max_response_bytes=len(body))
    assert isinstance(
        await services.call(ServiceName.RADAR, radar_call(), TrendReport), TrendReport
    )

    err = await radar_error(answer(200, body), max_response_bytes=len(body) - 1)
    assert err.type == FailureReason.PAYLOAD_TOO_LARGE.value
    assert err.non_retryable is True
    assert str(len(body) - 1) in err.message


@pytest.mark.parametrize(
    ("status", "reason", "non_retryable"),
    [
        (503, FailureReason.SERVICE_UNAVAILABLE, False),
        (400, FailureReason.SERVICE_REJECTED, True),
    ],
)
async def test_error_body_over_the_cap_is_classified_by_status(
    status: int, reason: FailureReason, non_retryable: bool
) -> None:
    """A big error page (from a proxy, say) is not an artifact: its status decides."""
    err = await radar_error(answer(status, b"e" * 5000), max_response_bytes=1000)
    assert err.type == reason.value
    assert err.non_retryable is non_retryable
    assert "e" * 300 + "..." in err.message


# ---- transport errors --------------------------------------------------------------------------


def raising(exc_type: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)

    return handler


@pytest.mark.parametrize(
    ("exc_type", "reason"),
    [
        (httpx.ConnectError, FailureReason.SERVICE_UNAVAILABLE),
        (httpx.RemoteProtocolError, FailureReason.SERVICE_UNAVAILABLE),
        (httpx.ReadTimeout, FailureReason.TIMEOUT),
        (httpx.ConnectTimeout, FailureReason.TIMEOUT),
    ],
)
async def test_transport_errors_are_retryable(
    exc_type: type[httpx.TransportError], reason: FailureReason
) -> None:
    err = await radar_error(raising(exc_type))
    assert err.type == reason.value
    assert err.non_retryable is False
    assert BASE in err.message
    assert exc_type.__name__ in err.message


async def test_typed_422_problems_map_to_their_reasons() -> None:
    receipt = sample_response(ServiceName.PUBLISHER).model_dump(mode="json")
    published = json.dumps(
        {"detail": "already published", "code": "already_published", "receipt": receipt}
    ).encode()
    err = await radar_error(answer(422, published))
    assert err.type == FailureReason.ALREADY_PUBLISHED and err.non_retryable
    assert err.details == (receipt,)
    reused = json.dumps({"detail": "key reused", "code": "idempotency_key_reused"}).encode()
    err = await radar_error(answer(422, reused))
    assert err.type == FailureReason.IDEMPOTENCY_CONFLICT and err.non_retryable
    plain = await radar_error(answer(422, b'{"detail": "bad body"}'))
    assert plain.type == FailureReason.SERVICE_REJECTED


async def test_find_publication_reads_the_receipt_or_none() -> None:
    receipt = sample_response(ServiceName.PUBLISHER)
    campaign_id = uuid.uuid4()
    services, recorder = client_for(answer(200, receipt.model_dump_json().encode()))
    found = await services.find_publication(str(campaign_id))
    assert found.receipt == receipt
    assert recorder.requests[0].method == "GET"
    assert recorder.requests[0].url.path == f"/v1/publisher/publications/{campaign_id}"
    services, _ = client_for(answer(404, b'{"detail": "never published"}'))
    assert (await services.find_publication(str(campaign_id))).receipt is None
    services, _ = client_for(answer(503, b"down"))
    with pytest.raises(ApplicationError) as err:
        await services.find_publication(str(campaign_id))
    assert err.value.type == FailureReason.SERVICE_UNAVAILABLE


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pa55@svc.test:8700/x?q=1", "http://***@svc.test:8700/x?q=1"),
        ("https://token@svc.test/", "https://***@svc.test/"),
        ("http://[::1]:8700", "http://[::1]:8700"),
        ("http://u:p@[::1]:8700", "http://***@[::1]:8700"),
        ("http://svc.test:8700", "http://svc.test:8700"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert redacted(url) == shown


async def test_a_transport_error_never_quotes_the_urls_credentials() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    err = await radar_error(refuse, base="http://user:pa55@svc.test")
    assert "pa55" not in err.message and "user" not in err.message
    assert "http://***@svc.test/v1/radar/scans" in err.message


# ---- how long a step's call may wait ---------------------------------------------------------


def timeout_of(request: httpx.Request) -> dict[str, float | None]:
    timeout: dict[str, float | None] = request.extensions["timeout"]
    return timeout


async def timeout_of_step(start_to_close: timedelta) -> dict[str, float | None]:
    """The HTTP timeout of the radar step's call, in an activity with this start-to-close."""
    services, recorder = client_for(answer(200, trend_body()))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, start_to_close_timeout=start_to_close)
    await env.run(CampaignActivities(services).step(CampaignState.RADAR_SCAN), radar_call())
    return timeout_of(recorder.requests[0])


async def test_a_steps_call_waits_as_long_as_its_start_to_close_allows() -> None:
    """A step configured for ten minutes is not cut off by the client's 10 s (issue 13, point 0)."""
    timeout = await timeout_of_step(timedelta(minutes=10))
    assert timeout["read"] == timeout["write"] == timeout["pool"] == 599.0
    assert timeout["connect"] == 5.0  # the client's connect timeout, shorter, stays


async def test_a_short_step_leaves_its_call_a_little_less_than_its_timeout() -> None:
    timeout = await timeout_of_step(timedelta(seconds=2))
    assert timeout["read"] == pytest.approx(1.8) and timeout["connect"] == pytest.approx(1.8)


async def test_outside_an_activity_the_clients_own_timeout_applies() -> None:
    services, recorder = client_for(answer(200, trend_body()))
    await services.call(ServiceName.RADAR, radar_call(), TrendReport)
    assert timeout_of(recorder.requests[0]) == {
        "connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0,
    }  # fmt: skip


# ---- long work: 202 Accepted and a status URL -------------------------------------------------


def accepted(location: str | None = "/v1/radar/scans/jobs/k1") -> httpx.Response:
    headers = {"Retry-After": "0"} | ({"Location": location} if location else {})
    return httpx.Response(202, json={"status": "running"}, headers=headers)


async def test_a_202_is_followed_at_its_status_url_until_it_answers() -> None:
    answers = iter([accepted(), accepted(), httpx.Response(200, content=trend_body())])
    services, recorder = client_for(
        lambda request: next(answers), tokens={ServiceName.RADAR: SecretStr("s3cret")}
    )
    result = await services.call(ServiceName.RADAR, radar_call(), TrendReport)
    assert isinstance(result, TrendReport)
    post, *polls = recorder.requests
    assert post.method == "POST" and [p.method for p in polls] == ["GET", "GET"]
    assert {str(p.url) for p in polls} == {BASE + "/v1/radar/scans/jobs/k1"}
    assert all(p.headers["Authorization"] == "Bearer s3cret" for p in polls)


async def test_a_202_heartbeats_while_it_waits() -> None:
    answers = iter([accepted(), accepted(), httpx.Response(200, content=trend_body())])
    services, _ = client_for(lambda request: next(answers))
    env = ActivityEnvironment()
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    await env.run(CampaignActivities(services).step(CampaignState.RADAR_SCAN), radar_call())
    assert len(beats) == 2  # one before each wait


async def test_a_202_without_a_location_breaks_the_contract() -> None:
    err = await radar_error(lambda request: accepted(location=None))
    assert err.type == FailureReason.INVALID_SERVICE_RESPONSE.value and err.non_retryable
    assert "without a Location" in err.message


async def test_a_status_url_that_fails_is_retried_as_any_answer() -> None:
    answers = iter([accepted(), httpx.Response(503, text="down")])
    err = await radar_error(lambda request: next(answers))
    assert err.type == FailureReason.SERVICE_UNAVAILABLE.value and not err.non_retryable
