"""Diagnostic variants of CampaignWorkflow, to attribute the campaign's cost over the floor.

`QuietCampaignWorkflow` is CampaignWorkflow without its own search-attribute upserts (the state,
retry count and failure reason that issue 3 asks for on every transition); everything else, the
execution log, current details, logs, metrics and patch markers, is as in the real campaign.
The bench kind `campaign-quiet` runs it: campaign minus campaign-quiet is what those visibility
writes cost. A diagnostic only: the product never runs it.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow

# Not passed through: the sandbox re-imports campaign_workflow.py for each run, as it does for
# the real campaign, so the worker's cost compares like for like.
from workflows.campaign_workflow import CampaignWorkflow

with workflow.unsafe.imports_passed_through():
    from contracts import CampaignInput, CampaignOutcome

QUIET_WORKFLOW_TYPE = "BenchQuietCampaignWorkflow"


@workflow.defn(name=QUIET_WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class QuietCampaignWorkflow(CampaignWorkflow):
    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    def _publish_search_attributes(self) -> None:
        """No upserts of ours (the patch marker's TemporalChangeVersion upsert remains)."""
