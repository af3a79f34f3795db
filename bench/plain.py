"""The no-durability baseline: plain asyncio making the same six calls, in this process."""

from __future__ import annotations

import asyncio
from typing import Any
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


class SlotBoundServiceClient(ServiceClient):
    """At most `slots` calls in flight, like a worker with that many activity slots. Without the
    bound, 500 campaigns at once queue thousands of requests on the httpx pool, whose CPU cost per
    call then depends on that queue: 12 to 53 ms per campaign in back-to-back runs."""

    def __init__(self, *args: Any, slots: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = asyncio.Semaphore(slots)

    async def call(self, *args: Any, **kwargs: Any) -> Any:
        async with self._slots:
            return await super().call(*args, **kwargs)


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
