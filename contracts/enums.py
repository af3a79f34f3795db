"""Enumerations shared by the workflow, the activities and the services."""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    """The eight states of the campaign graph."""

    IDLE = "IDLE"
    RADAR_SCAN = "RADAR_SCAN"
    STRATEGY_GEN = "STRATEGY_GEN"
    CONTENT_PROD = "CONTENT_PROD"
    QUALITY_AUDIT = "QUALITY_AUDIT"
    PUBLISH = "PUBLISH"
    LEARN = "LEARN"
    FAILED = "FAILED"


# The happy path, in order. LEARN is the successful terminal state.
PIPELINE: tuple[CampaignState, ...] = (
    CampaignState.RADAR_SCAN,
    CampaignState.STRATEGY_GEN,
    CampaignState.CONTENT_PROD,
    CampaignState.QUALITY_AUDIT,
    CampaignState.PUBLISH,
    CampaignState.LEARN,
)


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
    INVALID_INPUT = "INVALID_INPUT"
    """The start input is missing or doubled, or the workflow id is not campaign-<campaign_id>.
    (A malformed one fails with type ValidationError, naming every bad field.)"""
    INTERNAL_ERROR = "INTERNAL_ERROR"
    """A bug in the orchestrator's own code (an unexpected exception in an activity)."""

    @property
    def retryable_by_temporal(self) -> bool:
        """Whether Temporal's activity retry policy should retry an error of this type."""
        return self in (FailureReason.SERVICE_UNAVAILABLE, FailureReason.TIMEOUT)


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
