"""Outages and bad answers: the campaign parks in FAILED with a clear reason, never wedges, and a
`retry` after the fault is gone brings it to LEARN, still publishing exactly once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from temporalio.client import Client

from contracts import (
    CampaignPayload,
    CampaignState,
    FailureReason,
    RetryRequest,
    ServiceName,
)
from orchestrator_client.campaign_ops import campaign_status, retry_campaign, start_campaign
from tests.reliability.support import (
    WorkerProcess,
    campaign,
    log_problems,
    outcomes,
    payload_of,
    record_figures,
    retries,
    wait_for_state,
    workflow_task_failures,
)
from tests.stack import Admin

pytestmark = pytest.mark.integration

# Short retry policy: "longer than the retry policy" is then a few seconds.
SHORT_POLICY = retries(attempts=4, initial=0.1, maximum=0.5, start_to_close=3.0)


async def calls_for(admin: Admin, service: ServiceName, campaign_id: Any) -> list[dict[str, Any]]:
    return [
        c
        for c in await admin.calls()
        if c["service"] == service.value and c["campaign_id"] == str(campaign_id)
    ]


async def parked(client: Client, workflow_id: str) -> CampaignPayload:
    await wait_for_state(client, workflow_id, CampaignState.FAILED, within=60)
    return await payload_of(client, workflow_id)


async def visible_failure_reason(client: Client, workflow_id: str) -> str | None:
    """The CampaignFailureReason search attribute (visibility is eventually consistent)."""
    reason = None
    for _ in range(50):
        reason = (await campaign_status(client, workflow_id)).failure_reason
        if reason:
            return reason
        await asyncio.sleep(0.1)
    return reason


async def test_a_service_down_longer_than_the_retry_policy_parks_then_retry_publishes_once(
    client: Client, shared_worker: WorkerProcess, admin: Admin
) -> None:
    await admin.faults(down=True, services=[ServiceName.PUBLISHER.value])
    c = campaign(step_retry=SHORT_POLICY)
    started = time.monotonic()
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)

    payload = await parked(client, handle.id)
    assert payload.failure is not None
    assert payload.failure.reason is FailureReason.SERVICE_UNAVAILABLE
    assert payload.failure.step is CampaignState.PUBLISH
    assert "publisher answered 503" in payload.failure.message, payload.failure.message
    assert await visible_failure_reason(client, handle.id) == "SERVICE_UNAVAILABLE"
    attempts = await calls_for(admin, ServiceName.PUBLISHER, c.campaign_id)
    assert len(attempts) == SHORT_POLICY.maximum_attempts
    assert all(a["status_code"] == 503 and a["injected"] == ["down"] for a in attempts)
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0

    await asyncio.sleep(1.0)  # parked: nothing happens until an operator acts
    assert len(await calls_for(admin, ServiceName.PUBLISHER, c.campaign_id)) == len(attempts)

    await admin.faults()  # the publisher is back
    await retry_campaign(client, handle.id, RetryRequest(requested_by="reliability"))
    [outcome] = await outcomes(client, [handle], within=60)
    elapsed = time.monotonic() - started
    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    for service in ServiceName:
        assert await admin.effect_count(service, c.campaign_id) == 1, service
    final = await payload_of(client, handle.id)
    assert not log_problems(final, operator_retries=1)
    assert await workflow_task_failures(client, handle.id) == 0
    record_figures(
        "service down > retry policy",
        campaigns=1,
        attempts_while_down=len(attempts),
        parked_reason=payload.failure.reason.value,
        operator_retries=1,
        publishes=1,
        duplicates=0,
        seconds=round(elapsed, 1),
    )


async def test_a_publish_whose_answers_are_all_lost_is_not_repeated_by_an_operator_retry(
    client: Client, shared_worker: WorkerProcess, admin: Admin
) -> None:
    """The publisher publishes, then every answer to it is lost (5xx after the work) until the
    retry policy gives up. The operator's retry must not publish a second time."""
    await admin.faults(
        error_rate=1.0, error_after_effect_share=1.0, services=[ServiceName.PUBLISHER.value]
    )
    c = campaign(step_retry=SHORT_POLICY)
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)
    payload = await parked(client, handle.id)
    assert payload.failure is not None
    assert payload.failure.reason is FailureReason.SERVICE_UNAVAILABLE
    assert payload.failure.step is CampaignState.PUBLISH
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1

    await admin.faults()
    await retry_campaign(client, handle.id, RetryRequest(requested_by="reliability"))
    [outcome] = await outcomes(client, [handle], within=60)
    assert outcome.state is CampaignState.LEARN
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    assert outcome.publish_receipt is not None


BAD_ANSWERS: dict[str, tuple[dict[str, Any], FailureReason, str]] = {
    "malformed JSON": ({"malformed_rate": 1.0}, FailureReason.INVALID_SERVICE_RESPONSE, "not JSON"),
    "wrong schema": (
        {"wrong_schema_rate": 1.0},
        FailureReason.INVALID_SERVICE_RESPONSE,
        "breaks the contract",
    ),
    "empty body": ({"empty_rate": 1.0}, FailureReason.INVALID_SERVICE_RESPONSE, "not JSON"),
    "huge body": (
        {"oversize_bytes": 600_000},
        FailureReason.PAYLOAD_TOO_LARGE,
        "answered more than 524288 bytes",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_ANSWERS))
async def test_a_bad_answer_parks_with_its_reason_and_a_retry_after_the_fix_publishes_once(
    client: Client, shared_worker: WorkerProcess, admin: Admin, kind: str
) -> None:
    faults, reason, words = BAD_ANSWERS[kind]
    await admin.faults(**faults, services=[ServiceName.CONTENT.value])
    c = campaign(step_retry=SHORT_POLICY)
    handle = await start_campaign(client, c, task_queue=shared_worker.task_queue)

    payload = await parked(client, handle.id)
    assert payload.failure is not None
    assert payload.failure.reason is reason
    assert payload.failure.step is CampaignState.CONTENT_PROD
    assert words in payload.failure.message, payload.failure.message
    assert payload.content is None  # nothing of the bad answer entered the workflow
    # Not retryable by Temporal: one call, then FAILED.
    assert len(await calls_for(admin, ServiceName.CONTENT, c.campaign_id)) == 1
    assert await visible_failure_reason(client, handle.id) == reason.value

    await admin.faults()
    await retry_campaign(client, handle.id, RetryRequest(requested_by="reliability"))
    [outcome] = await outcomes(client, [handle], within=60)
    assert outcome.state is CampaignState.LEARN and outcome.retry_count == 1
    assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    final = await payload_of(client, handle.id)
    assert not log_problems(final, operator_retries=1)
    assert await workflow_task_failures(client, handle.id) == 0
    history = await handle.fetch_history()
    largest = max(len(e.SerializeToString()) for e in history.events)
    assert largest < 256 * 1024, f"a history event of {largest} bytes"
    record_figures(
        f"bad answer: {kind}",
        campaigns=1,
        parked_reason=reason.value,
        largest_history_event_bytes=largest,
        operator_retries=1,
        publishes=1,
        duplicates=0,
    )
