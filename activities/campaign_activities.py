"""One Temporal activity per step; each makes one HTTP call to its service.

The step activities are made from the table of steps (contracts.STEPS): one per row, named by
its `activity` (what the workflow schedules), calling its endpoint with its models. They share
one ServiceClient, which holds the shared `httpx.AsyncClient` and the per-service base URLs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from temporalio import activity

from activities.http_errors import error_for_status, error_for_transport, failure, retry_after
from activities.webhook import WebhookNotifier
from contracts import (
    ENDPOINTS,
    IDEMPOTENCY_HEADER,
    PUBLICATION_LOOKUP_PATH,
    STEPS,
    CampaignState,
    FailureReason,
    PublicationLookup,
    PublicationRecord,
    PublishReceipt,
    ServiceName,
    Step,
    StepCall,
)
from contracts.base import Artifact, describe_errors
from contracts.events import TransitionEvent

ResponseT = TypeVar("ResponseT", bound=BaseModel)
ArtifactT = TypeVar("ArtifactT", bound=Artifact)
NOTIFY_TRANSITION = "notify_transition"
FIND_PUBLICATION = "find_publication"
# How often a 202 Accepted answer's status URL is asked, without and within its Retry-After.
ACCEPTED_POLL_DEFAULT = timedelta(seconds=1)
ACCEPTED_POLL_MIN = timedelta(milliseconds=50)
ACCEPTED_POLL_MAX = timedelta(seconds=30)
log = logging.getLogger(__name__)


class ServiceClient:
    """Calls one endpoint of one service and turns every outcome into a result or a typed error."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_urls: Mapping[ServiceName, str],
        tokens: Mapping[ServiceName, SecretStr | None] | None = None,
        max_response_bytes: int = 512 * 1024,
    ) -> None:
        missing = set(ServiceName) - set(base_urls)
        if missing:
            raise ValueError(f"no base URL for services: {', '.join(sorted(missing))}")
        self._http = http
        self._base_urls = {s: u.rstrip("/") for s, u in base_urls.items()}
        self._tokens = dict(tokens or {})
        self._max_response_bytes = max_response_bytes

    async def call(
        self, service: ServiceName, call: StepCall[Any], response_model: type[ResponseT]
    ) -> ResponseT:
        endpoint = ENDPOINTS[service]
        url = self._base_urls[service] + endpoint.path
        headers = {IDEMPOTENCY_HEADER: call.idempotency_key}
        token = self._tokens.get(service)
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        body = call.request.model_dump_json().encode()
        try:
            async with self._http.stream(
                "POST",
                url,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=step_timeout(self._http.timeout),
            ) as response:
                content = await self._read_capped(response, service)
        except httpx.TransportError as err:
            raise error_for_transport(err, service.value, url) from None
        if log.isEnabledFor(logging.DEBUG):
            status, size = response.status_code, len(content)
            fields = {"service": service.value, "status": status, "bytes": size}
            log.debug("service_answered", extra={"fields": fields})
        error = error_for_status(response, service.value, body=content)
        if error is not None:
            raise error
        if response.status_code == 202:  # accepted: the answer comes at its status URL
            content = await self._await_answer(service, response)
        return self._parse(content, response_model, service)

    async def call_step(self, step: Step[Any, ArtifactT], call: StepCall[Any]) -> ArtifactT:
        """The call of one step: its service, its endpoint, its response model."""
        return await self.call(step.service, call, step.response_model)

    async def _await_answer(self, service: ServiceName, accepted: httpx.Response) -> bytes:
        """Long work (docs/service-contract.md, "Long work"): ask the status URL that the 202's
        Location names, as often as its Retry-After says (1 s if absent, at most 30 s), with a
        heartbeat before each wait, until it answers 200: the answer the POST would have given.
        The step's start_to_close_timeout bounds the whole wait."""
        location = accepted.headers.get("Location")
        if not location:
            raise failure(
                FailureReason.INVALID_SERVICE_RESPONSE,
                f"{service.value} answered 202 Accepted without a Location header",
            )
        url = str(accepted.request.url.join(location))
        response = accepted
        while response.status_code == 202:
            delay = retry_after(response)
            pause = ACCEPTED_POLL_DEFAULT if delay is None else delay
            pause = min(max(pause, ACCEPTED_POLL_MIN), ACCEPTED_POLL_MAX)
            if activity.in_activity():
                activity.heartbeat()
            await asyncio.sleep(pause.total_seconds())
            response, content = await self._get(service, url)
            error = error_for_status(response, service.value, body=content)
            if error is not None:
                raise error
        return content

    async def find_publication(self, campaign_id: str) -> PublicationRecord:
        """The publisher's record of a campaign (GET): its receipt, or none (404)."""
        service = ServiceName.PUBLISHER
        url = self._base_urls[service] + PUBLICATION_LOOKUP_PATH.format(campaign_id=campaign_id)
        response, content = await self._get(service, url)
        if response.status_code == 404:
            return PublicationRecord(receipt=None)
        error = error_for_status(response, service.value, body=content)
        if error is not None:
            raise error
        return PublicationRecord(receipt=self._parse(content, PublishReceipt, service))

    async def _get(self, service: ServiceName, url: str) -> tuple[httpx.Response, bytes]:
        """GET `url` of `service`, with its token: the answer and its (capped) body."""
        token = self._tokens.get(service)
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        try:
            async with self._http.stream(
                "GET", url, headers=headers, timeout=step_timeout(self._http.timeout)
            ) as response:
                return response, await self._read_capped(response, service)
        except httpx.TransportError as err:
            raise error_for_transport(err, service.value, url) from None

    async def _read_capped(self, response: httpx.Response, service: ServiceName) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_response_bytes:
                if not response.is_success:
                    # An error answer is classified by its status (a 503 page stays retryable);
                    # only its start is quoted, so the rest is not read.
                    chunks.append(chunk[: self._max_response_bytes])
                    break
                raise failure(
                    FailureReason.PAYLOAD_TOO_LARGE,
                    f"{service.value} answered more than {self._max_response_bytes} bytes; "
                    "large artifacts must stay out of workflow history",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse(content: bytes, model: type[ResponseT], service: ServiceName) -> ResponseT:
        try:
            data = json.loads(content)
        except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
            raise failure(
                FailureReason.INVALID_SERVICE_RESPONSE,
                f"{service.value} answered a body that is not JSON: {err}",
            ) from None
        try:
            return model.model_validate(data)
        except ValidationError as err:
            problems = describe_errors(err, "<body>")
            raise failure(
                FailureReason.INVALID_SERVICE_RESPONSE,
                f"{service.value} answered a {model.__name__} that breaks the contract: {problems}",
            ) from None


def step_timeout(default: httpx.Timeout) -> httpx.Timeout:
    """The HTTP timeout of a step's call: inside an activity, its start-to-close (the call is all
    the activity does), a little less, so that the call ends as a typed TIMEOUT just before
    Temporal's own timeout would: a step configured for ten minutes may wait nine and more for
    its answer. The connect timeout stays the client's, if shorter. Outside an activity, or with
    no start-to-close, the client's own (`default`: CAMPAIGN_HTTP_TIMEOUT_SECONDS)."""
    if not activity.in_activity():
        return default
    allowed = activity.info().start_to_close_timeout
    if allowed is None:
        return default
    seconds = allowed.total_seconds()
    seconds = max(seconds - min(1.0, seconds / 10), 0.001)
    connect = default.connect if default.connect is not None else seconds
    return httpx.Timeout(seconds, connect=min(connect, seconds))


class CampaignActivities:
    """One activity per step of contracts.STEPS, each the HTTP call its row describes, plus the
    publisher lookup and the webhook delivery. Register `all()` on a worker."""

    def __init__(self, services: ServiceClient, webhook: WebhookNotifier | None = None) -> None:
        self._services = services
        self._webhook = webhook
        self._steps = {step.state: _step_activity(services, step) for step in STEPS}

    def step(self, state: CampaignState) -> Callable[[StepCall[Any]], Awaitable[Artifact]]:
        """The activity of the step `state` (its type name is the row's `activity`)."""
        return self._steps[state]

    @activity.defn(name=FIND_PUBLICATION)
    async def find_publication(self, lookup: PublicationLookup) -> PublicationRecord:
        """Run as a local activity when a run begins: did an earlier run publish this campaign?"""
        return await self._services.find_publication(str(lookup.campaign_id))

    @activity.defn(name=NOTIFY_TRANSITION)
    async def notify_transition(self, event: TransitionEvent) -> None:
        """Only for campaigns started with notify_transitions (see contracts/events.py)."""
        if self._webhook is None:
            activity.logger.warning(
                "transition event dropped: this worker has no CAMPAIGN_WEBHOOK_URL",
                extra={"fields": {"event_id": event.event_id}},
            )
            return
        await self._webhook.deliver(event)

    def all(self) -> list[Callable[..., Any]]:
        return [*self._steps.values(), self.find_publication, self.notify_transition]


def _step_activity(
    services: ServiceClient, step: Step[Any, Any]
) -> Callable[[StepCall[Any]], Awaitable[Artifact]]:
    """The activity `step.activity`: POST the request to the step's service, return its answer.
    Its type hints are the row's models, from which the SDK decodes the input."""

    async def call_service(call: StepCall[Any]) -> Artifact:
        result: Artifact = await services.call_step(step, call)
        return result

    generic_call: Any = StepCall  # parametrized at run time by the row's request model
    call_service.__annotations__ = {
        "call": generic_call[step.request_model],
        "return": step.response_model,
    }
    call_service.__name__ = call_service.__qualname__ = step.activity
    return activity.defn(name=step.activity)(call_service)
