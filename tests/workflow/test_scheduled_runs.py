"""Scheduled runs on the time-skipping test server (which has no Schedules): each run started as
a schedule's action starts it, workflow id `campaign-<template>-<scheduled time>` with the
template's input, runs the campaign of its time, and only that; any other suffix fails at once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from contracts import (
    WORKFLOW_TYPE,
    CampaignInput,
    CampaignOutcome,
    CampaignState,
    FailureReason,
    scheduled_campaign_id,
    workflow_id_for,
)
from tests.workflow.fakes import (
    ALL_STEPS,
    PUBLISH,
    RADAR,
    FakeServices,
    actions,
    campaign_input,
    failure_of,
    query_payload,
    result,
    running_worker,
    start,
)
from workflows import CampaignWorkflow
from workflows import search_attributes as sa

S = CampaignState
AT = "2026-12-14T09:00:00Z"
LATER = "2026-12-21T09:00:00Z"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scheduled_by(env: WorkflowEnvironment) -> str:
    """TemporalScheduledById, which a real server sets on a schedule's runs; the test server
    has no Schedules, so it is registered here and set as a schedule would."""
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    sa.SCHEDULED_BY_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                },
            )
        )
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    return "weekly-news"


async def start_scheduled(
    client: Client,
    task_queue: str,
    template: CampaignInput,
    at: str,
    schedule_id: str | None = None,
) -> WorkflowHandle[CampaignWorkflow, Any]:
    """As a schedule's action at `at`: the template's input, its workflow id and `-<at>`."""
    attributes = (
        TypedSearchAttributes([SearchAttributePair(sa.SCHEDULED_BY_ID, schedule_id)])
        if schedule_id
        else None
    )
    return await client.start_workflow(
        CampaignWorkflow.run,
        template,
        id=f"{workflow_id_for(template.campaign_id)}-{at}",
        task_queue=task_queue,
        search_attributes=attributes,
    )


async def test_a_scheduled_run_runs_the_campaign_of_its_time(
    env: WorkflowEnvironment, scheduled_by: str
) -> None:
    services = FakeServices()
    template = campaign_input()
    campaign_id = scheduled_campaign_id(template.campaign_id, AT)
    async with running_worker(env.client, services) as tq:
        handle = await start_scheduled(env.client, tq, template, AT, schedule_id=scheduled_by)
        outcome = await result(handle)
        payload = await query_payload(handle)

    assert isinstance(outcome, CampaignOutcome)
    assert outcome.state is S.LEARN
    assert outcome.campaign_id == campaign_id != template.campaign_id
    assert payload.campaign_id == campaign_id
    # Every service was asked about the run's campaign, never the template.
    assert services.steps() == list(ALL_STEPS)
    for call in services.calls:
        request_campaign = getattr(call.request, "campaign_id", None)
        assert request_campaign == campaign_id, (call.step, request_campaign)
        assert call.idempotency_key.startswith(f"{campaign_id}:"), call.idempotency_key
        assert str(template.campaign_id) not in call.idempotency_key
    assert services.lookups == 1
    assert set(services.published) == {campaign_id}  # the publisher's record: the run's id
    created = payload.execution_log[0]
    assert created.action == "campaign_created"
    assert created.details["scheduled_time"] == AT
    assert created.details["schedule_template_id"] == str(template.campaign_id)
    assert created.details["schedule_id"] == scheduled_by


async def test_a_run_without_the_schedules_attribute_still_logs_its_time(
    env: WorkflowEnvironment,
) -> None:
    """Started by hand with a schedule's workflow id (as `campaign schedule backfill` would
    name it): the log has the time and template, and no schedule id it cannot know."""
    services = FakeServices()
    template = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start_scheduled(env.client, tq, template, AT)
        assert (await result(handle)).state is S.LEARN
        payload = await query_payload(handle)
    details = payload.execution_log[0].details
    assert details["scheduled_time"] == AT
    assert details["schedule_template_id"] == str(template.campaign_id)
    assert "schedule_id" not in details


async def test_a_campaign_started_directly_logs_no_schedule(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        assert (await result(handle)).campaign_id == campaign.campaign_id
        payload = await query_payload(handle)
    details = payload.execution_log[0].details
    assert not {"scheduled_time", "schedule_template_id", "schedule_id"} & set(details)
    assert {getattr(c.request, "campaign_id", None) for c in services.calls} == {
        campaign.campaign_id
    }


async def test_two_scheduled_times_of_one_template_are_two_campaigns(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    template = campaign_input()
    async with running_worker(env.client, services) as tq:
        first = await result(await start_scheduled(env.client, tq, template, AT))
        second = await result(await start_scheduled(env.client, tq, template, LATER))
    assert first.state is second.state is S.LEARN
    assert first.campaign_id == scheduled_campaign_id(template.campaign_id, AT)
    assert second.campaign_id == scheduled_campaign_id(template.campaign_id, LATER)
    assert len({first.campaign_id, second.campaign_id, template.campaign_id}) == 3
    # Each published, once, under its own campaign id.
    assert services.steps().count(PUBLISH) == 2
    assert set(services.published) == {first.campaign_id, second.campaign_id}
    assert first.publish_receipt != second.publish_receipt


@pytest.mark.parametrize(
    "suffix",
    [
        "-2026-12-14T09:00:00.5Z",  # fractional seconds: never a schedule's
        "-junk",
        "-2026-12-14T10:00:00+01:00",  # an offset: never a schedule's
        "-٢٠٢٦-12-14T09:00:00Z",  # other digits than ASCII
        "OTHER",  # another template's run, with this template's input
        "UPPER",  # this template, in upper case: not its canonical id
    ],
    ids=["fractional seconds", "junk", "offset", "arabic-indic digits", "other", "upper"],
)
async def test_a_hostile_scheduled_id_fails_at_once_naming_the_expected_id(
    env: WorkflowEnvironment, suffix: str
) -> None:
    services = FakeServices()
    template = campaign_input()
    expected = workflow_id_for(template.campaign_id)
    if suffix == "OTHER":
        workflow_id = f"campaign-{uuid.uuid4()}-{AT}"
    elif suffix == "UPPER":
        workflow_id = f"campaign-{str(template.campaign_id).upper()}-{AT}"
    else:
        workflow_id = f"{expected}{suffix}"
    async with running_worker(env.client, services) as tq:
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, template, id=workflow_id, task_queue=tq
        )
        cause = await failure_of(handle)  # bounded: a workflow task failure loop fails here
    assert cause.type == FailureReason.INVALID_INPUT.value
    assert cause.non_retryable
    assert f"workflow id {workflow_id!r} does not match" in cause.message
    assert f"a campaign runs only as {expected!r}" in cause.message
    assert "'-<scheduled time>'" in cause.message
    assert services.calls == [] and services.lookups == 0


async def test_a_repeat_of_a_published_scheduled_run_publishes_nothing(
    env: WorkflowEnvironment,
) -> None:
    """A schedule's repeat of one time (a backfill, or a trigger at that second) ends at once
    as ALREADY_PUBLISHED, as does the same campaign started directly by its derived id."""
    services = FakeServices()
    template = campaign_input()
    campaign_id = scheduled_campaign_id(template.campaign_id, AT)
    async with running_worker(env.client, services) as tq:
        first = await result(await start_scheduled(env.client, tq, template, AT))
        assert first.state is S.LEARN and first.publish_receipt is not None
        calls_before = len(services.calls)

        repeat = await start_scheduled(env.client, tq, template, AT)
        err = await failure_of(repeat)
        payload = await query_payload(repeat)

        direct = await start(env.client, tq, campaign_input(campaign_id=campaign_id))
        direct_err = await failure_of(direct)

    assert repeat.id == f"{workflow_id_for(template.campaign_id)}-{AT}"
    assert err.type == FailureReason.ALREADY_PUBLISHED.value
    assert first.publish_receipt.publication_id in err.message
    assert str(campaign_id) in err.message
    outcome = CampaignOutcome.model_validate(err.details[0])
    assert outcome.campaign_id == campaign_id
    assert outcome.publish_receipt == first.publish_receipt
    assert actions(payload) == ["campaign_created", "already_published"]
    assert payload.execution_log[0].details["scheduled_time"] == AT
    assert direct_err.type == FailureReason.ALREADY_PUBLISHED.value
    # Neither called a step: one run of the pipeline, one publication.
    assert len(services.calls) == calls_before
    assert services.steps().count(PUBLISH) == 1 and services.steps().count(RADAR) == 1
    assert services.lookups == 3
