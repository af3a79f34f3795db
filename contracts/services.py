"""The HTTP contract between the orchestrator and the six downstream services, and the one
table of the steps (STEPS) that call them.

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
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from contracts.artifacts import (
    LearningSummary,
    ProducedContent,
    PublishReceipt,
    QualityReport,
    StrategyBrief,
    TrendReport,
)
from contracts.base import Artifact, Contract, omit_unset
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
    reviewer_comment: str | None = Field(
        default=None,
        max_length=2000,
        description="A reviewer's comment on the previous revision (changes requested, or "
        "rejected), if any. Left out when unset.",
    )

    @model_serializer(mode="wrap")
    def _leave_out_unset_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_unset(handler(self), ("reviewer_comment",))


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


RequestT = TypeVar("RequestT", bound=ServiceRequest)
ResponseT = TypeVar("ResponseT", bound=Artifact)


@dataclass(frozen=True)
class Step(Generic[RequestT, ResponseT]):
    """One step of the graph: its state, the service it calls and how. The table below (STEPS)
    is the one list of steps: the activities (activities/campaign_activities.py), the metric
    labels, the reference services' routes and the graph's order (PIPELINE) come from it; the
    worker's settings hold a URL and a token per ServiceName (orchestrator_connection/settings.py).
    A new step is a row, its models, its state and service names, and its block in the graph."""

    state: CampaignState
    service: ServiceName
    activity: str  # the activity type the workflow schedules
    path: str  # POST <the service's base URL><path>
    request_model: type[RequestT]
    response_model: type[ResponseT]
    summary: str


RADAR_SCAN_STEP = Step(
    CampaignState.RADAR_SCAN, ServiceName.RADAR, "radar_scan", "/v1/radar/scans",
    RadarScanRequest, TrendReport,
    "Scan market trends relevant to the brief.",
)  # fmt: skip
STRATEGY_GEN_STEP = Step(
    CampaignState.STRATEGY_GEN, ServiceName.STRATEGY, "generate_strategy", "/v1/strategy/briefs",
    StrategyRequest, StrategyBrief,
    "Turn the brief and trends into a strategy with constraints and guardrails.",
)  # fmt: skip
CONTENT_PROD_STEP = Step(
    CampaignState.CONTENT_PROD, ServiceName.CONTENT, "produce_content", "/v1/content/productions",
    ContentRequest, ProducedContent,
    "Produce one content piece per channel (or revise it after a failed audit).",
)  # fmt: skip
QUALITY_AUDIT_STEP = Step(
    CampaignState.QUALITY_AUDIT, ServiceName.QUALITY, "audit_quality", "/v1/quality/audits",
    AuditRequest, QualityReport,
    "Audit the content against the strategy's guardrails and compliance rules.",
)  # fmt: skip
PUBLISH_STEP = Step(
    CampaignState.PUBLISH, ServiceName.PUBLISHER, "publish_campaign", "/v1/publisher/publications",
    PublishRequest, PublishReceipt,
    "Publish the audited content. The side effect that must never happen twice.",
)  # fmt: skip
LEARN_STEP = Step(
    CampaignState.LEARN, ServiceName.LEARNING, "learn_from_campaign", "/v1/learning/summaries",
    LearnRequest, LearningSummary,
    "Record the campaign's outcome and learn from it.",
)  # fmt: skip

# The steps in the graph's order: the happy path, LEARN its successful end.
STEPS: tuple[Step[Any, Any], ...] = (
    RADAR_SCAN_STEP, STRATEGY_GEN_STEP, CONTENT_PROD_STEP, QUALITY_AUDIT_STEP, PUBLISH_STEP,
    LEARN_STEP,
)  # fmt: skip
PIPELINE: tuple[CampaignState, ...] = tuple(step.state for step in STEPS)
STEP_FOR_STATE: dict[CampaignState, Step[Any, Any]] = {step.state: step for step in STEPS}
ENDPOINTS: dict[ServiceName, Step[Any, Any]] = {step.service: step for step in STEPS}
SERVICE_FOR_STATE: dict[CampaignState, ServiceName] = {step.state: step.service for step in STEPS}
assert set(ENDPOINTS) == set(ServiceName), "one step per service"


class PublicationLookup(Contract):
    """The `find_publication` local activity's input: was this campaign published before?"""

    campaign_id: UUID


class PublicationRecord(Contract):
    """The publisher's record of a campaign: its receipt, or None if it was never published."""

    receipt: PublishReceipt | None = None
