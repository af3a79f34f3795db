"""Diagnostic variants of CampaignWorkflow, to attribute the campaign's cost over the floor.

`QuietCampaignWorkflow` is CampaignWorkflow without its own search-attribute upserts (the state,
retry count and failure reason that issue 3 asks for on every transition); everything else, the
execution log, current details, logs, metrics and patch markers, is as in the real campaign.
The bench kind `campaign-quiet` runs it: campaign minus campaign-quiet is what those visibility
writes cost.

`SingleQueueCampaignWorkflow` is CampaignWorkflow with every step on the workflow's own task
queue, as before the service queues (issue 13): the realistic benchmark's "single queue". Its
history differs only in the activities' task queue.

Diagnostics only: the product never runs them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio import workflow

# Not passed through: the sandbox re-imports campaign_workflow.py for each run, as it does for
# the real campaign, so the worker's cost compares like for like.
from workflows.campaign_workflow import CampaignWorkflow

with workflow.unsafe.imports_passed_through():
    from contracts import CampaignInput, CampaignOutcome, Step

QUIET_WORKFLOW_TYPE = "BenchQuietCampaignWorkflow"
SINGLE_QUEUE_WORKFLOW_TYPE = "BenchSingleQueueCampaignWorkflow"


@workflow.defn(name=QUIET_WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class QuietCampaignWorkflow(CampaignWorkflow):
    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    def _publish_search_attributes(self) -> None:
        """No upserts of ours (the patch marker's TemporalChangeVersion upsert remains)."""


@workflow.defn(name=SINGLE_QUEUE_WORKFLOW_TYPE, failure_exception_types=[ValidationError])
class SingleQueueCampaignWorkflow(CampaignWorkflow):
    @workflow.run
    async def run(self, input: CampaignInput | object = None, *extra: object) -> CampaignOutcome:
        return await super().run(input, *extra)

    def _task_queue_for(self, step: Step[Any, Any]) -> str | None:
        """Every step on the workflow's own task queue, sharing its worker's activity slots."""
        return None
