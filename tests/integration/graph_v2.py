"""Build v2 of the graph for the rollout test: the same CampaignWorkflow with one patched change,
the change docs/changing-the-graph.md rolls out (a pause before PUBLISH)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import WORKFLOW_TYPE, CampaignInput, CampaignOutcome, CampaignState
    from contracts.services import Step
    from workflows.campaign_workflow import CampaignWorkflow

PUBLISH_COOL_OFF = "publish-cool-off"


@workflow.defn(
    name=WORKFLOW_TYPE,
    failure_exception_types=[ValidationError],
)
class CampaignWorkflowV2(CampaignWorkflow):
    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    async def _step(self, step: Step[Any, Any], request: Any) -> Any:
        if step.state is CampaignState.PUBLISH and workflow.patched(PUBLISH_COOL_OFF):
            await workflow.sleep(timedelta(seconds=1))
        return await super()._step(step, request)
