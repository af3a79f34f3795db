"""The master contract: everything known about one campaign, with its append-only log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import (
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from contracts.artifacts import (
    LearningSummary,
    ProducedContent,
    PublishReceipt,
    QualityReport,
    StrategyBrief,
    TrendReport,
)
from contracts.base import Contract, omit_unset
from contracts.brief import CampaignBrief
from contracts.enums import CampaignState, FailureReason
from contracts.log_actions import LogAction
from contracts.review import ApprovalWait, PauseInfo, ReviewRecord


class TraceEntry(Contract):
    """One line of the execution log. `seq` is 1, 2, 3, ... with no gaps: the log only grows."""

    seq: int = Field(ge=1)
    at: datetime
    actor_service: str = Field(min_length=1)
    action: str = Field(min_length=1, description="A LogAction (contracts/log_actions.py).")
    state: CampaignState
    details: dict[str, JsonValue] = Field(default_factory=dict)

    def details_text(self) -> str:
        """The details that say something, as `key=value, ...` (the CLI's and the Web UI's)."""
        return ", ".join(f"{k}={v}" for k, v in self.details.items() if v not in (None, ""))


class FailureDetails(Contract):
    reason: FailureReason
    step: CampaignState = Field(description="The state the campaign was in when it failed.")
    message: str
    failed_at: datetime


class CampaignPayload(Contract):
    campaign_id: UUID
    execution_id: UUID
    brief: CampaignBrief
    retry_count: int = Field(default=0, ge=0)
    max_retries: int = Field(default=3, ge=0)
    state: CampaignState = CampaignState.IDLE
    failure: FailureDetails | None = None

    trend_report: TrendReport | None = None
    strategy: StrategyBrief | None = None
    content: ProducedContent | None = None
    quality_report: QualityReport | None = None
    publish_receipt: PublishReceipt | None = None
    learning_summary: LearningSummary | None = None

    approval: ApprovalWait | None = Field(
        default=None, description="While it waits in AWAITING_APPROVAL: for what, until when."
    )
    reviews: list[ReviewRecord] = Field(
        default_factory=list, description="Every accepted review decision, oldest first."
    )
    paused: PauseInfo | None = Field(
        default=None, description="From an accepted `pause` until its `resume`."
    )

    execution_log: list[TraceEntry] = Field(default_factory=list)
    unlogged_refusals: int = Field(
        default=0,
        ge=0,
        description="Refused `retry` signals beyond the first few per failure, counted here "
        "instead of logged one by one (the log stays bounded).",
    )

    @model_serializer(mode="wrap")
    def _leave_out_unset_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_unset(handler(self), ("approval", "reviews", "paused"))

    def review_of_current_revision(self) -> ReviewRecord | None:
        """The last accepted decision about the content as it is now, if any."""
        last = self.reviews[-1] if self.reviews else None
        current = self.content.revision if self.content else None
        return last if last is not None and last.revision == current else None

    @model_validator(mode="after")
    def _log_is_contiguous(self) -> CampaignPayload:
        for expected, entry in enumerate(self.execution_log, start=1):
            if entry.seq != expected:
                raise ValueError(f"execution_log entry {expected} has seq {entry.seq}")
        return self

    def add_trace(
        self,
        actor_service: str,
        action: LogAction,
        details: dict[str, Any] | None = None,
        *,
        at: datetime,
    ) -> TraceEntry:
        """Append one entry. `at` is explicit: in a workflow it must be `workflow.now()`."""
        entry = TraceEntry(
            seq=len(self.execution_log) + 1,
            at=at,
            actor_service=actor_service,
            action=action.value,
            state=self.state,
            details=details or {},
        )
        self.execution_log.append(entry)
        return entry

    def is_terminal(self) -> bool:
        """LEARN, CANCELLED, or FAILED with no retries left."""
        return self.state in (CampaignState.LEARN, CampaignState.CANCELLED) or (
            self.state is CampaignState.FAILED and not self.can_retry()
        )

    def can_retry(self) -> bool:
        return (
            self.state is CampaignState.FAILED
            and self.retry_count < self.max_retries
            and not (self.failure is not None and self.failure.reason.ends_the_run)
        )

    def mark_failed(
        self, reason: FailureReason, message: str, *, step: CampaignState, at: datetime
    ) -> FailureDetails:
        self.failure = FailureDetails(reason=reason, step=step, message=message, failed_at=at)
        self.state = CampaignState.FAILED
        return self.failure
