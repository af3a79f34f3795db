"""Enumerations shared by the workflow, the activities and the services."""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    """The eight states of the campaign graph; AWAITING_APPROVAL, where a campaign that requires
    approval waits for a reviewer between the quality gate and PUBLISH; and CANCELLED: where a
    cancel ends a campaign (from any state but LEARN; never retried, never FAILED)."""

    IDLE = "IDLE"
    RADAR_SCAN = "RADAR_SCAN"
    STRATEGY_GEN = "STRATEGY_GEN"
    CONTENT_PROD = "CONTENT_PROD"
    QUALITY_AUDIT = "QUALITY_AUDIT"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    PUBLISH = "PUBLISH"
    LEARN = "LEARN"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class QualityVerdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class FailureReason(StrEnum):
    """Every way a campaign can fail. Also the `type` of the ApplicationErrors that carry it."""

    QUALITY_GATE_FAILED = "QUALITY_GATE_FAILED"
    """The audit produced no report, a FAIL verdict, or a CRITICAL check."""
    SERVICE_REJECTED = "SERVICE_REJECTED"
    """A service answered 4xx: the request itself is wrong; retrying it cannot help."""
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    """Connection errors, 5xx or 429 until the step's retry policy gave up."""
    INVALID_SERVICE_RESPONSE = "INVALID_SERVICE_RESPONSE"
    """A 2xx answer whose body is not valid JSON or does not match the contract."""
    TIMEOUT = "TIMEOUT"
    """The service (or the activity) did not answer in time, until the retry policy gave up."""
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    """A service answered with more data than the orchestrator accepts into history."""
    CANCELLED = "CANCELLED"
    """An operator cancelled the campaign."""
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"
    """This campaign id was already published, by an earlier run: a campaign publishes once.
    The run ends without calling the publisher; its details carry the first receipt."""
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    """A service refused an Idempotency-Key already used for another request body (a bug)."""
    INVALID_INPUT = "INVALID_INPUT"
    """The start input is missing or doubled, or the workflow id is not campaign-<campaign_id>.
    (A malformed one fails with type ValidationError, naming every bad field.)"""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    """A bug in the orchestrator's own code (an unexpected exception in an activity)."""
    APPROVAL_REJECTED = "APPROVAL_REJECTED"
    """A reviewer rejected the audited content (their comment is the message). An operator
    retry resumes at content production, with the comment as feedback."""
    APPROVAL_TIMEOUT = "APPROVAL_TIMEOUT"
    """Nobody decided on the audited content before the approval deadline. An operator retry
    asks for a decision again, with a new deadline."""

    @property
    def ends_the_run(self) -> bool:
        """A failure no operator retry can resume: the workflow ends with it."""
        return self in (
            FailureReason.CANCELLED,
            FailureReason.ALREADY_PUBLISHED,
            FailureReason.INVALID_INPUT,
        )

    @property
    def retryable_by_temporal(self) -> bool:
        """Whether Temporal's activity retry policy should retry an error of this type."""
        return self in (FailureReason.SERVICE_UNAVAILABLE, FailureReason.TIMEOUT)


class Refusal(StrEnum):
    """Why the workflow refused an operator command (the `type` of the update's failure)."""

    NOT_FAILED = "NOT_FAILED"
    """`request_retry` while the campaign is not parked in FAILED."""
    RETRY_PENDING = "RETRY_PENDING"
    """`request_retry` while a retry of this failure is already accepted."""
    NO_RETRIES_LEFT = "NO_RETRIES_LEFT"
    """`request_retry` after max_retries accepted retries."""
    RETRY_WINDOW_OVER = "RETRY_WINDOW_OVER"
    """`request_retry` after the retry window closed (the campaign is ending)."""
    CANCELLED = "CANCELLED"
    """The campaign is being cancelled."""
    ALREADY_STARTED = "ALREADY_STARTED"
    """`request_start` for a campaign that is past IDLE or already asked to start."""
    CAMPAIGN_ENDED = "CAMPAIGN_ENDED"
    """The campaign's workflow has closed (answered by the client, not the workflow)."""
    NOT_AWAITING_APPROVAL = "NOT_AWAITING_APPROVAL"
    """A review decision while the campaign does not wait for one."""
    NOT_AN_APPROVER = "NOT_AN_APPROVER"
    """A review decision by someone the campaign's approval policy does not name."""
    WRONG_REVISION = "WRONG_REVISION"
    """A review decision about a content revision other than the one audited and waiting."""
    ALREADY_DECIDED = "ALREADY_DECIDED"
    """A review decision after another one on the same revision was accepted."""
    COMMENT_REQUIRED = "COMMENT_REQUIRED"
    """`reject` or `request_changes` without a comment (the next revision needs one)."""
    INVALID_REQUEST = "INVALID_REQUEST"
    """A command without its input (a review decision needs a reviewer and a revision)."""
    ALREADY_PAUSED = "ALREADY_PAUSED"
    """`pause` while a pause is already requested or holding."""
    NOT_PAUSED = "NOT_PAUSED"
    """`resume` while the campaign is not paused."""
    TOO_LATE = "TOO_LATE"
    """`pause` once PUBLISH has begun: only LEARN is left, which records the publication."""


class ServiceName(StrEnum):
    """The six downstream services, one per step."""

    RADAR = "radar"
    STRATEGY = "strategy"
    CONTENT = "content"
    QUALITY = "quality"
    PUBLISHER = "publisher"
    LEARNING = "learning"


class Channel(StrEnum):
    EMAIL = "email"
    SOCIAL = "social"
    BLOG = "blog"
    SEARCH_ADS = "search_ads"
