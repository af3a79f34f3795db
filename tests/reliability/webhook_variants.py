"""A test-only CampaignWorkflow that takes the webhook outbox path without asking
workflow.patched: replaying a pre-outbox history with it must fail (test_webhook_replay.py)."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import WORKFLOW_TYPE, CampaignInput, CampaignOutcome, CampaignPayload, TraceEntry
    from workflows.campaign_workflow import CampaignWorkflow
    from workflows.observer import CampaignObserver


class _AlwaysOutbox(CampaignObserver):
    def _publish(self, payload: CampaignPayload, entry: TraceEntry) -> None:
        self._outbox = True
        super()._publish(payload, entry)


@workflow.defn(name=WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class UnpatchedOutbox(CampaignWorkflow):
    """The outbox made in place: enqueue_transition where old histories ran notify_transition."""

    @workflow.init
    def __init__(self, input: CampaignInput | object = None, *extra: object) -> None:
        super().__init__(input, *extra)
        self._observer = _AlwaysOutbox(self._input.notify_transitions)

    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)
