"""A person in the loop, on the time-skipping test server: approval before PUBLISH (approve,
request_changes, reject, the reminder and the deadline), the validators' refusals, decisions sent
at once, pause and resume at a step boundary, hostile inputs, and the ApprovalPolicy contract."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import (
    APPROVE_UPDATE,
    PAUSE_UPDATE,
    REJECT_UPDATE,
    REQUEST_CHANGES_UPDATE,
    RESUME_UPDATE,
    RETRY_SIGNAL,
    RETRY_UPDATE,
    ApprovalPolicy,
    AuditRequest,
    CampaignInput,
    CampaignPayload,
    CampaignState,
    ContentRequest,
    Decision,
    FailureReason,
    PauseAccepted,
    PauseRequest,
    Refusal,
    RetryAccepted,
    RetryRequest,
    ReviewAccepted,
    ReviewRequest,
    TraceEntry,
)
from tests.log_capture import worker_logging
from tests.workflow.fakes import (
    ALL_STEPS,
    AUDIT,
    CONTENT,
    LEARN,
    PUBLISH,
    RADAR,
    STRATEGY,
    FakeServices,
    actions,
    blocked,
    campaign_input,
    fail,
    failure_of,
    query_payload,
    query_state,
    result,
    running_worker,
    start,
    time_skipping_environment,
    update_events,
    wait_for,
    wait_for_state,
)
from workflows import search_attributes as sa


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of this module's own: its deadlines skip time, which another module's
    activity left running on the shared server would hold back."""
    async with time_skipping_environment() as environment:
        yield environment


S = CampaignState
UNTIL_AUDITED = [RADAR, STRATEGY, CONTENT, AUDIT]
DECISIONS = {
    Decision.APPROVE: APPROVE_UPDATE,
    Decision.REJECT: REJECT_UPDATE,
    Decision.REQUEST_CHANGES: REQUEST_CHANGES_UPDATE,
}


# ---- helpers -----------------------------------------------------------------------------------


def reviewed(policy: ApprovalPolicy | None = None, **overrides: Any) -> CampaignInput:
    """A campaign that waits for approval before PUBLISH (anyone may decide by default)."""
    return campaign_input(approval=policy or ApprovalPolicy(), **overrides)


async def awaiting(handle: WorkflowHandle[Any, Any], revision: int = 0) -> CampaignPayload:
    """Wait until the campaign waits for a decision on `revision`."""
    return await wait_for(
        handle,
        lambda p: (
            p.state is S.AWAITING_APPROVAL
            and p.approval is not None
            and p.approval.revision == revision
        ),
        f"awaiting approval of revision {revision}",
    )


async def decide(
    handle: WorkflowHandle[Any, Any],
    decision: Decision,
    reviewer: str,
    revision: int = 0,
    comment: str = "",
) -> ReviewAccepted:
    answer: ReviewAccepted = await handle.execute_update(
        DECISIONS[decision],
        ReviewRequest(reviewer=reviewer, revision=revision, comment=comment),
        result_type=ReviewAccepted,
    )
    return answer


async def refusal(handle: WorkflowHandle[Any, Any], update: str, *args: Any) -> ApplicationError:
    """The update's failure (the test fails if it was accepted): `args` exactly as sent."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(update, args=list(args))
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def task_failures(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> TypedSearchAttributes:
    return (await handle.describe()).typed_search_attributes


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the Web UI shows as the workflow's current details."""
    metadata: WorkflowMetadata = await handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


def entry(payload: CampaignPayload, action: str) -> TraceEntry:
    """The last log entry of `action` (the test fails if there is none)."""
    found = [e for e in payload.execution_log if e.action == action]
    assert found, f"no {action} in {actions(payload)}"
    return found[-1]


def content_requests(services: FakeServices) -> list[ContentRequest]:
    requests = [c.request for c in services.calls_of(CONTENT)]
    assert all(isinstance(r, ContentRequest) for r in requests)
    return [r for r in requests if isinstance(r, ContentRequest)]


# ---- 1. approve --------------------------------------------------------------------------------


async def test_approve_waits_after_the_gate_then_publishes_and_logs_who_approved(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    policy = ApprovalPolicy(approvers=["ana@example.test", "ben"], deadline=timedelta(hours=6))
    campaign = reviewed(policy)
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        waiting = await awaiting(handle)
        await asyncio.sleep(0.3)  # room for a wrong PUBLISH to be scheduled
        steps_while_waiting = services.steps()
        waiting_attrs = await search_attributes(handle)
        details = await current_details(handle)
        answer = await decide(handle, Decision.APPROVE, "ben", 0, "reads well")
        outcome = await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)

    # the wait: after the gate, before PUBLISH, about the audited revision
    assert steps_while_waiting == UNTIL_AUDITED
    approval = waiting.approval
    assert approval is not None
    assert approval.revision == 0
    assert approval.approvers == ["ana@example.test", "ben"]
    assert approval.deadline - approval.requested_at == timedelta(hours=6)
    assert approval.reminded is False
    assert actions(waiting)[-2:] == ["quality_gate_passed", "approval_requested"]
    requested = entry(waiting, "approval_requested")
    assert requested.state is S.AWAITING_APPROVAL
    assert requested.details == {
        "revision": 0,
        "approvers": "ana@example.test, ben",
        "deadline": approval.deadline.isoformat(),
    }
    assert waiting_attrs.get(sa.CAMPAIGN_STATE) == "AWAITING_APPROVAL"
    assert waiting_attrs.get(sa.CAMPAIGN_APPROVERS) == ["ana@example.test", "ben"]
    assert "Waiting for approval** of content revision 0, by ana@example.test, ben" in details
    assert f"campaign approve {campaign.campaign_id} --revision 0 --as <you>" in details

    # the answer says what happens next
    assert answer == ReviewAccepted(
        campaign_id=campaign.campaign_id,
        decision=Decision.APPROVE,
        reviewer="ben",
        revision=0,
        next_state=S.PUBLISH,
    )
    # then PUBLISH and LEARN, once each
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    log = actions(payload)
    assert log.index("approval_requested") < log.index("approved")
    approved = entry(payload, "approved")
    assert approved.details == {"reviewer": "ben", "revision": 0, "comment": "reads well"}
    assert approved.state is S.AWAITING_APPROVAL
    published = [e for e in payload.execution_log if e.action == "step_started"][-2]
    assert published.state is S.PUBLISH and published.seq > approved.seq
    assert len(payload.reviews) == 1
    review = payload.reviews[0]
    assert (review.decision, review.reviewer, review.revision, review.comment) == (
        Decision.APPROVE,
        "ben",
        0,
        "reads well",
    )
    assert review.at == approved.at
    assert payload.approval is None
    assert attrs.get(sa.CAMPAIGN_STATE) == "LEARN"
    assert attrs.get(sa.CAMPAIGN_APPROVERS) is None  # unset once decided


