"""Webhook delivery: the HMAC signature receivers check, and which answers are retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from activities.webhook import (
    WebhookNotifier,
    sign,
    verify_signature,
)
from contracts import CampaignState
from contracts.events import EVENT_ID_HEADER, SIGNATURE_HEADER, TransitionEvent
from contracts.webhook_outbox import WEBHOOK_REJECTED, WEBHOOK_UNAVAILABLE

SECRET = "whsec-unit-" + uuid.uuid4().hex
CAMPAIGN_ID = uuid.uuid4()
URL = "https://hooks.example.test/campaigns?token=url-secret-123"


def event() -> TransitionEvent:
    return TransitionEvent(
        event_id="campaign-x/run-y/2",
        type="step_started",
        campaign_id=CAMPAIGN_ID,
        workflow_id="campaign-x",
        run_id="run-y",
        seq=2,
        at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        state=CampaignState.RADAR_SCAN,
        retry_count=0,
        details={"service": "radar"},
    )


def test_signature_verifies_only_the_same_body_and_secret() -> None:
    body = b'{"a":1}'
    header = sign(body, b"key")
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verify_signature(body, b"key", header)
    assert verify_signature(body, b"key", f" {header} ")
    assert not verify_signature(body, b"other", header)
    assert not verify_signature(body + b" ", b"key", header)
    assert not verify_signature(body, b"key", None)


def test_signature_is_hmac_sha256_hex() -> None:
    body = b'{"type":"step_started"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, b"s3cret") == f"sha256={expected}"


async def test_delivery_is_signed_json_with_an_event_id() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        status = await WebhookNotifier(http, URL, SecretStr(SECRET)).deliver(event())
    assert status == 204
    [request] = requests
    body = request.content
    assert verify_signature(body, SECRET.encode(), request.headers[SIGNATURE_HEADER])
    assert (
        request.headers[EVENT_ID_HEADER] == request.headers["Idempotency-Key"] == event().event_id
    )
    assert TransitionEvent.model_validate(json.loads(body)) == event()
    assert SECRET not in body.decode() and SECRET not in str(request.headers)


@pytest.mark.parametrize(
    "answer, kind, retryable, delay",
    [
        (httpx.Response(503), WEBHOOK_UNAVAILABLE, True, None),
        (httpx.Response(500), WEBHOOK_UNAVAILABLE, True, None),
        (httpx.Response(429, headers={"Retry-After": "7"}), WEBHOOK_UNAVAILABLE, True, 7),
        (httpx.Response(404), WEBHOOK_REJECTED, False, None),
        (httpx.Response(401), WEBHOOK_REJECTED, False, None),
    ],
)
async def test_answers_map_to_retry_or_give_up(
    answer: httpx.Response, kind: str, retryable: bool, delay: int | None
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answer)) as http:
        with pytest.raises(ApplicationError) as err:
            await WebhookNotifier(http, URL, SecretStr(SECRET)).deliver(event())
    assert err.value.type == kind
    assert err.value.non_retryable is (not retryable)
    assert err.value.next_retry_delay == (timedelta(seconds=delay) if delay else None)
    assert "url-secret-123" not in str(err.value) and "hooks.example.test" not in str(err.value)


async def test_unreachable_webhook_is_retried_and_the_url_is_not_quoted() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ApplicationError) as err:
            await WebhookNotifier(http, URL, SecretStr(SECRET)).deliver(event())
    assert err.value.type == WEBHOOK_UNAVAILABLE and not err.value.non_retryable
    assert "url-secret-123" not in str(err.value)


async def test_an_empty_secret_is_refused() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="must not be empty"):
            WebhookNotifier(http, URL, SecretStr(""))
