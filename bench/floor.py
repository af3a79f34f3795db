"""The floor: the least a durable campaign can cost on Temporal.

`FloorWorkflow` runs the same six activities (the same HTTP calls, with the same request bodies
and idempotency keys) one after another, and nothing else: no search attributes, no execution
log, no summaries, no retry policy of its own. `CampaignWorkflow` is measured against it.

The request builders are shared with the plain-asyncio baseline (bench/plain.py).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import (
        CONTENT_PROD_STEP,
        LEARN_STEP,
        PUBLISH_STEP,
        QUALITY_AUDIT_STEP,
        RADAR_SCAN_STEP,
        STRATEGY_GEN_STEP,
        AuditRequest,
        CampaignInput,
        CampaignState,
        ContentRequest,
        LearningSummary,
        LearnRequest,
        ProducedContent,
        PublishReceipt,
        PublishRequest,
        QualityReport,
        RadarScanRequest,
        StepCall,
        StrategyBrief,
        StrategyRequest,
        TrendReport,
    )

FLOOR_WORKFLOW_TYPE = "BenchFloorWorkflow"
STEP_TIMEOUT = timedelta(seconds=30)
S = CampaignState


def step_key(campaign: CampaignInput, execution_id: UUID, state: CampaignState) -> str:
    """The same idempotency key CampaignWorkflow sends for a first attempt."""
    return f"{campaign.campaign_id}:{execution_id}:{state.value}:r0"


def radar_request(c: CampaignInput) -> RadarScanRequest:
    return RadarScanRequest(campaign_id=c.campaign_id, brief=c.brief)


def strategy_request(c: CampaignInput, trend: TrendReport) -> StrategyRequest:
    return StrategyRequest(campaign_id=c.campaign_id, brief=c.brief, trend_report=trend)


def content_request(c: CampaignInput, strategy: StrategyBrief) -> ContentRequest:
    return ContentRequest(
        campaign_id=c.campaign_id, brief=c.brief, strategy=strategy, revision=0, feedback=None
    )


def audit_request(
    c: CampaignInput, strategy: StrategyBrief, content: ProducedContent
) -> AuditRequest:
    return AuditRequest(
        campaign_id=c.campaign_id, brief=c.brief, strategy=strategy, content=content
    )


def publish_request(
    c: CampaignInput, content: ProducedContent, quality: QualityReport
) -> PublishRequest:
    return PublishRequest(
        campaign_id=c.campaign_id,
        campaign_name=c.brief.name,
        content=content,
        quality_report_id=quality.artifact_id,
    )


def learn_request(
    c: CampaignInput, receipt: PublishReceipt, quality: QualityReport
) -> LearnRequest:
    return LearnRequest(
        campaign_id=c.campaign_id, brief=c.brief, receipt=receipt, quality_report=quality
    )


@workflow.defn(name=FLOOR_WORKFLOW_TYPE)
class FloorWorkflow:
    """Six sequential activities; takes a CampaignInput, returns the learning summary's id."""

    @workflow.run
    async def run(self, c: CampaignInput) -> str:
        eid = c.execution_id or workflow.uuid4()
        trend: TrendReport = await workflow.execute_activity(
            RADAR_SCAN_STEP.activity,
            StepCall(idempotency_key=step_key(c, eid, S.RADAR_SCAN), request=radar_request(c)),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=RADAR_SCAN_STEP.response_model,
        )
        strategy: StrategyBrief = await workflow.execute_activity(
            STRATEGY_GEN_STEP.activity,
            StepCall(
                idempotency_key=step_key(c, eid, S.STRATEGY_GEN),
                request=strategy_request(c, trend),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=STRATEGY_GEN_STEP.response_model,
        )
        content: ProducedContent = await workflow.execute_activity(
            CONTENT_PROD_STEP.activity,
            StepCall(
                idempotency_key=step_key(c, eid, S.CONTENT_PROD),
                request=content_request(c, strategy),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=CONTENT_PROD_STEP.response_model,
        )
        quality: QualityReport = await workflow.execute_activity(
            QUALITY_AUDIT_STEP.activity,
            StepCall(
                idempotency_key=step_key(c, eid, S.QUALITY_AUDIT),
                request=audit_request(c, strategy, content),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=QUALITY_AUDIT_STEP.response_model,
        )
        receipt: PublishReceipt = await workflow.execute_activity(
            PUBLISH_STEP.activity,
            StepCall(
                idempotency_key=step_key(c, eid, S.PUBLISH),
                request=publish_request(c, content, quality),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=PUBLISH_STEP.response_model,
        )
        summary: LearningSummary = await workflow.execute_activity(
            LEARN_STEP.activity,
            StepCall(
                idempotency_key=step_key(c, eid, S.LEARN),
                request=learn_request(c, receipt, quality),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
            result_type=LEARN_STEP.response_model,
        )
        return str(summary.artifact_id)
