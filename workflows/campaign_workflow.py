"""CampaignWorkflow: the campaign state graph as durable, deterministic Temporal code.

    IDLE -> RADAR_SCAN -> STRATEGY_GEN -> CONTENT_PROD -> QUALITY_AUDIT -> PUBLISH -> LEARN
                                                          (gate fails, or a step gives up) -> FAILED

With an approval policy in its input, a campaign waits in AWAITING_APPROVAL after the gate for a
reviewer's `approve` (on to PUBLISH), `request_changes` (back to CONTENT_PROD, the comment as
feedback) or `reject` (FAILED; a retry resumes at CONTENT_PROD); no decision by the deadline
fails it too (a retry asks again). A `pause` holds any campaign before its next step until
`resume`.

Each step is one activity (one HTTP call). A step that gives up, or a closed quality gate, parks
the campaign in FAILED, where it waits durably for a retry (the `request_retry` update or the
`retry` signal; at most `max_retries`) and then resumes from the step that failed (content
production, for a closed gate). With no retry within `retry_window` the workflow ends as failed,
its ApplicationError typed by FailureReason. A campaign id publishes once: a later run of a
campaign that was published ends at once as ALREADY_PUBLISHED, with the first receipt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import Priority, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as TemporalTimeoutError,
)

with workflow.unsafe.imports_passed_through():
    from activities import CampaignActivities
    from contracts import (
        ANYONE,
        APPROVE_UPDATE,
        CONTENT_PROD_STEP,
        LEARN_STEP,
        PAUSE_UPDATE,
        PAYLOAD_QUERY,
        PIPELINE,
        PUBLISH_STEP,
        QUALITY_AUDIT_STEP,
        RADAR_SCAN_STEP,
        REJECT_UPDATE,
        REQUEST_CHANGES_UPDATE,
        RESUME_UPDATE,
        RETRY_SIGNAL,
        RETRY_UPDATE,
        START_SIGNAL,
        START_UPDATE,
        STATE_QUERY,
        STRATEGY_GEN_STEP,
        WORKFLOW_TYPE,
        ApprovalWait,
        AuditRequest,
        CampaignBrief,
        CampaignInput,
        CampaignOutcome,
        CampaignPayload,
        CampaignState,
        CarriedState,
        ContentRequest,
        Decision,
        FailureReason,
        LearnRequest,
        LogAction,
        PauseAccepted,
        PauseInfo,
        PauseRequest,
        PublicationLookup,
        PublicationRecord,
        PublishReceipt,
        PublishRequest,
        RadarScanRequest,
        Refusal,
        RetryAccepted,
        RetryRequest,
        ReviewAccepted,
        ReviewRecord,
        ReviewRequest,
        StartAccepted,
        StartRequest,
        Step,
        StepCall,
        StepRetrySettings,
        StrategyRequest,
        scheduled_campaign_id,
        scheduled_time_in,
        service_task_queue,
        workflow_id_for,
    )
    from contracts.base import Artifact, describe_errors
    from contracts.services import ServiceRequest
    from workflows import search_attributes as sa
    from workflows.current_details import current_details
    from workflows.observer import CampaignObserver
    from workflows.quality_gate import gate_problems

S = CampaignState
A = LogAction
ORCHESTRATOR = "orchestrator"
# Deprecated (release 0.1.0 baseline): the PUBLISH key of campaigns started before
# `workflow-guarantees` no longer changes with operator retries. Never a command, so never
# needed a patch; deprecated so that histories with its marker still replay.
STABLE_PUBLISH_KEY = "stable-publish-key"
# The workflow enforces its own guarantees: PUBLISH and LEARN keyed per campaign, the publisher
# asked when a run begins, a cancel during PUBLISH waits for its outcome, refusals decided when a
# command arrives. Campaigns started before this change replay as they ran.
GUARANTEES = "workflow-guarantees"
# Each step's activity runs on its service's task queue (contracts.service_task_queue), with its
# own worker slots and rate limit. Campaigns started before schedule them on their own queue.
SERVICE_TASK_QUEUES = "service-task-queues"
LOOKUP_TIMEOUT = timedelta(seconds=10)
LOGGED_REFUSALS = 5  # refused `retry` signals logged one by one per failure; then only counted
ResultT = TypeVar("ResultT", bound=Artifact)  # what a step returns
RequestT = TypeVar("RequestT", bound=ServiceRequest)  # what a step sends


class StepFailed(Exception):
    """Internal: a step gave up or the gate closed. Always caught in `run`, never escapes."""

    def __init__(
        self,
        reason: FailureReason,
        step: CampaignState,
        message: str,
        resume_at: CampaignState,
        receipt: PublishReceipt | None = None,
    ) -> None:
        super().__init__(message)
        self.reason, self.step, self.message, self.resume_at = reason, step, message, resume_at
        self.receipt = receipt  # ALREADY_PUBLISHED: the publisher's first receipt


# Versioned workers run it AUTO_UPGRADE (orchestrator_worker/deployment.py says why).
@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class CampaignWorkflow:
    # `input` and the signals' `request` arrive as decoded JSON, validated here: the SDK decodes a
    # payload by type only when the payload count matches the signature, and a missing or extra
    # payload would otherwise be a TypeError that fails every workflow task (a hang).
    @workflow.init
    def __init__(self, input: CampaignInput | object = None, *extra: object) -> None:
        self._input_problem: Exception | None = None
        try:
            valid = _one_model(CampaignInput, "the start input", input, extra)
        except (ApplicationError, ValidationError) as err:
            self._input_problem = err
            valid = _placeholder_input()
        self._input = valid
        # A scheduled run (`campaign-<campaign_id>-<scheduled time>`) runs the campaign of its
        # time: every action for that time is the same campaign, which publishes once.
        self._scheduled_time = scheduled_time_in(workflow.info().workflow_id, valid.campaign_id)
        self._payload = CampaignPayload(
            campaign_id=(
                scheduled_campaign_id(valid.campaign_id, self._scheduled_time)
                if self._scheduled_time
                else valid.campaign_id
            ),
            execution_id=valid.execution_id or workflow.uuid4(),
            brief=valid.brief,
            max_retries=valid.max_retries,
        )
        self._resume_at: CampaignState = S.RADAR_SCAN
        self._retry_request: RetryRequest | None = None  # at most one accepted, not yet resumed
        self._start_request: StartRequest | None = None
        self._guarantees: bool | None = None  # decided once, by the patch marker
        self._service_queues = False  # decided in run(), by the patch marker
        self._retry_deadline: datetime | None = None  # while parked in FAILED
        self._looked_up = False  # the publisher was asked whether this campaign was published
        self._refusals_logged = 0  # refused retry signals logged for the current failure
        carried = valid.carried
        if carried is not None and self._input_problem is None:
            info = workflow.info()
            # Only a continue-as-new run has a continued_run_id without a cron schedule or a
            # workflow retry (both also set it, and would re-run a client's input).
            if info.continued_run_id is None or info.cron_schedule or info.attempt != 1:
                self._input_problem = ApplicationError(
                    "the start input's `carried` is set by continue-as-new only; leave it out",
                    type=FailureReason.INVALID_INPUT.value,
                    non_retryable=True,
                )
            else:
                self._payload = carried.payload
                self._resume_at = carried.resume_at
                self._retry_deadline = carried.retry_deadline
                self._looked_up = carried.looked_up
                self._refusals_logged = carried.refusals_logged
        self._ending = False  # the retry window closed: the workflow is ending
        self._cancelling = False
        self._sa_written: dict[str, str | int | bool | list[str] | None] = {}
        self._observer = CampaignObserver(valid.notify_transitions)

    # ---- the graph, top to bottom ------------------------------------------------------------

    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        if self._input_problem is not None:
            raise self._input_problem
        expected_id = workflow_id_for(self._input.campaign_id)
        if workflow.info().workflow_id != expected_id and self._scheduled_time is None:
            raise ApplicationError(
                f"workflow id {workflow.info().workflow_id!r} does not match the input's "
                f"campaign_id: a campaign runs only as {expected_id!r} (a schedule's action: "
                f"{expected_id!r}, each run gets '-<scheduled time>')",
                type=FailureReason.INVALID_INPUT.value,
                non_retryable=True,
            )
        self._guarded()  # decided first, so no wait condition ever records the marker
        self._service_queues = workflow.patched(SERVICE_TASK_QUEUES)
        self._observer.decide()
        if self._input.carried is None:
            created = {"execution_id": str(self._payload.execution_id)}
            keys = self._input.model_dump(include={"brand", "priority"}, exclude_none=True)
            self._trace(A.CAMPAIGN_CREATED, created | keys | self._schedule_details())
        else:
            self._trace(A.RUN_CONTINUED, {"previous_run_id": workflow.info().continued_run_id})
        parked = self._payload.state is S.FAILED  # a continued run of a FAILED campaign
        try:
            if self._payload.state is S.IDLE and not self._input.start_immediately:
                await self._wait_for_start()
            if self._guarded() and not self._looked_up:
                await self._end_if_published_before()
                self._looked_up = True
            while True:
                if not parked:
                    try:
                        await self._walk_graph()
                        self._trace(
                            A.CAMPAIGN_COMPLETED, {"retry_count": self._payload.retry_count}
                        )
                        await self._settle()
                        return self._outcome()
                    except StepFailed as failed:
                        if failed.reason is FailureReason.ALREADY_PUBLISHED:
                            await self._end_already_published(failed.receipt, failed.message)
                        self._enter_failed(failed)
                parked = False
                if not await self._wait_for_retry():
                    self._ending = True
                    await self._settle()
                    raise self._final_failure() from None
        except asyncio.CancelledError:
            self._enter_cancelled()
            # The events so far, and campaign_cancelled (drained only by guarded runs).
            await self._settle(drain=self._guarded())
            raise

    async def _walk_graph(self) -> None:
        p = self._payload
        if self._due(RADAR_SCAN_STEP):
            p.trend_report = await self._step(
                RADAR_SCAN_STEP,
                RadarScanRequest(campaign_id=p.campaign_id, brief=p.brief),
            )
        if self._due(STRATEGY_GEN_STEP):
            p.strategy = await self._step(
                STRATEGY_GEN_STEP,
                StrategyRequest(
                    campaign_id=p.campaign_id, brief=p.brief, trend_report=_have(p.trend_report)
                ),
            )
        while True:  # back to CONTENT_PROD when a reviewer requests changes
            if self._due(CONTENT_PROD_STEP):
                # The next revision is produced against the audit's findings and the reviewer's
                # comment on the previous one, if any.
                review = p.review_of_current_revision()
                p.content = await self._step(
                    CONTENT_PROD_STEP,
                    ContentRequest(
                        campaign_id=p.campaign_id,
                        brief=p.brief,
                        strategy=_have(p.strategy),
                        revision=p.content.revision + 1 if p.content else 0,
                        feedback=p.quality_report if p.content else None,
                        reviewer_comment=review.comment if review else None,
                    ),
                )
            if self._due(QUALITY_AUDIT_STEP):
                p.quality_report = await self._step(
                    QUALITY_AUDIT_STEP,
                    AuditRequest(
                        campaign_id=p.campaign_id,
                        brief=p.brief,
                        strategy=_have(p.strategy),
                        content=_have(p.content),
                    ),
                )
                self._quality_gate()
            if self._due(PUBLISH_STEP) and self._awaits_approval():
                if not await self._await_review():  # changes requested
                    self._resume_at = S.CONTENT_PROD
                    continue
            break
        if self._due(PUBLISH_STEP):
            p.publish_receipt = await self._step(
                PUBLISH_STEP,
                PublishRequest(
                    campaign_id=p.campaign_id,
                    campaign_name=p.brief.name,
                    content=_have(p.content),
                    quality_report_id=_have(p.quality_report).artifact_id,
                ),
            )
        if self._due(LEARN_STEP):
            p.learning_summary = await self._step(
                LEARN_STEP,
                LearnRequest(
                    campaign_id=p.campaign_id,
                    brief=p.brief,
                    receipt=_have(p.publish_receipt),
                    quality_report=_have(p.quality_report),
                ),
            )

    # ---- a person in the loop: approval before PUBLISH ---------------------------------------

    def _awaits_approval(self) -> bool:
        """An approval policy, and no approval yet of the content as it is now."""
        review = self._payload.review_of_current_revision()
        return self._input.approval is not None and not (
            review is not None and review.decision is Decision.APPROVE
        )

    async def _await_review(self) -> bool:
        """AWAITING_APPROVAL: wait for a decision on the audited revision, with a reminder, until
        the deadline. True: approved; False: changes requested (back to CONTENT_PROD). A
        rejection or the deadline fails the campaign (StepFailed)."""
        p, policy = self._payload, self._input.approval
        assert policy is not None  # _awaits_approval
        revision = _have(p.content).revision
        now = workflow.now()
        p.state = S.AWAITING_APPROVAL
        self._resume_at = S.PUBLISH  # a timeout's retry asks again
        p.approval = ApprovalWait(
            revision=revision,
            approvers=policy.approvers,
            requested_at=now,
            deadline=now + policy.deadline,
        )
        self._trace(
            A.APPROVAL_REQUESTED,
            {
                "revision": revision,
                "approvers": ", ".join(policy.approvers) or "anyone",
                "deadline": p.approval.deadline.isoformat(),
            },
        )
        self._publish_search_attributes()
        decided = await self._wait_for_review(until=now + policy.reminder_delay())
        if not decided:
            p.approval.reminded = True
            self._trace(
                A.APPROVAL_REMINDER,
                {"revision": revision, "deadline": p.approval.deadline.isoformat()},
            )
            decided = await self._wait_for_review(until=p.approval.deadline)
        wait, p.approval = p.approval, None
        if not decided:
            raise StepFailed(
                FailureReason.APPROVAL_TIMEOUT,
                S.AWAITING_APPROVAL,
                f"no decision on revision {revision} by {wait.deadline.isoformat()} (approval "
                f"deadline {policy.deadline}); a retry asks again",
                resume_at=S.PUBLISH,
            )
        review = p.reviews[-1]
        details = {"reviewer": review.reviewer, "revision": revision, "comment": review.comment}
        if review.decision is Decision.APPROVE:
            self._trace(A.APPROVED, details)
            return True
        if review.decision is Decision.REQUEST_CHANGES:
            self._trace(A.CHANGES_REQUESTED, details)
            return False
        self._trace(A.REJECTED, details)
        raise StepFailed(
            FailureReason.APPROVAL_REJECTED,
            S.AWAITING_APPROVAL,
            f"rejected by {review.reviewer}: {review.comment}",
            resume_at=S.CONTENT_PROD,
        )

    async def _wait_for_review(self, until: datetime) -> bool:
        """True once a decision on the waiting revision was accepted; False at `until`."""
        waiting = self._payload.approval
        assert waiting is not None  # set by _await_review
        try:
            await workflow.wait_condition(
                lambda: self._review_decided(waiting),
                timeout=max(until - workflow.now(), timedelta(seconds=1)),
                timeout_summary="approval reminder"
                if not waiting.reminded
                else "approval deadline",
            )
        except TimeoutError:
            return False
        return True

    def _review_decided(self, waiting: ApprovalWait) -> bool:
        reviews = self._payload.reviews
        return (
            bool(reviews)
            and reviews[-1].revision == waiting.revision
            and (reviews[-1].at >= waiting.requested_at)
        )

    # ---- one publication per campaign id ------------------------------------------------------

    async def _end_if_published_before(self) -> None:
        """Ask the publisher whether an earlier run of this campaign id published it; if so, end
        this run with the first receipt. A failed lookup goes on: the publisher refuses a second
        publication of a campaign itself (ALREADY_PUBLISHED at PUBLISH)."""
        p = self._payload
        try:
            record: PublicationRecord = await workflow.execute_local_activity_method(
                CampaignActivities.find_publication,
                PublicationLookup(campaign_id=p.campaign_id),
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="was this campaign published before?",
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's may come bare
            if is_cancelled_exception(err):
                raise asyncio.CancelledError() from err
            reason, message = _classify(err)
            self._trace(A.PUBLICATION_LOOKUP_FAILED, {"error": f"{reason}: {message}"})
            return
        if record.receipt is not None:
            await self._end_already_published(
                record.receipt, "the publisher has a publication of this campaign"
            )

    async def _end_already_published(self, receipt: PublishReceipt | None, why: str) -> None:
        """End the run: this campaign id was published before (never publish it twice)."""
        p = self._payload
        p.publish_receipt = receipt or p.publish_receipt
        first = (
            f" (publication {receipt.publication_id} at {receipt.published_at.isoformat()})"
            if receipt
            else ""
        )
        again = (
            f"the run for {self._scheduled_time} published it, and a scheduled time is one campaign"
            if self._scheduled_time
            else "start a new campaign id to publish again"
        )
        message = (
            f"campaign {p.campaign_id} was already published{first}: a campaign id publishes "
            f"once; {again} ({why})"
        )
        p.mark_failed(FailureReason.ALREADY_PUBLISHED, message, step=p.state, at=workflow.now())
        self._ending = True
        self._trace(
            A.ALREADY_PUBLISHED,
            {"publication_id": receipt.publication_id if receipt else None, "message": message},
        )
        await self._settle()
        raise ApplicationError(
            message,
            self._outcome(),
            type=FailureReason.ALREADY_PUBLISHED.value,
            non_retryable=True,
        )

    def _quality_gate(self) -> None:
        problems = gate_problems(self._payload.quality_report)
        if problems:
            raise StepFailed(
                FailureReason.QUALITY_GATE_FAILED,
                S.QUALITY_AUDIT,
                "quality gate closed: " + "; ".join(problems),
                resume_at=S.CONTENT_PROD,
            )
        self._trace(A.QUALITY_GATE_PASSED)

    # ---- FAILED: park, wait for an operator, resume ------------------------------------------

    def _enter_failed(self, failed: StepFailed) -> None:
        p = self._payload
        p.mark_failed(failed.reason, failed.message, step=failed.step, at=workflow.now())
        self._resume_at = failed.resume_at
        self._refusals_logged = 0
        self._trace(
            A.CAMPAIGN_FAILED,
            {
                "reason": failed.reason.value,
                "failed_step": failed.step.value,
                "message": failed.message,
                "resume_at": failed.resume_at.value,
                "retries_left": p.max_retries - p.retry_count,
                "retry_window_seconds": int(self._input.retry_window.total_seconds()),
            },
        )

    async def _wait_for_retry(self) -> bool:
        """True when an accepted retry arrived; False when the retry window expired."""
        p = self._payload
        deadline = self._retry_deadline or workflow.now() + self._input.retry_window
        self._retry_deadline = deadline
        while True:
            self._publish_search_attributes()
            remaining = deadline - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._retry_request is not None or self._history_is_long(),
                    timeout=max(remaining, timedelta(seconds=1)),
                    timeout_summary="retry window",
                )
            except TimeoutError:
                self._trace(A.RETRY_WINDOW_EXPIRED, {"retry_window": str(self._input.retry_window)})
                return False
            if self._retry_request is None:
                await self._continue_as_new(lambda: self._retry_request is not None)
            request = self._retry_request
            assert request is not None
            self._retry_request = None
            if not p.can_retry():  # only a legacy `retry` signal gets here (see `retry`)
                self._trace(
                    A.RETRY_REFUSED,
                    {
                        "requested_by": request.requested_by,
                        "why": f"max_retries ({p.max_retries}) reached",
                    },
                )
                continue
            p.retry_count += 1
            failed = p.failure
            p.failure = None
            self._retry_deadline = None
            self._trace(
                A.RETRY_ACCEPTED,
                {
                    "requested_by": request.requested_by,
                    "reason": request.reason,
                    "retry_count": p.retry_count,
                    "previous_failure": failed.reason.value if failed else None,
                    "resume_at": self._resume_at.value,
                },
            )
            return True

    def _final_failure(self) -> ApplicationError:
        failure = self._payload.failure
        assert failure is not None
        return ApplicationError(
            f"campaign {self._payload.campaign_id} FAILED at {failure.step}: "
            f"{failure.reason}: {failure.message}",
            self._outcome(),
            type=failure.reason.value,
            non_retryable=True,
        )

    def _enter_cancelled(self) -> None:
        self._cancelling = True
        p = self._payload
        step = p.state if p.state is not S.FAILED else (p.failure.step if p.failure else p.state)
        p.mark_failed(FailureReason.CANCELLED, "cancelled by request", step=step, at=workflow.now())
        p.state = S.CANCELLED  # the failure says where; the state, that it ended by request
        # It ended: it no longer waits for a review nor holds (search attributes, current details).
        p.approval = p.paused = None
        self._trace(
            A.CAMPAIGN_CANCELLED, {"step": step.value, "published": p.publish_receipt is not None}
        )

    # ---- signals and queries -----------------------------------------------------------------

    # The updates answer the caller (accepted, or refused with a typed reason and nothing in
    # history); the signals serve `temporal workflow signal` and batch operations. Both share
    # one rule (`_retry_refusal`, `_start_refusal`) and one way in (the request slots).

    @workflow.update(name=RETRY_UPDATE)
    def request_retry(self, request: RetryRequest | None = None) -> RetryAccepted:
        p = self._payload
        self._retry_request = request or RetryRequest()
        assert p.failure is not None  # the validator checked the campaign is FAILED
        return RetryAccepted(
            campaign_id=p.campaign_id,
            retry_count=p.retry_count + 1,
            retries_left=p.max_retries - p.retry_count - 1,
            resume_at=self._resume_at,
            retried_failure=p.failure.reason,
        )

    @request_retry.validator
    def _validate_retry(self, request: RetryRequest | None = None) -> None:
        refusal = self._retry_refusal()
        if refusal is not None:
            raise ApplicationError(refusal[1], type=refusal[0].value, non_retryable=True)

    @workflow.update(name=START_UPDATE)
    def request_start(self, request: StartRequest | None = None) -> StartAccepted:
        self._start_request = request or StartRequest()
        return StartAccepted(campaign_id=self._payload.campaign_id)

    @request_start.validator
    def _validate_start(self, request: StartRequest | None = None) -> None:
        refusal = self._start_refusal()
        if refusal is not None:
            raise ApplicationError(refusal[1], type=refusal[0].value, non_retryable=True)

    # A reviewer's decision on the audited revision (campaigns with an approval policy). The
    # validators refuse with a Refusal and leave nothing in history; a handler runs right after
    # its validator, so of two decisions sent at once one is accepted and the other refused.

    @workflow.update(name=APPROVE_UPDATE)
    def approve(self, request: object = None, *extra: object) -> ReviewAccepted:
        return self._decide(Decision.APPROVE, request)

    @approve.validator
    def _validate_approve(self, request: object = None, *extra: object) -> None:
        _refuse(self._review_refusal(Decision.APPROVE, request, extra))

    @workflow.update(name=REJECT_UPDATE)
    def reject(self, request: object = None, *extra: object) -> ReviewAccepted:
        return self._decide(Decision.REJECT, request)

    @reject.validator
    def _validate_reject(self, request: object = None, *extra: object) -> None:
        _refuse(self._review_refusal(Decision.REJECT, request, extra))

    @workflow.update(name=REQUEST_CHANGES_UPDATE)
    def request_changes(self, request: object = None, *extra: object) -> ReviewAccepted:
        return self._decide(Decision.REQUEST_CHANGES, request)

    @request_changes.validator
    def _validate_request_changes(self, request: object = None, *extra: object) -> None:
        _refuse(self._review_refusal(Decision.REQUEST_CHANGES, request, extra))

    def _decide(self, decision: Decision, value: object) -> ReviewAccepted:
        p = self._payload
        request = ReviewRequest.model_validate(value)  # the validator refused anything else
        p.reviews.append(
            ReviewRecord(
                decision=decision,
                reviewer=request.reviewer,
                revision=request.revision,
                comment=request.comment,
                at=workflow.now(),
            )
        )
        following = {
            Decision.APPROVE: S.PUBLISH,
            Decision.REQUEST_CHANGES: S.CONTENT_PROD,
            Decision.REJECT: S.FAILED,
        }
        return ReviewAccepted(
            campaign_id=p.campaign_id,
            decision=decision,
            reviewer=request.reviewer,
            revision=request.revision,
            next_state=following[decision],
        )

    def _review_refusal(
        self, decision: Decision, value: object, extra: tuple[object, ...]
    ) -> tuple[Refusal, str] | None:
        p = self._payload
        if self._being_cancelled():
            return Refusal.CANCELLED, "the campaign is being cancelled"
        if value is None and not extra:
            return Refusal.INVALID_REQUEST, (
                'a decision needs {"reviewer": ..., "revision": ..., "comment": ...}'
            )
        request, invalid = _update_input(ReviewRequest, f"the {decision} input", value, extra)
        if request is None:
            return invalid
        waiting = p.approval
        if waiting is None:
            # Decided already (a decision sent at once with the winner's, or late): say by whom.
            decided = next((r for r in reversed(p.reviews) if r.revision == request.revision), None)
            if decided is not None:
                return _already_decided(decided)
            why = (
                "it has no approval step"
                if self._input.approval is None
                else "it waits for no decision now"
            )
            return Refusal.NOT_AWAITING_APPROVAL, f"campaign is {p.state}: {why}"
        if self._review_decided(waiting):
            return _already_decided(p.reviews[-1])
        policy = self._input.approval
        if policy is not None and not policy.may_decide(request.reviewer):
            return Refusal.NOT_AN_APPROVER, (
                f"{request.reviewer!r} is not an approver of this campaign "
                f"({', '.join(policy.approvers)})"
            )
        if request.revision != waiting.revision:
            return Refusal.WRONG_REVISION, (
                f"revision {request.revision} is not the one audited and waiting for a "
                f"decision ({waiting.revision})"
            )
        if decision is not Decision.APPROVE and not request.comment.strip():
            return Refusal.COMMENT_REQUIRED, f"{decision} needs a comment: say what to change"
        return None

    # Pause and resume: held at the next step boundary (never inside a service call).

    @workflow.update(name=PAUSE_UPDATE)
    def pause(self, value: object = None, *extra: object) -> PauseAccepted:
        p = self._payload
        request = PauseRequest.model_validate(value or {})  # the validator checked it
        p.paused = PauseInfo(
            requested_by=request.requested_by, reason=request.reason, requested_at=workflow.now()
        )
        self._trace(
            A.PAUSE_REQUESTED, {"requested_by": request.requested_by, "reason": request.reason}
        )
        return PauseAccepted(
            campaign_id=p.campaign_id,
            paused=True,
            detail=f"holds before its next step (now {p.state}); a step in flight finishes",
        )

    @pause.validator
    def _validate_pause(self, value: object = None, *extra: object) -> None:
        p = self._payload
        _refuse(_update_input(PauseRequest, "the pause input", value or {}, extra)[1])
        if self._being_cancelled():
            _refuse((Refusal.CANCELLED, "the campaign is being cancelled"))
        if self._ending or p.state is S.LEARN:
            _refuse((Refusal.CAMPAIGN_ENDED, f"the campaign is ending ({p.state})"))
        if p.state is S.PUBLISH or p.publish_receipt is not None:
            _refuse((Refusal.TOO_LATE, "it is publishing: only LEARN is left, which records it"))
        if p.paused is not None:
            _refuse((Refusal.ALREADY_PAUSED, f"paused by {p.paused.requested_by} already"))

    @workflow.update(name=RESUME_UPDATE)
    def resume(self, value: object = None, *extra: object) -> PauseAccepted:
        p = self._payload
        request = PauseRequest.model_validate(value or {})  # the validator checked it
        held = p.paused.held_before if p.paused else None
        p.paused = None
        if held is None:  # not yet at a boundary: the pause is withdrawn
            self._trace(A.CAMPAIGN_RESUMED, {"requested_by": request.requested_by})
        return PauseAccepted(
            campaign_id=p.campaign_id,
            paused=False,
            detail=f"goes on with {held}" if held else "the pause is withdrawn; it goes on",
        )

    @resume.validator
    def _validate_resume(self, value: object = None, *extra: object) -> None:
        _refuse(_update_input(PauseRequest, "the resume input", value or {}, extra)[1])
        if self._being_cancelled():
            _refuse((Refusal.CANCELLED, "the campaign is being cancelled"))
        if self._payload.paused is None:
            _refuse((Refusal.NOT_PAUSED, f"campaign is not paused ({self._payload.state})"))

    @workflow.signal(name=RETRY_SIGNAL)
    def retry(self, request: RetryRequest | object = None, *extra: object) -> None:
        valid = _signal_model(RetryRequest, RETRY_SIGNAL, request, extra)
        if valid is None:
            return
        refusal = self._retry_refusal() if self._guarded() else self._legacy_retry_refusal()
        if refusal is not None:
            details = {"requested_by": valid.requested_by, "why": refusal[1]}
            if self._guarded():
                if self._refusals_logged >= LOGGED_REFUSALS:
                    self._payload.unlogged_refusals += 1  # the log stays bounded
                    return
                self._refusals_logged += 1
                details["refusal"] = refusal[0].value
            self._trace(A.RETRY_REFUSED, details)
            return
        self._retry_request = valid

    @workflow.signal(name=START_SIGNAL)
    def start(self, request: StartRequest | object = None, *extra: object) -> None:
        valid = _signal_model(StartRequest, START_SIGNAL, request, extra)
        if valid is not None and self._start_refusal() is None:
            self._start_request = valid

    def _legacy_retry_refusal(self) -> tuple[Refusal, str] | None:
        """The `retry` signal's rule for campaigns started before GUARANTEES, as they ran
        (max_retries was refused in _wait_for_retry)."""
        if self._payload.state is not S.FAILED:
            return Refusal.NOT_FAILED, f"campaign is {self._payload.state}, not FAILED"
        if self._retry_request is not None:
            return Refusal.RETRY_PENDING, "a retry of this failure was already accepted"
        return None

    def _being_cancelled(self) -> bool:
        # Set when the cancel request is applied, before the handlers of the same activation.
        return self._cancelling or workflow.cancellation_reason() is not None

    def _retry_refusal(self) -> tuple[Refusal, str] | None:
        """Why a retry is refused now, or None when it is accepted."""
        p = self._payload
        if self._being_cancelled():
            return Refusal.CANCELLED, "the campaign is being cancelled"
        if self._ending:
            return Refusal.RETRY_WINDOW_OVER, "the campaign is ending"
        if p.state is not S.FAILED or p.failure is None:
            return Refusal.NOT_FAILED, f"campaign is {p.state}, not FAILED: nothing to retry"
        if self._retry_request is not None:
            # One resume per failure: nothing carries over to a later one.
            return Refusal.RETRY_PENDING, "a retry of this failure was already accepted"
        if self._retry_deadline is not None and workflow.now() >= self._retry_deadline:
            return Refusal.RETRY_WINDOW_OVER, (
                f"the retry window ({self._input.retry_window}) is over: the campaign is ending"
            )
        if not p.can_retry():
            return Refusal.NO_RETRIES_LEFT, f"max_retries ({p.max_retries}) reached"
        return None

    def _start_refusal(self) -> tuple[Refusal, str] | None:
        if self._being_cancelled():
            return Refusal.CANCELLED, "the campaign is being cancelled"
        if (
            self._input.start_immediately
            or self._start_request is not None
            or self._payload.state is not S.IDLE
        ):
            return Refusal.ALREADY_STARTED, (
                f"campaign is already started (state {self._payload.state})"
            )
        return None

    @workflow.query(name=STATE_QUERY)
    def state(self) -> CampaignState:
        return self._payload.state

    @workflow.query(name=PAYLOAD_QUERY)
    def payload(self) -> CampaignPayload:
        return self._payload

    # ---- machinery ---------------------------------------------------------------------------

    async def _wait_for_start(self) -> None:
        self._publish_search_attributes()
        while self._start_request is None:
            await workflow.wait_condition(
                lambda: self._start_request is not None or self._history_is_long()
            )
            if self._start_request is None:
                await self._continue_as_new(lambda: self._start_request is not None)
        self._trace(A.CAMPAIGN_STARTED, {"requested_by": self._start_request.requested_by})

    def _schedule_details(self) -> dict[str, str]:
        """For a scheduled run's log: its schedule and time (the template is the input's id)."""
        if self._scheduled_time is None:
            return {}
        by = workflow.info().typed_search_attributes.get(sa.SCHEDULED_BY_ID)
        return {
            "scheduled_time": self._scheduled_time,
            "schedule_template_id": str(self._input.campaign_id),
            **({"schedule_id": by} if by else {}),
        }

    def _history_is_long(self) -> bool:
        """Time to continue as new (only checked while parked, and only for guarded runs)."""
        if not self._guarded():
            return False
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._input.continue_as_new_after_events
        )

    async def _continue_as_new(self, taken: Callable[[], bool]) -> None:
        """Hand the campaign to a fresh run of the same workflow id, with its state carried.
        Returns (no continue-as-new) when the awaited command was accepted meanwhile."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._observer.drain()
        if taken():
            return
        self._trace(
            A.CONTINUED_AS_NEW, {"history_events": workflow.info().get_current_history_length()}
        )
        carried = CarriedState(
            payload=self._payload,
            resume_at=self._resume_at,
            retry_deadline=self._retry_deadline,
            looked_up=self._looked_up,
            refusals_logged=self._refusals_logged,
        )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried}))

    def _due(self, step: Step[Any, Any]) -> bool:
        return PIPELINE.index(step.state) >= PIPELINE.index(self._resume_at)

    async def _step(self, step: Step[RequestT, ResultT], request: RequestT) -> ResultT:
        """Enter the step's state and run its activity under the step's retry policy."""
        p = self._payload
        state = step.state
        self._resume_at = state
        p.state = state
        await self._hold_if_paused(before=state)
        self._trace(A.STEP_STARTED, {"service": step.service.value})
        self._publish_search_attributes()
        policy = self._input.retry_settings_for(state)
        call: StepCall[RequestT] = StepCall(
            idempotency_key=self._idempotency_key(state), request=request
        )
        try:
            result = await self._run_activity(
                step,
                call,
                start_to_close_timeout=policy.start_to_close_timeout,
                retry_policy=RetryPolicy(
                    initial_interval=policy.initial_interval,
                    backoff_coefficient=policy.backoff_coefficient,
                    maximum_interval=policy.maximum_interval,
                    maximum_attempts=policy.maximum_attempts,
                    non_retryable_error_types=[
                        r.value for r in FailureReason if not r.retryable_by_temporal
                    ],
                ),
                summary=f"{state}: {step.service} for {p.brief.name}"[:200],
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise asyncio.CancelledError() from err
            reason, message = _classify(err)
            receipt = _first_receipt(err) if reason is FailureReason.ALREADY_PUBLISHED else None
            raise StepFailed(reason, state, message, resume_at=state, receipt=receipt) from err
        self._trace(
            A.STEP_COMPLETED,
            {"service": step.service.value, "artifact_id": str(result.artifact_id)},
        )
        return result

    async def _run_activity(
        self, step: Step[RequestT, ResultT], call: StepCall[RequestT], **options: Any
    ) -> ResultT:
        """The step's activity. A cancel during PUBLISH does not abandon the call: the workflow
        waits for its outcome, logs whether the publication happened, then ends cancelled."""

        queue = self._task_queue_for(step)
        # The brand shares each queue fairly with other brands; the priority orders it. Unset:
        # the workflow's own (as its start request gave it), as Temporal inherits by default.
        priority = Priority(priority_key=self._input.priority, fairness_key=self._input.brand)

        async def run() -> ResultT:
            result: ResultT = await workflow.execute_activity(
                step.activity,
                call,
                task_queue=queue,
                priority=priority,
                result_type=step.response_model,
                **options,
            )
            return result

        if step.state is not S.PUBLISH or not self._guarded():
            return await run()
        publishing = asyncio.ensure_future(run())
        try:
            return await asyncio.shield(publishing)
        except asyncio.CancelledError:
            self._trace(A.CANCEL_REQUESTED_DURING_PUBLISH)
            try:
                receipt = await publishing
            except ActivityError as err:
                self._trace(A.PUBLICATION_OUTCOME, {"published": False, "error": str(err.cause)})
            else:
                published = cast(PublishReceipt, receipt)  # PUBLISH_STEP's response model
                self._payload.publish_receipt = published
                self._trace(
                    A.PUBLICATION_OUTCOME,
                    {"published": True, "publication_id": published.publication_id},
                )
            raise

    async def _hold_if_paused(self, before: CampaignState) -> None:
        """A step boundary, in the step's state before its call: while a `pause` holds, wait
        here (never inside a service call). A pause that comes with the resume holds again."""
        p = self._payload
        while (pause := p.paused) is not None:
            pause.held_before = before
            self._trace(
                A.CAMPAIGN_PAUSED,
                {"before": before.value, "requested_by": pause.requested_by,
                 "reason": pause.reason},
            )  # fmt: skip
            self._publish_search_attributes()
            await workflow.wait_condition(lambda: p.paused is not pause)
            self._trace(A.CAMPAIGN_RESUMED, {"before": before.value})

    def _task_queue_for(self, step: Step[Any, Any]) -> str | None:
        """The step's service queue; None (the workflow's own) for campaigns started before."""
        if self._service_queues:
            return service_task_queue(workflow.info().task_queue, step.service)
        return None

    def _idempotency_key(self, state: CampaignState) -> str:
        """Same for every Temporal retry of a step. RADAR_SCAN to QUALITY_AUDIT: new for each
        run, each operator retry and each review decision (a new revision is a new request;
        their answers may change, nothing is lost by asking again). PUBLISH and LEARN: one key
        per campaign id, for every run and retry: a publication (or the record of its outcome)
        happens once, and a lost answer comes back from the record."""
        p = self._payload
        if state in (S.PUBLISH, S.LEARN) and self._guarded():
            return f"{p.campaign_id}:{state.value}"
        if state is S.PUBLISH:
            workflow.deprecate_patch(STABLE_PUBLISH_KEY)
            return f"{p.campaign_id}:{p.execution_id}:{state.value}"
        # After review decisions (a new revision), a new key; without any, as before.
        reviewed = f":d{len(p.reviews)}" if p.reviews else ""
        return f"{p.campaign_id}:{p.execution_id}:{state.value}:r{p.retry_count}{reviewed}"

    def _guarded(self) -> bool:
        if self._guarantees is None:
            self._guarantees = workflow.patched(GUARANTEES)
        return self._guarantees

    def _trace(self, action: LogAction, details: dict[str, Any] | None = None) -> None:
        p = self._payload
        entry = p.add_trace(ORCHESTRATOR, action, details, at=workflow.now())
        # The Web UI's "current details"; not a command, so it does not touch history or replay.
        workflow.set_current_details(current_details(p, workflow.info().workflow_id))
        # Logs and metrics; webhook events only for campaigns started with notify_transitions.
        self._observer.on_trace(p, entry)

    def _publish_search_attributes(self) -> None:
        """Upsert the search attributes that changed since the last upsert, if any. Called
        before every wait and before the workflow ends: at most one upsert per workflow task."""
        p = self._payload
        written = self._sa_written
        updates: list[SearchAttributeUpdate[Any]] = []
        state = p.state.value
        if written.get(sa.CAMPAIGN_STATE.name) != state:
            updates.append(sa.CAMPAIGN_STATE.value_set(state))
            written[sa.CAMPAIGN_STATE.name] = state
        if written.get(sa.CAMPAIGN_RETRY_COUNT.name) != p.retry_count:
            updates.append(sa.CAMPAIGN_RETRY_COUNT.value_set(p.retry_count))
            written[sa.CAMPAIGN_RETRY_COUNT.name] = p.retry_count
        reason = p.failure.reason.value if p.failure else None
        if written.get(sa.CAMPAIGN_FAILURE_REASON.name) != reason:
            updates.append(
                sa.CAMPAIGN_FAILURE_REASON.value_set(reason)
                if reason is not None
                else sa.CAMPAIGN_FAILURE_REASON.value_unset()
            )
            written[sa.CAMPAIGN_FAILURE_REASON.name] = reason
        # Set only once a campaign waits for a review or is held: others never write them.
        approvers = (p.approval.approvers or [ANYONE]) if p.approval is not None else None
        if written.get(sa.CAMPAIGN_APPROVERS.name) != approvers:
            updates.append(
                sa.CAMPAIGN_APPROVERS.value_set(approvers)
                if approvers is not None
                else sa.CAMPAIGN_APPROVERS.value_unset()
            )
            written[sa.CAMPAIGN_APPROVERS.name] = approvers
        held = p.paused is not None and p.paused.held_before is not None
        if written.get(sa.CAMPAIGN_PAUSED.name, False) != held:
            updates.append(sa.CAMPAIGN_PAUSED.value_set(held))
            written[sa.CAMPAIGN_PAUSED.name] = held
        if updates:
            workflow.upsert_search_attributes(updates)

    async def _settle(self, *, drain: bool = True) -> None:
        """Before the run ends: the search attributes as they end, and the webhook events sent."""
        self._publish_search_attributes()
        if drain:
            await self._observer.drain()

    def _outcome(self) -> CampaignOutcome:
        p = self._payload
        return CampaignOutcome(
            campaign_id=p.campaign_id,
            state=p.state,
            retry_count=p.retry_count,
            publish_receipt=p.publish_receipt,
            failure=p.failure,
            log_entries=len(p.execution_log),
        )


ModelT = TypeVar("ModelT", bound=BaseModel)


def _one_model(model: type[ModelT], what: str, value: object, extra: tuple[object, ...]) -> ModelT:
    """`value` (decoded JSON) as `model`; ApplicationError when missing or doubled, pydantic's
    ValidationError (a workflow failure type here) naming every bad field when malformed."""
    if value is None or extra:
        got = "no payload" if value is None and not extra else f"{1 + len(extra)} payloads"
        raise ApplicationError(
            f"{what} must be one JSON object ({model.__name__}); got {got}",
            type=FailureReason.INVALID_INPUT.value,
            non_retryable=True,
        )
    return model.model_validate(value)


def _refuse(refusal: tuple[Refusal, str] | None) -> None:
    """An update validator's refusal: the caller gets it, history gets nothing."""
    if refusal is not None:
        raise ApplicationError(refusal[1], type=refusal[0].value, non_retryable=True)


def _already_decided(review: ReviewRecord) -> tuple[Refusal, str]:
    return Refusal.ALREADY_DECIDED, (
        f"{review.reviewer} already decided {review.decision} on revision {review.revision}"
    )


def _update_input(
    model: type[ModelT], what: str, value: object, extra: tuple[object, ...]
) -> tuple[ModelT | None, tuple[Refusal, str] | None]:
    """An update's payload as `model`, or the INVALID_REQUEST refusal that says why not (in one
    line, naming the field): two payloads, or a malformed one."""
    try:
        return _one_model(model, what, value, extra), None
    except ApplicationError as err:
        return None, (Refusal.INVALID_REQUEST, err.message)
    except ValidationError as err:
        return None, (Refusal.INVALID_REQUEST, f"{what}: {describe_errors(err, '<input>')}")


def _signal_model(
    model: type[ModelT], name: str, value: object, extra: tuple[object, ...]
) -> ModelT | None:
    """A signal's payload as `model`, or None (logged once; replay logs nothing) when it is not
    one: a signal handler must never fail the workflow task."""
    try:
        return _one_model(model, f"the {name!r} signal's input", value, extra)
    except (ApplicationError, ValidationError) as err:
        message = (
            err.message if isinstance(err, ApplicationError) else describe_errors(err, "<input>")
        )
        workflow.logger.warning(
            "signal_refused", extra={"fields": {"signal": name, "why": message}}
        )
        return None


def _placeholder_input() -> CampaignInput:
    """Stands in for an input that failed validation: `run` fails the workflow before using it,
    and the queries and signals that arrive first still find a payload."""
    return CampaignInput.model_construct(
        campaign_id=UUID(int=0),
        execution_id=UUID(int=0),
        brief=CampaignBrief.model_construct(
            name="(invalid input)", objective="", audience="", channels=[]
        ),
        max_retries=0,
        retry_window=timedelta(days=1),
        step_retry=StepRetrySettings(),
        step_retry_overrides={},
        start_immediately=True,
        notify_transitions=False,
    )


def _classify(err: ActivityError | ApplicationError) -> tuple[FailureReason, str]:
    """The FailureReason of an activity that gave up, from the last attempt's cause (a local
    activity's error may come bare, without its ActivityError)."""
    retry_state, cause = (
        (None, err) if isinstance(err, ApplicationError) else (err.retry_state, err.cause)
    )
    if isinstance(cause, ApplicationError):
        known = {r.value for r in FailureReason}
        reason = FailureReason(cause.type) if cause.type in known else FailureReason.INTERNAL_ERROR
        return (
            reason,
            f"{cause.message} (retry state: {retry_state.name if retry_state else 'n/a'})",
        )
    if isinstance(cause, TemporalTimeoutError):
        return (
            FailureReason.TIMEOUT,
            f"activity timed out ({cause.type.name if cause.type else 'unknown'})",
        )
    return FailureReason.INTERNAL_ERROR, f"{type(cause).__name__}: {cause}"


def _first_receipt(err: ActivityError) -> PublishReceipt | None:
    """The receipt an ALREADY_PUBLISHED refusal carries as its details, when it is valid."""
    cause = err.cause
    details = cause.details if isinstance(cause, ApplicationError) else ()
    try:
        return PublishReceipt.model_validate(details[0]) if details else None
    except ValidationError:
        return None


def _have(artifact: ResultT | None) -> ResultT:
    """An artifact an earlier step produced; its absence is a bug, so it fails loudly and typed."""
    if artifact is None:
        raise ApplicationError(
            "an earlier step's artifact is missing", type=FailureReason.INTERNAL_ERROR.value
        )
    return artifact
