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
    CONTENT_PROD_STEP,
    LEARN_STEP,
    PUBLISH_STEP,
    QUALITY_AUDIT_STEP,
    RADAR_SCAN_STEP,
    STRATEGY_GEN_STEP,
    CampaignInput,
    CampaignState,
    StepCall,
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
    trend = await services.call_step(
        RADAR_SCAN_STEP,
        StepCall(idempotency_key=step_key(c, eid, S.RADAR_SCAN), request=radar_request(c)),
    )
    strategy = await services.call_step(
        STRATEGY_GEN_STEP,
        StepCall(
            idempotency_key=step_key(c, eid, S.STRATEGY_GEN), request=strategy_request(c, trend)
        ),
    )
    content = await services.call_step(
        CONTENT_PROD_STEP,
        StepCall(
            idempotency_key=step_key(c, eid, S.CONTENT_PROD), request=content_request(c, strategy)
        ),
    )
    quality = await services.call_step(
        QUALITY_AUDIT_STEP,
        StepCall(
            idempotency_key=step_key(c, eid, S.QUALITY_AUDIT),
            request=audit_request(c, strategy, content),
        ),
    )
    receipt = await services.call_step(
        PUBLISH_STEP,
        StepCall(
            idempotency_key=step_key(c, eid, S.PUBLISH),
            request=publish_request(c, content, quality),
        ),
    )
    summary = await services.call_step(
        LEARN_STEP,
        StepCall(
            idempotency_key=step_key(c, eid, S.LEARN), request=learn_request(c, receipt, quality)
        ),
    )
    return str(summary.artifact_id)
