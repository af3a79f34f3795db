"""The public inputs and outputs of CampaignWorkflow: its start input, signals and result."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from contracts.artifacts import PublishReceipt
from contracts.base import Contract, omit_unset
from contracts.brief import CampaignBrief
from contracts.enums import CampaignState, FailureReason
from contracts.payload import CampaignPayload, FailureDetails
from contracts.review import ApprovalPolicy
from contracts.services import PIPELINE


class StepRetrySettings(Contract):
    """Temporal's activity retry policy and timeout for one step."""

    initial_interval: timedelta = Field(default=timedelta(seconds=1), gt=timedelta(0))
    backoff_coefficient: float = Field(default=2.0, ge=1.0, le=10.0)
    maximum_interval: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0))
    maximum_attempts: int = Field(default=5, ge=1, le=100)
    start_to_close_timeout: timedelta = Field(
        default=timedelta(seconds=30), gt=timedelta(0), le=timedelta(hours=1)
    )

    @model_validator(mode="after")
    def _interval_order(self) -> StepRetrySettings:
        if self.maximum_interval < self.initial_interval:
            raise ValueError("maximum_interval must be >= initial_interval")
        return self


class CarriedState(Contract):
    """What a run hands to the next when it continues as new (only while parked in FAILED or
    IDLE, so no step is in flight). Accepted only from continue-as-new, never from a client."""

    payload: CampaignPayload
    resume_at: CampaignState
    retry_deadline: datetime | None = None
    looked_up: bool = Field(description="The publisher was already asked (see ALREADY_PUBLISHED).")
    refusals_logged: int = Field(default=0, ge=0)


# Fields added after the first release: left out of the JSON when unset (see CampaignInput).
NEWER_OPTIONAL_KEYS = ("brand", "priority", "approval")


class CampaignInput(Contract):
    """The one input of CampaignWorkflow. Public: `temporal workflow start --input` takes it."""

    campaign_id: UUID
    execution_id: UUID | None = Field(
        default=None, description="Idempotency scope; chosen by the workflow when omitted."
    )
    brief: CampaignBrief
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_window: timedelta = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        le=timedelta(days=365),
        description="How long a FAILED campaign waits for a retry signal before it ends.",
    )
    step_retry: StepRetrySettings = Field(default_factory=StepRetrySettings)
    step_retry_overrides: dict[CampaignState, StepRetrySettings] = Field(default_factory=dict)
    start_immediately: bool = Field(
        default=True, description="False: wait in IDLE for a `start` signal."
    )
    notify_transitions: bool = Field(
        default=False,
        description="Deliver a signed event per state change to the worker's "
        "CAMPAIGN_WEBHOOK_URL (see contracts/events.py). The starter sets it when its own "
        "settings have CAMPAIGN_WEBHOOK_URL.",
    )
    brand: str | None = Field(
        default=None,
        min_length=1,
        description="The brand (or tenant) the campaign is for. Each service's queue shares its "
        "calls fairly between brands, so one brand's large batch cannot starve another's few "
        "campaigns (Temporal's fairness key; at most 64 bytes).",
    )
    priority: int | None = Field(
        default=None,
        strict=True,  # not `true`, not "1"
        ge=1,
        le=5,
        description="1 (first) to 5 (last); unset: the workflow's own, by default 3. An urgent "
        "launch's steps go before the others' on every queue (Temporal's priority key).",
    )

    approval: ApprovalPolicy | None = Field(
        default=None,
        description="Set: after the quality gate passes, the campaign waits in "
        "AWAITING_APPROVAL for a reviewer's `approve`, `reject` or `request_changes` about the "
        "audited revision before it publishes. Unset (the default): no approval step.",
    )

    continue_as_new_after_events: int = Field(
        default=5_000,
        ge=200,
        le=40_000,
        description="A campaign parked in FAILED or IDLE continues as new (same workflow id, "
        "state carried) once its history has this many events, or when the server suggests it.",
    )
    carried: CarriedState | None = Field(
        default=None, description="Set by continue-as-new only; refused from a client."
    )

    @model_serializer(mode="wrap")
    def _leave_out_unset_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No `brand`/`priority`/`approval` keys when unset: a worker of the version before
        them (which refuses unknown fields) still runs the campaigns today's clients start."""
        return omit_unset(handler(self), NEWER_OPTIONAL_KEYS)

    @field_validator("brand")
    @classmethod
    def _fairness_key_size(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) > 64:
            raise ValueError("at most 64 bytes (Temporal's limit of a fairness key)")
        return value

    @field_validator("step_retry_overrides")
    @classmethod
    def _only_steps(
        cls, value: dict[CampaignState, StepRetrySettings]
    ) -> dict[CampaignState, StepRetrySettings]:
        for state in value:
            if state not in PIPELINE:
                raise ValueError(f"{state} is not a step; steps are {', '.join(PIPELINE)}")
        return value

    def retry_settings_for(self, state: CampaignState) -> StepRetrySettings:
        return self.step_retry_overrides.get(state, self.step_retry)


class OperatorSignal(Contract):
    requested_by: str = Field(default="operator", min_length=1, max_length=100)
    reason: str = Field(default="", max_length=1000)


class RetryRequest(OperatorSignal):
    """The `retry` signal and the `request_retry` update: resume a FAILED campaign from the step
    that failed."""


class StartRequest(OperatorSignal):
    """The `start` signal and the `request_start` update: start a campaign created with
    start_immediately=false."""


class RetryAccepted(Contract):
    """The `request_retry` update's answer: what the accepted retry will do."""

    campaign_id: UUID
    retry_count: int = Field(ge=1, description="Operator retries accepted so far, this one too.")
    retries_left: int = Field(ge=0)
    resume_at: CampaignState = Field(description="The step the campaign resumes at.")
    retried_failure: FailureReason


class StartAccepted(Contract):
    """The `request_start` update's answer."""

    campaign_id: UUID
    starts_at: CampaignState = CampaignState.RADAR_SCAN


class CampaignOutcome(Contract):
    """What CampaignWorkflow returns when a campaign reaches LEARN."""

    campaign_id: UUID
    state: CampaignState
    retry_count: int
    publish_receipt: PublishReceipt | None
    failure: FailureDetails | None = None
    log_entries: int


RequestT = TypeVar("RequestT", bound=BaseModel)


class StepCall(Contract, Generic[RequestT]):
    """The one input of every step activity: the service request and its idempotency key."""

    idempotency_key: str = Field(min_length=1, max_length=255)
    request: RequestT
