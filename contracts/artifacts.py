"""The artifacts each step produces: one per service."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from contracts.base import Artifact, Contract
from contracts.enums import Channel, QualityVerdict, Severity


class Trend(Contract):
    topic: str = Field(min_length=1, max_length=200)
    score: float = Field(ge=0.0, le=1.0, description="Relevance of the trend to the brief.")
    source: str = Field(min_length=1, max_length=100)


class TrendReport(Artifact):
    """RADAR_SCAN output: what the market is talking about, for this brief."""

    trends: list[Trend] = Field(min_length=1, max_length=50)
    audience_signals: list[str] = Field(default_factory=list, max_length=50)


class StrategyBrief(Artifact):
    """STRATEGY_GEN output: the plan the content must follow."""

    positioning: str = Field(min_length=1, max_length=2000)
    key_messages: list[str] = Field(min_length=1, max_length=10)
    channels: list[Channel] = Field(min_length=1)
    constraints: list[str] = Field(
        default_factory=list, description="Hard rules: budget, length, legal."
    )
    guardrails: list[str] = Field(
        default_factory=list, description="Brand and compliance phrases the content must avoid."
    )


class ContentPiece(Contract):
    channel: Channel
    headline: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    call_to_action: str = Field(min_length=1, max_length=200)


class ProducedContent(Artifact):
    """CONTENT_PROD output: one piece per channel, with the revision it is."""

    revision: int = Field(ge=0, description="0 for the first draft, +1 per revision.")
    pieces: list[ContentPiece] = Field(min_length=1)


class QualityCheck(Contract):
    name: str = Field(min_length=1, max_length=100)
    passed: bool
    severity: Severity
    message: str = Field(default="", max_length=2000)
    channel: Channel | None = None


class QualityReport(Artifact):
    """QUALITY_AUDIT output: the gate reads this."""

    verdict: QualityVerdict
    checks: list[QualityCheck] = Field(default_factory=list)
    audited_revision: int = Field(ge=0)

    @property
    def critical_checks(self) -> list[QualityCheck]:
        return [c for c in self.checks if c.severity is Severity.CRITICAL and not c.passed]


class PublishedItem(Contract):
    channel: Channel
    url: str = Field(min_length=1, max_length=2000)


class PublishReceipt(Artifact):
    """PUBLISH output: proof of the one side effect that must never happen twice."""

    publication_id: str = Field(min_length=1, max_length=200)
    items: list[PublishedItem] = Field(min_length=1)
    published_at: datetime


class LearningSummary(Artifact):
    """LEARN output: what the learning service took away from the campaign."""

    insights: list[str] = Field(default_factory=list)
    predicted_engagement: float = Field(ge=0.0, le=1.0)
    recommendations: list[str] = Field(default_factory=list)

    @field_validator("insights", "recommendations")
    @classmethod
    def _no_blank_lines(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("entries must not be blank")
        return value
