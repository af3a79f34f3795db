"""A person in the loop: approval before PUBLISH (opt-in per campaign), and pause and resume.

The inputs and answers of the `approve`, `reject`, `request_changes`, `pause` and `resume`
updates, the approval policy a campaign's input may carry, and what the payload records."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from contracts.base import Contract
from contracts.enums import CampaignState

ANYONE = "*"  # the approvers search attribute's value when anyone may decide


class ApprovalPolicy(Contract):
    """Set on a campaign's input: after the quality gate passes, the campaign waits for a
    reviewer's decision on the audited revision before it publishes."""

    approvers: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Who may decide (names or e-mail addresses); empty: anyone.",
    )
    deadline: timedelta = Field(
        default=timedelta(days=2),
        ge=timedelta(seconds=1),
        le=timedelta(days=30),
        description="How long the campaign waits for a decision; then it fails with "
        "APPROVAL_TIMEOUT (an operator retry asks again).",
    )
    remind_after: timedelta | None = Field(
        default=None,
        gt=timedelta(0),
        description="When to remind (a log line and, where configured, a webhook event); "
        "default: half the deadline.",
    )

    @field_validator("approvers")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name or len(name) > 100 or name == ANYONE:
                raise ValueError("each approver is a name of 1 to 100 characters (not '*')")
        if len(set(value)) != len(value):
            raise ValueError("an approver is named twice")
        return value

    @model_validator(mode="after")
    def _remind_before_deadline(self) -> ApprovalPolicy:
        if self.remind_after is not None and self.remind_after >= self.deadline:
            raise ValueError("remind_after must be shorter than the deadline")
        return self

    def reminder_delay(self) -> timedelta:
        return self.remind_after if self.remind_after is not None else self.deadline / 2

    def may_decide(self, reviewer: str) -> bool:
        return not self.approvers or reviewer in self.approvers


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"


class ReviewRequest(Contract):
    """The one input of `approve`, `reject` and `request_changes`."""

    reviewer: str = Field(min_length=1, max_length=100, description="Who decides.")
    revision: int = Field(
        ge=0, strict=True, description="The content revision the reviewer read (the audited one)."
    )
    comment: str = Field(
        default="",
        max_length=2000,
        description="Why; required to reject or request changes (the next revision's feedback).",
    )


class ReviewAccepted(Contract):
    """The answer of an accepted review decision."""

    campaign_id: UUID
    decision: Decision
    reviewer: str
    revision: int
    next_state: CampaignState = Field(
        description="PUBLISH (approved), CONTENT_PROD (changes requested) or FAILED (rejected)."
    )


class ApprovalWait(Contract):
    """In the payload while the campaign waits for a decision."""

    revision: int = Field(ge=0)
    approvers: list[str]
    requested_at: datetime
    deadline: datetime
    reminded: bool = False


class ReviewRecord(Contract):
    """One accepted decision, kept in the payload (the execution log has it too)."""

    decision: Decision
    reviewer: str
    revision: int
    comment: str
    at: datetime


class PauseRequest(Contract):
    """The input of `pause` and `resume`."""

    requested_by: str = Field(default="operator", min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)


class PauseAccepted(Contract):
    """The answer of `pause` and `resume`."""

    campaign_id: UUID
    paused: bool = Field(description="After this command: paused (or about to be) or not.")
    detail: str = Field(description="What happens now, in one sentence.")


class PauseInfo(Contract):
    """In the payload from a `pause` until its `resume`."""

    requested_by: str
    reason: str
    requested_at: datetime
    held_before: CampaignState | None = Field(
        default=None,
        description="The step it holds before; None until it reaches a step boundary.",
    )
