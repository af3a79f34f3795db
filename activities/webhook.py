"""Delivery of signed state-change events to CAMPAIGN_WEBHOOK_URL (see contracts/events.py).

The body is signed with HMAC-SHA256 under CAMPAIGN_WEBHOOK_SECRET; receivers check it with
`verify_signature`. Errors never quote the URL (webhook URLs often carry a secret themselves).
"""

from __future__ import annotations

import hashlib
import hmac

import httpx
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from activities.http_errors import RETRYABLE_4XX, retry_after
from contracts.events import EVENT_ID_HEADER, SIGNATURE_HEADER, TransitionEvent
from contracts.webhook_outbox import WEBHOOK_REJECTED, WEBHOOK_UNAVAILABLE


def sign(body: bytes, secret: bytes) -> str:
    """The X-Campaign-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: bytes, header: str | None) -> bool:
    """For receivers: does `header` (X-Campaign-Signature) sign `body` under `secret`?"""
    return header is not None and hmac.compare_digest(sign(body, secret), header.strip())


class WebhookNotifier:
    """POSTs one event, signed; raises a retryable ApplicationError when it should be retried."""

    def __init__(self, http: httpx.AsyncClient, url: str, secret: SecretStr) -> None:
        if not secret.get_secret_value():
            raise ValueError("CAMPAIGN_WEBHOOK_SECRET must not be empty")
        self._http = http
        self._url = url
        self._secret = secret

    async def deliver(self, event: TransitionEvent) -> int:
        body = event.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret.get_secret_value().encode()),
            EVENT_ID_HEADER: event.event_id,
            "Idempotency-Key": event.event_id,
        }
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError as err:
            raise ApplicationError(
                f"webhook unreachable: {type(err).__name__}", type=WEBHOOK_UNAVAILABLE
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return status
        if status >= 500 or status in RETRYABLE_4XX:
            raise ApplicationError(
                f"webhook answered {status} to event {event.event_id}",
                type=WEBHOOK_UNAVAILABLE,
                next_retry_delay=retry_after(response),
            )
        raise ApplicationError(
            f"webhook refused event {event.event_id} with {status}",
            type=WEBHOOK_REJECTED,
            non_retryable=True,
        )