async def test_empty_approvers_means_anyone_may_decide(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed(ApprovalPolicy(approvers=[])))
        waiting = await awaiting(handle)
        attrs = await search_attributes(handle)
        details = await current_details(handle)
        answer = await decide(handle, Decision.APPROVE, "someone-not-listed-anywhere")
        outcome = await result(handle)
    assert waiting.approval is not None and waiting.approval.approvers == []
    assert entry(waiting, "approval_requested").details["approvers"] == "anyone"
    assert attrs.get(sa.CAMPAIGN_APPROVERS) == ["*"]
    assert "by anyone" in details
    assert answer.reviewer == "someone-not-listed-anywhere"
    assert outcome.state is S.LEARN


# ---- 2. no approval policy ---------------------------------------------------------------------


async def test_without_an_approval_policy_the_graph_is_unchanged(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    campaign = campaign_input()
    assert campaign.approval is None
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        outcome = await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    steps = ["step_started", "step_completed"]
    assert actions(payload) == [
        "campaign_created",
        *steps * 3,  # RADAR_SCAN, STRATEGY_GEN, CONTENT_PROD
        *steps,
        "quality_gate_passed",  # QUALITY_AUDIT
        *steps * 2,  # PUBLISH, LEARN
        "campaign_completed",
    ]
    assert S.AWAITING_APPROVAL not in {e.state for e in payload.execution_log}
    # the payload keeps the shape of the version before: no approval, reviews or paused keys
    dumped = json.loads(payload.model_dump_json())
    assert not {"approval", "reviews", "paused"} & dumped.keys()
    # never written: the approvers and paused search attributes
    assert attrs.get(sa.CAMPAIGN_APPROVERS) is None
    assert attrs.get(sa.CAMPAIGN_PAUSED) is None


# ---- 3. request_changes ------------------------------------------------------------------------


async def test_request_changes_goes_back_to_content_with_the_comment_then_asks_again(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    campaign = reviewed(ApprovalPolicy(approvers=["ana"]))
    comment = "Say 'may' rather than 'will' in the subject line"
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        first = await awaiting(handle, revision=0)
        answer = await decide(handle, Decision.REQUEST_CHANGES, "ana", 0, comment)
        second = await awaiting(handle, revision=1)
        late = await refusal(
            handle, APPROVE_UPDATE, ReviewRequest(reviewer="ana", revision=0)
        )  # about the revision that was sent back
        approved = await decide(handle, Decision.APPROVE, "ana", 1)
        outcome = await result(handle)
        payload = await query_payload(handle)

    assert answer.decision is Decision.REQUEST_CHANGES
    assert answer.next_state is S.CONTENT_PROD
    # the content service got the next revision with the comment and the audit as feedback
    original, revised = content_requests(services)
    assert (original.revision, original.reviewer_comment, original.feedback) == (0, None, None)
    assert revised.revision == 1
    assert revised.reviewer_comment == comment
    assert revised.feedback is not None
    assert revised.feedback == first.quality_report
    # the new revision was audited, then waited for a decision again
    audited = [c.request for c in services.calls_of(AUDIT)]
    assert [r.content.revision for r in audited if isinstance(r, AuditRequest)] == [0, 1]
    assert second.content is not None and second.content.revision == 1
    assert second.quality_report is not None and second.quality_report.audited_revision == 1
    assert second.approval is not None and second.approval.revision == 1
    # a new revision is a new request: a service that answers a repeated key from its record
    # must not hand back the revision that was sent back
    assert len({c.idempotency_key for c in services.calls_of(CONTENT)}) == 2
    assert len({c.idempotency_key for c in services.calls_of(AUDIT)}) == 2
    assert late.type == Refusal.WRONG_REVISION
    assert approved.next_state is S.PUBLISH
    assert outcome.state is S.LEARN
    assert services.steps() == [*UNTIL_AUDITED, CONTENT, AUDIT, PUBLISH, LEARN]
    log = actions(payload)
    assert log.count("approval_requested") == 2
    changes = entry(payload, "changes_requested")
    assert changes.details == {"reviewer": "ana", "revision": 0, "comment": comment}
    # changes_requested, then CONTENT_PROD again, the gate, and a new request for revision 1
    after = log[log.index("changes_requested") :]
    assert after[:5] == [
        "changes_requested",
        "step_started",
        "step_completed",
        "step_started",
        "step_completed",
    ]
    assert payload.execution_log[changes.seq].state is S.CONTENT_PROD  # the entry after it
    assert entry(payload, "approval_requested").details["revision"] == 1
    assert [(r.decision, r.revision) for r in payload.reviews] == [
        (Decision.REQUEST_CHANGES, 0),
        (Decision.APPROVE, 1),
    ]
    assert payload.retry_count == 0  # not a failure, not a retry


# ---- 4. reject, and the operator's retry ---------------------------------------------------------


async def test_reject_fails_the_campaign_and_a_retry_resumes_at_content_with_the_comment(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    campaign = reviewed(max_retries=2)
    comment = "Guaranteed returns are not allowed in a savings ad"
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        await awaiting(handle)
        answer = await decide(handle, Decision.REJECT, "compliance-officer", 0, comment)
        failed = await wait_for_state(handle, S.FAILED)
        failed_attrs = await search_attributes(handle)
        details = await current_details(handle)
        retried = await handle.execute_update(
            RETRY_UPDATE, RetryRequest(requested_by="op"), result_type=RetryAccepted
        )
        second = await awaiting(handle, revision=1)
        approved = await decide(handle, Decision.APPROVE, "compliance-officer", 1, "ok now")
        outcome = await result(handle)
        payload = await query_payload(handle)

    assert answer.next_state is S.FAILED
    failure = failed.failure
    assert failure is not None
    assert failure.reason is FailureReason.APPROVAL_REJECTED
    assert failure.step is S.AWAITING_APPROVAL
    assert "compliance-officer" in failure.message and comment in failure.message
    assert failed.approval is None
    rejected = entry(failed, "rejected")
    assert rejected.details == {"reviewer": "compliance-officer", "revision": 0, "comment": comment}
    parked = entry(failed, "campaign_failed")
    assert parked.seq == rejected.seq + 1
    assert parked.details["reason"] == "APPROVAL_REJECTED"
    assert parked.details["resume_at"] == "CONTENT_PROD"
    assert failed_attrs.get(sa.CAMPAIGN_FAILURE_REASON) == "APPROVAL_REJECTED"
    assert failed_attrs.get(sa.CAMPAIGN_APPROVERS) is None
    assert "APPROVAL_REJECTED" in details and f"campaign retry {campaign.campaign_id}" in details
    # nothing was published
    assert services.steps()[: len(UNTIL_AUDITED) + 1] == [*UNTIL_AUDITED, CONTENT]

    assert retried.resume_at is S.CONTENT_PROD
    assert retried.retried_failure is FailureReason.APPROVAL_REJECTED
    _, revised = content_requests(services)
    assert revised.revision == 1
    assert revised.reviewer_comment == comment
    assert second.approval is not None and second.approval.revision == 1
    assert second.retry_count == 1
    assert approved.next_state is S.PUBLISH
    assert outcome.state is S.LEARN and outcome.retry_count == 1
    assert services.steps() == [*UNTIL_AUDITED, CONTENT, AUDIT, PUBLISH, LEARN]
    assert [(r.decision, r.revision) for r in payload.reviews] == [
        (Decision.REJECT, 0),
        (Decision.APPROVE, 1),
    ]


async def test_a_rejection_nobody_retries_ends_the_campaign_failed_with_the_comment(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed(retry_window=timedelta(hours=3)))
        await awaiting(handle)
        await decide(handle, Decision.REJECT, "ana", 0, "off brand")
        err = await failure_of(handle)  # time skips past the retry window
    assert err.type == FailureReason.APPROVAL_REJECTED
    assert err.non_retryable
    assert "rejected by ana: off brand" in err.message
    assert PUBLISH not in services.steps()


# ---- 5. the reminder and the deadline ------------------------------------------------------------


async def test_no_decision_reminds_then_times_out_and_a_retry_asks_again(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    policy = ApprovalPolicy(
        approvers=["ana"], deadline=timedelta(hours=4), remind_after=timedelta(hours=1)
    )
    with worker_logging("json", "INFO") as buffer:
        async with running_worker(env.client, services) as tq:
            handle = await start(env.client, tq, reviewed(policy, retry_window=timedelta(days=1)))
            first = await awaiting(handle)
            await env.sleep(timedelta(minutes=50))
            not_yet = await query_payload(handle)
            await env.sleep(timedelta(minutes=15))
            reminded = await wait_for(
                handle, lambda p: "approval_reminder" in actions(p), "reminded"
            )
            reminded_details = await current_details(handle)
            await env.sleep(timedelta(hours=3, minutes=5))
            timed_out = await wait_for_state(handle, S.FAILED)
            timed_out_attrs = await search_attributes(handle)
            retried = await handle.execute_update(
                RETRY_UPDATE, RetryRequest(requested_by="op"), result_type=RetryAccepted
            )
            again = await wait_for(
                handle,
                lambda p: p.state is S.AWAITING_APPROVAL and p.retry_count == 1,
                "asked again",
            )
            await decide(handle, Decision.APPROVE, "ana")
            outcome = await result(handle)
            payload = await query_payload(handle)

    assert first.approval is not None
    assert "approval_reminder" not in actions(not_yet)
    assert not_yet.approval is not None and not not_yet.approval.reminded
    # the reminder: logged in AWAITING_APPROVAL, after remind_after, and marked in the payload
    reminder = entry(reminded, "approval_reminder")
    assert reminder.state is S.AWAITING_APPROVAL
    assert reminder.details == {"revision": 0, "deadline": first.approval.deadline.isoformat()}
    assert reminder.at - first.approval.requested_at >= timedelta(hours=1)
    assert reminded.state is S.AWAITING_APPROVAL
    assert reminded.approval is not None and reminded.approval.reminded is True
    assert "(reminded)" in reminded_details
    # then the deadline: FAILED, typed, the wait cleared; a retry resumes at the review
    failure = timed_out.failure
    assert failure is not None
    assert failure.reason is FailureReason.APPROVAL_TIMEOUT
    assert failure.step is S.AWAITING_APPROVAL
    assert "revision 0" in failure.message
    assert failure.failed_at - first.approval.requested_at >= timedelta(hours=4)
    assert timed_out.approval is None
    assert entry(timed_out, "campaign_failed").details["resume_at"] == "PUBLISH"
    assert timed_out_attrs.get(sa.CAMPAIGN_FAILURE_REASON) == "APPROVAL_TIMEOUT"
    assert timed_out_attrs.get(sa.CAMPAIGN_APPROVERS) is None
    assert retried.resume_at is S.PUBLISH
    assert retried.retried_failure is FailureReason.APPROVAL_TIMEOUT
    # asked again, about the same revision (nothing produced or audited again), a new deadline
    assert again.approval is not None
    assert again.approval.revision == 0
    assert again.approval.reminded is False
    assert again.approval.deadline > first.approval.deadline
    assert again.approval.deadline - again.approval.requested_at == timedelta(hours=4)
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    log = actions(payload)
    assert log.count("approval_requested") == 2
    assert log.count("approval_reminder") == 1
    # the reminder's log line is a WARNING, with the campaign and the revision
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    warned = [line for line in lines if line.get("event") == "approval_reminder"]
    assert len(warned) == 1
    assert warned[0]["level"] == "warning"
    assert warned[0]["revision"] == 0
    assert warned[0]["campaign_id"] == str(payload.campaign_id)


async def test_an_approval_is_not_asked_again_when_publish_fails_and_is_retried(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices().script(PUBLISH, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        await decide(handle, Decision.APPROVE, "ana")
        failed = await wait_for_state(handle, S.FAILED)
        await handle.execute_update(RETRY_UPDATE, RetryRequest(), result_type=RetryAccepted)
        outcome = await result(handle)
        payload = await query_payload(handle)
    assert failed.failure is not None and failed.failure.step is S.PUBLISH
    assert outcome.state is S.LEARN
    assert services.steps() == [*UNTIL_AUDITED, PUBLISH, PUBLISH, LEARN]
    assert actions(payload).count("approval_requested") == 1
    assert actions(payload).count("approved") == 1


# ---- 6. the validators' refusals -----------------------------------------------------------------


async def test_review_refusals_are_typed_and_accept_nothing(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(RADAR, blocked(release))
    policy = ApprovalPolicy(approvers=["ana", "ben"])
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed(policy))
        await asyncio.wait_for(services.started[RADAR].wait(), 15)
        not_yet = await refusal(handle, APPROVE_UPDATE, ReviewRequest(reviewer="ana", revision=0))
        release.set()
        await awaiting(handle)
        stranger = await refusal(
            handle, APPROVE_UPDATE, ReviewRequest(reviewer="mallory", revision=0)
        )
        wrong_revision = await refusal(
            handle, APPROVE_UPDATE, ReviewRequest(reviewer="ana", revision=1)
        )
        no_comment_reject = await refusal(
            handle, REJECT_UPDATE, ReviewRequest(reviewer="ana", revision=0)
        )
        blank_comment_changes = await refusal(
            handle, REQUEST_CHANGES_UPDATE, ReviewRequest(reviewer="ana", revision=0, comment="  ")
        )
        no_input = await refusal(handle, APPROVE_UPDATE)
        null_input = await refusal(handle, REJECT_UPDATE, None)
        events = await update_events(handle)
        still = await query_payload(handle)
        answer = await decide(handle, Decision.APPROVE, "ben")
        second = await refusal(
            handle,
            REJECT_UPDATE,
            ReviewRequest(reviewer="ana", revision=0, comment="too late"),
        )
        outcome = await result(handle)
        payload = await query_payload(handle)

    assert not_yet.type == Refusal.NOT_AWAITING_APPROVAL
    assert "RADAR_SCAN" in not_yet.message and "waits for no decision" in not_yet.message
    assert stranger.type == Refusal.NOT_AN_APPROVER
    assert "'mallory'" in stranger.message and "ana, ben" in stranger.message
    assert wrong_revision.type == Refusal.WRONG_REVISION
    assert "revision 1" in wrong_revision.message and "(0)" in wrong_revision.message
    assert no_comment_reject.type == Refusal.COMMENT_REQUIRED
    assert blank_comment_changes.type == Refusal.COMMENT_REQUIRED
    assert no_input.type == Refusal.INVALID_REQUEST
    assert null_input.type == Refusal.INVALID_REQUEST
    for refused in (
        not_yet,
        stranger,
        wrong_revision,
        no_comment_reject,
        blank_comment_changes,
        no_input,
        null_input,
    ):
        assert refused.non_retryable
    # refused in the validators: nothing accepted, nothing in history, nothing in the log
    assert events == []
    assert still.reviews == []
    assert still.state is S.AWAITING_APPROVAL and still.approval is not None
    assert not {"approved", "rejected", "changes_requested"} & set(actions(still))
    # one decision per revision: the one after it is refused, naming who decided
    assert answer.reviewer == "ben"
    assert second.type == Refusal.ALREADY_DECIDED
    assert "ben already decided approve on revision 0" in second.message
    assert outcome.state is S.LEARN
    assert [(r.decision, r.reviewer) for r in payload.reviews] == [(Decision.APPROVE, "ben")]


async def test_a_decision_for_a_campaign_without_approval_step_is_refused(
    env: WorkflowEnvironment,
) -> None:
    release = asyncio.Event()
    services = FakeServices().script(AUDIT, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[AUDIT].wait(), 15)
        refusals = [
            await refusal(handle, update, ReviewRequest(reviewer="ana", revision=0, comment="x"))
            for update in DECISIONS.values()
        ]
        release.set()
        outcome = await result(handle)
        events = await update_events(handle)
    assert {r.type for r in refusals} == {Refusal.NOT_AWAITING_APPROVAL}
    assert all("it has no approval step" in r.message for r in refusals)
    assert outcome.state is S.LEARN
    assert events == []


async def test_a_decision_after_a_rejection_is_already_decided(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        await decide(handle, Decision.REJECT, "ana", 0, "no")
        await wait_for_state(handle, S.FAILED)
        late = await refusal(handle, APPROVE_UPDATE, ReviewRequest(reviewer="ben", revision=0))
        payload = await query_payload(handle)
        await handle.cancel()
    assert late.type == Refusal.ALREADY_DECIDED
    assert "ana already decided reject on revision 0" in late.message
    assert [r.reviewer for r in payload.reviews] == ["ana"]


# ---- 7. decisions sent at once -------------------------------------------------------------------


async def _decide_or_refusal(
    handle: WorkflowHandle[Any, Any], decision: Decision, reviewer: str
) -> ReviewAccepted | ApplicationError:
    try:
        return await decide(handle, decision, reviewer, 0, f"{decision} from {reviewer}")
    except WorkflowUpdateFailedError as err:
        assert isinstance(err.cause, ApplicationError)
        return err.cause


async def _then_it_does_what_the_winner_said(
    handle: WorkflowHandle[Any, Any], services: FakeServices, winner: ReviewAccepted
) -> None:
    if winner.decision is Decision.APPROVE:
        assert (await result(handle)).state is S.LEARN
        assert services.steps() == list(ALL_STEPS)
    elif winner.decision is Decision.REJECT:
        failed = await wait_for_state(handle, S.FAILED)
        assert failed.failure is not None
        assert failed.failure.reason is FailureReason.APPROVAL_REJECTED
        assert winner.reviewer in failed.failure.message
        assert PUBLISH not in services.steps()
        await handle.cancel()
    else:
        await awaiting(handle, revision=1)
        assert content_requests(services)[-1].reviewer_comment == (
            f"{Decision.REQUEST_CHANGES} from {winner.reviewer}"
        )
        assert PUBLISH not in services.steps()
        await handle.cancel()
    payload = await query_payload(handle)
    assert len(payload.reviews) == 1
    assert payload.reviews[0].reviewer == winner.reviewer
    assert payload.reviews[0].decision is winner.decision


async def test_an_approve_and_a_reject_at_once_one_wins_the_other_is_refused(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        answers = await asyncio.gather(
            _decide_or_refusal(handle, Decision.APPROVE, "ana"),
            _decide_or_refusal(handle, Decision.REJECT, "ben"),
            return_exceptions=True,
        )
        accepted = [a for a in answers if isinstance(a, ReviewAccepted)]
        refused = [a for a in answers if isinstance(a, ApplicationError)]
        assert len(accepted) == 1 and len(refused) == 1, answers
        winner = accepted[0]
        assert refused[0].type == Refusal.ALREADY_DECIDED
        assert f"{winner.reviewer} already decided {winner.decision}" in refused[0].message
        await _then_it_does_what_the_winner_said(handle, services, winner)
        assert (await update_events(handle)).count(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ) == 1


MIXED = [
    (Decision.APPROVE, "ana"),
    (Decision.REJECT, "ben"),
    (Decision.REQUEST_CHANGES, "cy"),
    (Decision.APPROVE, "dee"),
    (Decision.REJECT, "eve"),
    (Decision.REQUEST_CHANGES, "fay"),
]


async def test_six_mixed_decisions_in_one_workflow_task_accept_exactly_one(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    # No cache, so no sticky queue: the next worker gets the workflow's task at once.
    async with running_worker(env.client, services, max_cached_workflows=0) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
    # No worker: the six updates wait at the server and reach the workflow together.
    sent = [
        asyncio.create_task(_decide_or_refusal(handle, decision, reviewer))
        for decision, reviewer in MIXED
    ]
    await asyncio.sleep(1)
    assert not any(task.done() for task in sent)  # nobody answered without a worker
    async with running_worker(env.client, services, task_queue=tq):
        answers = await asyncio.gather(*sent)
        accepted = [a for a in answers if isinstance(a, ReviewAccepted)]
        refused = [a for a in answers if isinstance(a, ApplicationError)]
        assert len(accepted) == 1 and len(refused) == 5, answers
        winner = accepted[0]
        assert {r.type for r in refused} == {Refusal.ALREADY_DECIDED}
        assert all(winner.reviewer in r.message for r in refused)
        await _then_it_does_what_the_winner_said(handle, services, winner)
        log = actions(await query_payload(handle))
        events = await update_events(handle)
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
    assert sum(log.count(a) for a in ("approved", "rejected", "changes_requested")) == 1


async def test_six_mixed_decisions_at_once_on_a_running_worker_accept_exactly_one(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        answers = await asyncio.gather(
            *(_decide_or_refusal(handle, d, r) for d, r in MIXED), return_exceptions=True
        )
        accepted = [a for a in answers if isinstance(a, ReviewAccepted)]
        refused = [a for a in answers if isinstance(a, ApplicationError)]
        assert len(accepted) == 1 and len(refused) == 5, answers
        winner = accepted[0]
        assert {r.type for r in refused} == {Refusal.ALREADY_DECIDED}, refused
        assert all(winner.reviewer in r.message for r in refused)
        await _then_it_does_what_the_winner_said(handle, services, winner)


# ---- 8. pause and resume -----------------------------------------------------------------------


async def pause(handle: WorkflowHandle[Any, Any], by: str = "op", why: str = "") -> PauseAccepted:
    answer: PauseAccepted = await handle.execute_update(
        PAUSE_UPDATE, PauseRequest(requested_by=by, reason=why), result_type=PauseAccepted
    )
    return answer


async def resume(handle: WorkflowHandle[Any, Any], by: str = "op") -> PauseAccepted:
    answer: PauseAccepted = await handle.execute_update(
        RESUME_UPDATE, PauseRequest(requested_by=by), result_type=PauseAccepted
    )
    return answer


async def held_before(handle: WorkflowHandle[Any, Any], state: CampaignState) -> CampaignPayload:
    return await wait_for(
        handle,
        lambda p: p.paused is not None and p.paused.held_before is state,
        f"held before {state}",
    )


async def test_pause_lets_the_step_in_flight_finish_and_holds_before_the_next(
    env: WorkflowEnvironment,
) -> None:
    release = asyncio.Event()
    services = FakeServices().script(STRATEGY, blocked(release))
    campaign = campaign_input()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign)
        await asyncio.wait_for(services.started[STRATEGY].wait(), 15)
        paused = await pause(handle, "ana", "brand review")
        requested = await query_payload(handle)
        twice = await refusal(handle, PAUSE_UPDATE, PauseRequest(requested_by="ben"))
        release.set()
        held = await held_before(handle, S.CONTENT_PROD)
        await asyncio.sleep(0.5)  # room for a wrong CONTENT_PROD call
        steps_while_held = services.steps()
        held_attrs = await search_attributes(handle)
        details = await current_details(handle)
        resumed = await resume(handle, "ana")
        outcome = await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)

    assert paused.paused is True and paused.campaign_id == campaign.campaign_id
    assert "STRATEGY_GEN" in paused.detail
    assert requested.paused is not None
    assert (requested.paused.requested_by, requested.paused.reason) == ("ana", "brand review")
    assert requested.paused.held_before is None  # the step in flight goes on
    assert twice.type == Refusal.ALREADY_PAUSED and "ana" in twice.message
    # the step finished (never interrupted), and the next one was not called
    assert len(services.calls_of(STRATEGY)) == 1 and services.cancelled == []
    assert held.strategy is not None
    assert steps_while_held == [RADAR, STRATEGY]
    # held in the next step's state, before its call (a status read shows where it waits)
    assert held.state is S.CONTENT_PROD
    assert held_attrs.get(sa.CAMPAIGN_STATE) == "CONTENT_PROD"
    assert actions(held)[-3:] == ["pause_requested", "step_completed", "campaign_paused"]
    hold = entry(held, "campaign_paused")
    assert hold.details == {
        "before": "CONTENT_PROD",
        "requested_by": "ana",
        "reason": "brand review",
    }
    assert held_attrs.get(sa.CAMPAIGN_PAUSED) is True
    assert "**Paused** by ana: brand review (holds before `CONTENT_PROD`)" in details
    assert f"campaign resume {campaign.campaign_id}" in details
    # resumed: on to LEARN
    assert resumed.paused is False and "CONTENT_PROD" in resumed.detail
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    go_on = entry(payload, "campaign_resumed")
    assert go_on.details == {"before": "CONTENT_PROD"}
    assert payload.execution_log[go_on.seq].action == "step_started"  # the entry after it
    assert payload.execution_log[go_on.seq].state is S.CONTENT_PROD
    assert payload.paused is None
    assert attrs.get(sa.CAMPAIGN_PAUSED) is False


async def test_resume_when_not_paused_is_refused(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(RADAR, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[RADAR].wait(), 15)
        not_paused = await refusal(handle, RESUME_UPDATE, PauseRequest())
        no_input = await refusal(handle, RESUME_UPDATE)
        events = await update_events(handle)
        release.set()
        outcome = await result(handle)
    assert not_paused.type == Refusal.NOT_PAUSED and "RADAR_SCAN" in not_paused.message
    assert no_input.type == Refusal.NOT_PAUSED
    assert events == []
    assert outcome.state is S.LEARN


async def test_a_pause_resumed_before_a_step_boundary_never_holds(
    env: WorkflowEnvironment,
) -> None:
    release = asyncio.Event()
    services = FakeServices().script(RADAR, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[RADAR].wait(), 15)
        await pause(handle, "ana")
        withdrawn = await resume(handle, "ben")
        release.set()
        outcome = await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)
    assert withdrawn.paused is False and "withdrawn" in withdrawn.detail
    assert outcome.state is S.LEARN
    log = actions(payload)
    assert "campaign_paused" not in log
    assert log.count("campaign_resumed") == 1
    assert entry(payload, "campaign_resumed").details == {"requested_by": "ben"}
    assert payload.paused is None
    assert attrs.get(sa.CAMPAIGN_PAUSED) is None  # never held: never written


async def test_cancel_while_paused_ends_cancelled(env: WorkflowEnvironment) -> None:
    services = FakeServices()
    release = asyncio.Event()
    services.script(RADAR, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[RADAR].wait(), 15)
        await pause(handle)
        release.set()
        await held_before(handle, S.STRATEGY_GEN)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)
        details = await current_details(handle)
    assert isinstance(info.value.cause, CancelledError)
    assert payload.state is S.CANCELLED
    assert actions(payload)[-1] == "campaign_cancelled"
    assert "campaign_resumed" not in actions(payload)
    assert services.steps() == [RADAR]
    # a cancelled campaign is not listed as paused, nor told to resume
    assert attrs.get(sa.CAMPAIGN_PAUSED) is not True
    assert "campaign resume" not in details


async def test_cancel_while_awaiting_approval_ends_cancelled_and_waits_for_nobody(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed(ApprovalPolicy(approvers=["ana"])))
        await awaiting(handle)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await result(handle)
        payload = await query_payload(handle)
        attrs = await search_attributes(handle)
        details = await current_details(handle)
    assert isinstance(info.value.cause, CancelledError)
    assert payload.state is S.CANCELLED
    assert payload.failure is not None and payload.failure.step is S.AWAITING_APPROVAL
    assert actions(payload)[-2:] == ["approval_requested", "campaign_cancelled"]
    assert services.steps() == UNTIL_AUDITED
    # no longer listed as waiting for ana (`campaign list --approver ana`), nor told to approve
    assert payload.approval is None
    assert attrs.get(sa.CAMPAIGN_APPROVERS) is None
    assert attrs.get(sa.CAMPAIGN_STATE) == "CANCELLED"
    assert "campaign approve" not in details


async def test_pause_while_awaiting_approval_holds_before_publish_once_approved(
    env: WorkflowEnvironment,
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        await pause(handle, "ana", "launch date moved")
        still_waiting = await query_payload(handle)
        answer = await decide(handle, Decision.APPROVE, "ben")
        held = await held_before(handle, S.PUBLISH)
        await asyncio.sleep(0.5)  # room for a wrong PUBLISH
        steps_while_held = services.steps()
        late = await refusal(handle, APPROVE_UPDATE, ReviewRequest(reviewer="cy", revision=0))
        await resume(handle)
        outcome = await result(handle)
        payload = await query_payload(handle)
    # the pause does not stop the wait for a decision
    assert still_waiting.approval is not None
    assert still_waiting.paused is not None and still_waiting.paused.held_before is None
    assert answer.next_state is S.PUBLISH
    assert steps_while_held == UNTIL_AUDITED
    assert held.approval is None
    assert actions(held)[-2:] == ["approved", "campaign_paused"]
    assert late.type == Refusal.ALREADY_DECIDED
    assert outcome.state is S.LEARN
    assert services.steps() == list(ALL_STEPS)
    assert entry(payload, "campaign_resumed").details == {"before": "PUBLISH"}


async def test_pause_at_learn_or_after_the_end_is_refused(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(LEARN, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[LEARN].wait(), 15)
        at_learn = await refusal(handle, PAUSE_UPDATE, PauseRequest())
        release.set()
        outcome = await result(handle)
        with pytest.raises(RPCError):  # the workflow closed: the server answers
            await handle.execute_update(PAUSE_UPDATE, PauseRequest())
        payload = await query_payload(handle)
    assert at_learn.type == Refusal.CAMPAIGN_ENDED and "LEARN" in at_learn.message
    assert outcome.state is S.LEARN
    assert "pause_requested" not in actions(payload)


# ---- 9. hostile inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [{"reviewer": "ana", "revision": "0"}],
        [{"reviewer": "ana", "revision": -1}],
        [{"reviewer": "ana", "revision": True}],
        [{"revision": 0}],
        [{"reviewer": "", "revision": 0}],
        [{"reviewer": "ana", "revision": 0, "bogus": 1}],
        [{"reviewer": "ana", "revision": 0, "comment": "x" * 2001}],
        ["approve"],
        [{"reviewer": "ana", "revision": 0}, {"reviewer": "ben", "revision": 0}],
    ],
    ids=[
        "revision as a string",
        "negative revision",
        "revision as a bool",
        "no reviewer",
        "empty reviewer",
        "unknown field",
        "comment too long",
        "not an object",
        "two inputs",
    ],
)
async def test_a_malformed_decision_is_refused_and_the_campaign_can_still_be_approved(
    env: WorkflowEnvironment, args: list[Any]
) -> None:
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(APPROVE_UPDATE, args=args)
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(PAUSE_UPDATE, args=args)
        state = await query_state(handle)  # still answers
        still = await query_payload(handle)
        answer = await decide(handle, Decision.APPROVE, "ana")
        outcome = await result(handle)
        failures = await task_failures(handle)
    assert state is S.AWAITING_APPROVAL
    assert still.reviews == [] and still.paused is None
    assert answer.next_state is S.PUBLISH
    assert outcome.state is S.LEARN
    assert failures == 0  # no workflow task failed on the way


# ---- 10. the contracts -------------------------------------------------------------------------


def test_approval_policy_defaults() -> None:
    policy = ApprovalPolicy()
    assert policy.approvers == []
    assert policy.deadline == timedelta(days=2)
    assert policy.reminder_delay() == timedelta(days=1)  # half the deadline
    assert policy.may_decide("anyone at all")
    named = ApprovalPolicy(approvers=["ana"], remind_after=timedelta(hours=1))
    assert named.reminder_delay() == timedelta(hours=1)
    assert named.may_decide("ana") and not named.may_decide("ben")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"deadline": timedelta(hours=1), "remind_after": timedelta(hours=1)}, "shorter"),
        ({"deadline": timedelta(hours=1), "remind_after": timedelta(hours=2)}, "shorter"),
        ({"remind_after": timedelta(0)}, "greater than"),
        ({"approvers": ["ana", "ana"]}, "named twice"),
        ({"approvers": ["*"]}, "not '*'"),
        ({"approvers": [""]}, "1 to 100"),
        ({"approvers": ["x" * 101]}, "1 to 100"),
        ({"approvers": [f"a{i}" for i in range(51)]}, "at most 50"),
        ({"deadline": timedelta(milliseconds=999)}, "greater than or equal"),
        ({"deadline": timedelta(days=30, seconds=1)}, "less than or equal"),
        ({"approver": ["ana"]}, "Extra inputs"),
    ],
    ids=[
        "remind at the deadline",
        "remind after the deadline",
        "zero reminder",
        "duplicate approver",
        "star approver",
        "empty approver",
        "long approver",
        "too many approvers",
        "deadline under a second",
        "deadline over 30 days",
        "misspelled field",
    ],
)
def test_approval_policy_refuses(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        ApprovalPolicy(**fields)
    assert problem in str(info.value)


def test_approval_policy_deadline_bounds_are_inclusive() -> None:
    assert ApprovalPolicy(deadline=timedelta(seconds=1)).deadline == timedelta(seconds=1)
    assert ApprovalPolicy(deadline=timedelta(days=30)).deadline == timedelta(days=30)
    almost = ApprovalPolicy(deadline=timedelta(hours=1), remind_after=timedelta(minutes=59))
    assert almost.reminder_delay() == timedelta(minutes=59)


def test_approval_policy_travels_in_the_input_and_is_left_out_when_unset() -> None:
    with_policy = campaign_input(approval=ApprovalPolicy(approvers=["ana"]))
    dumped = json.loads(with_policy.model_dump_json())
    assert dumped["approval"]["approvers"] == ["ana"]
    assert CampaignInput.model_validate(dumped).approval == with_policy.approval
    assert "approval" not in json.loads(campaign_input().model_dump_json())


@pytest.mark.parametrize(
    "fields",
    [
        {"reviewer": "ana", "revision": "0"},
        {"reviewer": "ana", "revision": -1},
        {"reviewer": "ana", "revision": 1.0},
        {"reviewer": "   ", "revision": 0},
        {"revision": 0},
        {"reviewer": "ana"},
        {"reviewer": "ana", "revision": 0, "comment": "x" * 2001},
    ],
)
def test_review_request_refuses(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReviewRequest.model_validate(fields)


def test_review_request_strips_the_comment() -> None:
    request = ReviewRequest(reviewer=" ana ", revision=0, comment="  \n ")
    assert (request.reviewer, request.comment) == ("ana", "")


def test_pause_request_defaults_and_limits() -> None:
    assert PauseRequest() == PauseRequest(requested_by="operator", reason="")
    with pytest.raises(ValidationError):
        PauseRequest(requested_by="")
    with pytest.raises(ValidationError):
        PauseRequest(reason="x" * 1001)


def test_an_unset_review_is_left_out_of_the_payload_and_read_back() -> None:
    payload = CampaignPayload(
        campaign_id=uuid.uuid4(), execution_id=uuid.uuid4(), brief=campaign_input().brief
    )
    assert not {"approval", "reviews", "paused"} & payload.model_dump().keys()
    assert payload.review_of_current_revision() is None


async def test_a_pause_while_failed_holds_the_retried_step_and_refuses_a_second_retry(
    env: WorkflowEnvironment,
) -> None:
    """A retry accepted while a pause holds: the campaign is held in the step it resumes at,
    no longer FAILED, so a second retry (update or signal) is refused, never kept for later."""
    services = FakeServices().script(AUDIT, fail(FailureReason.SERVICE_REJECTED))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await wait_for_state(handle, S.FAILED)
        await pause(handle, by="ana")
        await handle.execute_update(
            RETRY_UPDATE, RetryRequest(requested_by="op"), result_type=RetryAccepted
        )
        held = await held_before(handle, S.QUALITY_AUDIT)
        # (before the fix, the update failed the workflow task: it never answered)
        again = await asyncio.wait_for(
            refusal(handle, RETRY_UPDATE, RetryRequest(requested_by="op")), 15
        )
        await handle.signal(RETRY_SIGNAL, RetryRequest(requested_by="batch"))
        failures = await task_failures(handle)
        await resume(handle)
        outcome = await result(handle)
        payload = await query_payload(handle)
    assert held.state is S.QUALITY_AUDIT and held.failure is None
    assert again.type == Refusal.NOT_FAILED
    assert failures == 0
    assert outcome.state is S.LEARN and payload.retry_count == 1  # the signal was refused
    assert entry(payload, "retry_refused").details["requested_by"] == "batch"


async def test_a_pause_once_publish_has_begun_is_too_late(env: WorkflowEnvironment) -> None:
    release = asyncio.Event()
    services = FakeServices().script(PUBLISH, blocked(release))
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, campaign_input())
        await asyncio.wait_for(services.started[PUBLISH].wait(), 15)
        late = await refusal(handle, PAUSE_UPDATE, PauseRequest(requested_by="ana"))
        release.set()
        await result(handle)
        payload = await query_payload(handle)
    assert late.type == Refusal.TOO_LATE and "only LEARN is left" in late.message
    assert payload.state is S.LEARN and payload.paused is None
    assert "campaign_paused" not in actions(payload)


async def test_two_inputs_or_a_wrong_type_are_refused_in_one_line(env: WorkflowEnvironment) -> None:
    """As `temporal workflow update execute -i ... -i ...` sends them: refused by the validator
    (INVALID_REQUEST), naming the cause, never a TypeError or pydantic's multi-line text."""
    services = FakeServices()
    async with running_worker(env.client, services) as tq:
        handle = await start(env.client, tq, reviewed())
        await awaiting(handle)
        one = ReviewRequest(reviewer="ana", revision=0)
        doubled = await refusal(handle, APPROVE_UPDATE, one, one)
        typed = await refusal(handle, APPROVE_UPDATE, {"reviewer": "ana", "revision": "0"})
        paused = await refusal(handle, PAUSE_UPDATE, PauseRequest(), PauseRequest())
        await decide(handle, Decision.APPROVE, "ana")
        await result(handle)
    assert doubled.type == Refusal.INVALID_REQUEST
    assert (
        doubled.message
        == "the approve input must be one JSON object (ReviewRequest); got 2 payloads"
    )
    assert typed.type == Refusal.INVALID_REQUEST and "\n" not in typed.message
    assert typed.message.startswith("the approve input: revision: ")
    assert paused.type == Refusal.INVALID_REQUEST and "got 2 payloads" in paused.message
