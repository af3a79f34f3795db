"""How HTTP outcomes map onto Temporal: which errors retry, and with what FailureReason.

Retried by Temporal (retryable ApplicationError): connection errors and timeouts, 5xx, and
408/409/425/429 (honouring Retry-After). Not retried: any other 4xx (SERVICE_REJECTED), a 2xx
body that is not JSON or breaks the contract (INVALID_SERVICE_RESPONSE), an oversized answer
(PAYLOAD_TOO_LARGE), and the two 422 problems with a `code`: `already_published`
(ALREADY_PUBLISHED, the first receipt as the error's details) and `idempotency_key_reused`
(IDEMPOTENCY_CONFLICT).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from temporalio.exceptions import ApplicationError

from contracts import ALREADY_PUBLISHED_CODE, KEY_REUSED_CODE, FailureReason

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_RETRY_AFTER = timedelta(minutes=10)


def failure(
    reason: FailureReason,
    message: str,
    *details: Any,
    next_retry_delay: timedelta | None = None,
) -> ApplicationError:
    """An ApplicationError whose `type` is the FailureReason; retryability follows the reason."""
    return ApplicationError(
        message,
        *details,
        type=reason.value,
        non_retryable=not reason.retryable_by_temporal,
        next_retry_delay=next_retry_delay,
    )


def retry_after(response: httpx.Response, now: datetime | None = None) -> timedelta | None:
    """The Retry-After header as a delay (delta-seconds or HTTP-date), capped; None if absent."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    delay: timedelta
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - (now or datetime.now(UTC))
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def _snippet(body: bytes, encoding: str | None, limit: int = 300) -> str:
    try:
        text = body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def error_for_status(
    response: httpx.Response, service: str, *, body: bytes
) -> ApplicationError | None:
    """None for 2xx; otherwise the ApplicationError that tells Temporal what to do. `body` is
    what was read of the answer (its start, for a large error page): it is quoted."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    where = f"{service} answered {status} to {response.request.method} {response.request.url.path}"
    detail = _snippet(body, response.charset_encoding)
    if status >= 500 or status in RETRYABLE_4XX:
        return failure(
            FailureReason.SERVICE_UNAVAILABLE,
            f"{where}: {detail}",
            next_retry_delay=retry_after(response),
        )
    if status == 413:
        return failure(FailureReason.PAYLOAD_TOO_LARGE, f"{where}: {detail}")
    problem = _problem(body) if status == 422 else {}
    if problem.get("code") == ALREADY_PUBLISHED_CODE:
        return failure(
            FailureReason.ALREADY_PUBLISHED, f"{where}: {detail}", problem.get("receipt")
        )
    if problem.get("code") == KEY_REUSED_CODE:
        return failure(FailureReason.IDEMPOTENCY_CONFLICT, f"{where}: {detail}")
    return failure(FailureReason.SERVICE_REJECTED, f"{where}: {detail}")


def _problem(body: bytes) -> dict[str, Any]:
    """A JSON problem body as a dict; {} when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def redacted(url: str) -> str:
    """`url` with any user name and password replaced by `***` (for logs and error messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"***@{host}{port}"))


def error_for_transport(err: httpx.TransportError, service: str, url: str) -> ApplicationError:
    url = redacted(url)
    if isinstance(err, httpx.TimeoutException):
        return failure(
            FailureReason.TIMEOUT,
            f"{service} did not answer in time ({type(err).__name__}) at {url}",
        )
    return failure(
        FailureReason.SERVICE_UNAVAILABLE,
        f"cannot reach {service} at {url}: {type(err).__name__}: {err}",
    )
