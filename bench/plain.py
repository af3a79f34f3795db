"""The no-durability baseline: plain asyncio making the same six calls, in this process."""

from __future__ import annotations

from uuid import uuid4

from activities import ServiceClient
from bench.floor import (
    audit_request,
    content_request,
    learn_request,
    publish_request,
    radar_request,
    step_key,
    strategy_request,
)
from contracts import (
    CampaignInput,
    CampaignState,
    LearningSummary,
    ProducedContent,
    PublishReceipt,
    QualityReport,
    ServiceName,
    StepCall,
    StrategyBrief,
    TrendReport,
)

S = CampaignState


async def six_calls(services: ServiceClient, c: CampaignInput) -> str:
    """What FloorWorkflow does, minus Temporal: same requests, same keys, same parsing."""
    eid = c.execution_id or uuid4()
    trend = await services.call(
        ServiceName.RADAR,
        StepCall(idempotency_key=step_key(c, eid, S.RADAR_SCAN), request=radar_request(c)),
        TrendReport,
    )
    strategy = await services.call(
        ServiceName.STRATEGY,
        StepCall(
            idempotency_key=step_key(c, eid, S.STRATEGY_GEN), request=strategy_request(c, trend)
        ),
        StrategyBrief,
    )
    content = await services.call(
        ServiceName.CONTENT,
        StepCall(
            idempotency_key=step_key(c, eid, S.CONTENT_PROD), request=content_request(c, strategy)
        ),
        ProducedContent,
    )
    quality = await services.call(
        ServiceName.QUALITY,
        StepCall(
            idempotency_key=step_key(c, eid, S.QUALITY_AUDIT),
            request=audit_request(c, strategy, content),
        ),
        QualityReport,
    )
    receipt = await services.call(
        ServiceName.PUBLISHER,
        StepCall(
            idempotency_key=step_key(c, eid, S.PUBLISH),
            request=publish_request(c, content, quality),
        ),
        PublishReceipt,
    )
    summary = await services.call(
        ServiceName.LEARNING,
        StepCall(
            idempotency_key=step_key(c, eid, S.LEARN), request=learn_request(c, receipt, quality)
        ),
        LearningSummary,
    )
    return str(summary.artifact_id)
