"""The HTTP contract between the orchestrator and the six downstream services.

Each service exposes one endpoint: `POST <base_url><path>` with a JSON body of the request model,
answering 200 with a JSON body of the response model. Every call carries an `Idempotency-Key`
header: the same key for every Temporal retry of one step; per run and operator retry for the
first four steps, per campaign for PUBLISH and LEARN (docs/service-contract.md, "Key scopes"). A
service must perform its side effect at most once per key and answer a repeated key with the
original result; the publisher publishes a campaign once, whatever the key. Status codes the
orchestrator understands:

- 2xx: success; the body must validate against the response model.
- 408, 409 (same key still in progress), 425, 429 (honouring `Retry-After`), 5xx: retried.
- 422 with `code` already_published (ALREADY_PUBLISHED) or idempotency_key_reused
  (IDEMPOTENCY_CONFLICT): not retried.
- any other 4xx: the request is wrong; the step fails without retrying (SERVICE_REJECTED).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import BaseModel, Field

from contracts.artifacts import (
    LearningSummary,
    ProducedContent,
    PublishReceipt,
    QualityReport,
    StrategyBrief,
    TrendReport,
)
from contracts.base import Contract
from contracts.brief import CampaignBrief
from contracts.enums import CampaignState, ServiceName

IDEMPOTENCY_HEADER = "Idempotency-Key"
# GET on the publisher: the campaign's receipt (200), or 404 when it was never published.
PUBLICATION_LOOKUP_PATH = "/v1/publisher/publications/{campaign_id}"
# The `code` of a 422 problem: a campaign publishes once; a key names one request body.
ALREADY_PUBLISHED_CODE = "already_published"
KEY_REUSED_CODE = "idempotency_key_reused"


class ServiceRequest(Contract):
    campaign_id: UUID


class RadarScanRequest(ServiceRequest):
    brief: CampaignBrief


class StrategyRequest(ServiceRequest):
    brief: CampaignBrief
    trend_report: TrendReport


class ContentRequest(ServiceRequest):
    brief: CampaignBrief
    strategy: StrategyBrief
    revision: int = Field(ge=0, description="0 for a first draft; +1 for each revision.")
    feedback: QualityReport | None = Field(
        default=None, description="The audit that rejected the previous revision, if any."
    )


class AuditRequest(ServiceRequest):
    brief: CampaignBrief
    strategy: StrategyBrief
    content: ProducedContent


class PublishRequest(ServiceRequest):
    campaign_name: str
    content: ProducedContent
    quality_report_id: UUID


class LearnRequest(ServiceRequest):
    brief: CampaignBrief
    receipt: PublishReceipt
    quality_report: QualityReport


@dataclass(frozen=True)
class ServiceEndpoint:
    """Where one step's service lives and what it exchanges."""

    service: ServiceName
    state: CampaignState
    path: str
    request_model: type[BaseModel]
    response_model: type[BaseModel]
    summary: str


ENDPOINTS: dict[ServiceName, ServiceEndpoint] = {
    e.service: e
    for e in (
        ServiceEndpoint(
            ServiceName.RADAR,
            CampaignState.RADAR_SCAN,
            "/v1/radar/scans",
            RadarScanRequest,
            TrendReport,
            "Scan market trends relevant to the brief.",
        ),
        ServiceEndpoint(
            ServiceName.STRATEGY,
            CampaignState.STRATEGY_GEN,
            "/v1/strategy/briefs",
            StrategyRequest,
            StrategyBrief,
            "Turn the brief and trends into a strategy with constraints and guardrails.",
        ),
        ServiceEndpoint(
            ServiceName.CONTENT,
            CampaignState.CONTENT_PROD,
            "/v1/content/productions",
            ContentRequest,
            ProducedContent,
            "Produce one content piece per channel (or revise it after a failed audit).",
        ),
        ServiceEndpoint(
            ServiceName.QUALITY,
            CampaignState.QUALITY_AUDIT,
            "/v1/quality/audits",
            AuditRequest,
            QualityReport,
            "Audit the content against the strategy's guardrails and compliance rules.",
        ),
        ServiceEndpoint(
            ServiceName.PUBLISHER,
            CampaignState.PUBLISH,
            "/v1/publisher/publications",
            PublishRequest,
            PublishReceipt,
            "Publish the audited content. The side effect that must never happen twice.",
        ),
        ServiceEndpoint(
            ServiceName.LEARNING,
            CampaignState.LEARN,
            "/v1/learning/summaries",
            LearnRequest,
            LearningSummary,
            "Record the campaign's outcome and learn from it.",
        ),
    )
}

SERVICE_FOR_STATE: dict[CampaignState, ServiceName] = {
    e.state: e.service for e in ENDPOINTS.values()
}


class PublicationLookup(Contract):
    """The `find_publication` local activity's input: was this campaign published before?"""

    campaign_id: UUID


class PublicationRecord(Contract):
    """The publisher's record of a campaign: its receipt, or None if it was never published."""

    receipt: PublishReceipt | None = None
