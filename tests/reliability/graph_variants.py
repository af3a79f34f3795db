"""Test-only variants of CampaignWorkflow: the same workflow type with one change to the graph
(a pause before PUBLISH, i.e. one more timer command), made the safe way and the unsafe way.

test_replay.py replays the committed histories with each: the patched variant replays them all,
the unpatched one fails with a nondeterminism error on every history that reached PUBLISH.
Kept in their own module (imported by the workflow sandbox) with workflow-safe imports only.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import WORKFLOW_TYPE, CampaignInput, CampaignOutcome, CampaignState, Step
    from workflows.campaign_workflow import CampaignWorkflow, RequestT, ResultT

PRE_PUBLISH_PAUSE = "pre-publish-pause"


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class PatchedPauseBeforePublish(CampaignWorkflow):
    """The change behind workflow.patched: new runs pause, old histories replay as they ran."""

    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    async def _step(self, step: Step[RequestT, ResultT], request: RequestT) -> ResultT:
        if step.state is CampaignState.PUBLISH and workflow.patched(PRE_PUBLISH_PAUSE):
            await workflow.sleep(timedelta(seconds=1), summary="pre-publish pause")
        return await super()._step(step, request)


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class UnpatchedPauseBeforePublish(CampaignWorkflow):
    """The same change made in place: a timer where old histories scheduled the activity."""

    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    async def _step(self, step: Step[RequestT, ResultT], request: RequestT) -> ResultT:
        if step.state is CampaignState.PUBLISH:
            await workflow.sleep(timedelta(seconds=1), summary="pre-publish pause")
        return await super()._step(step, request)
