"""Client-side campaign operations shared by the starter, the demo and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import (
    PAYLOAD_QUERY,
    RETRY_SIGNAL,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    RetryRequest,
    workflow_id_for,
)
from workflows import CampaignWorkflow
from workflows import search_attributes as sa

# A published campaign can never be started again (no second publish); one that ended FAILED,
# cancelled or terminated can be started afresh under the same id.
ID_REUSE_POLICY = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY


class CampaignError(RuntimeError):
    """An operator-facing error: the message is one clear line."""


class UnknownCampaignError(CampaignError):
    pass


class NotRetryableError(CampaignError):
    pass


def workflow_id_from_ref(ref: str) -> str:
    """Accept a campaign id (UUID) or a workflow id (campaign-<uuid>)."""
    ref = ref.strip()
    raw = ref.removeprefix("campaign-")
    try:
        return workflow_id_for(UUID(raw))
    except ValueError:
        raise CampaignError(
            f"'{ref}' is not a campaign id (a UUID) or a workflow id (campaign-<uuid>)"
        ) from None


async def start_campaign(
    client: Client, campaign: CampaignInput, *, task_queue: str
) -> WorkflowHandle[CampaignWorkflow, CampaignOutcome]:

    try:
        return await client.start_workflow(
            CampaignWorkflow.run,
            campaign,
            id=workflow_id_for(campaign.campaign_id),
            task_queue=task_queue,
            id_reuse_policy=ID_REUSE_POLICY,
            static_summary=f"Campaign {campaign.brief.name}",
            static_details=(
                f"**Objective:** {campaign.brief.objective}\n\n"
                f"**Audience:** {campaign.brief.audience}\n\n"
                f"**Channels:** {', '.join(campaign.brief.channels)}"
            ),
        )
    except WorkflowAlreadyStartedError:
        raise CampaignError(
            f"campaign {campaign.campaign_id} already exists "
            "(running, or already published): nothing was started"
        ) from None


@dataclass(frozen=True)
class CampaignStatus:
    workflow_id: str
    run_id: str | None
    execution_status: str
    state: CampaignState | None
    failure_reason: str | None
    retry_count: int | None
    start_time: datetime | None
    close_time: datetime | None

    @property
    def running(self) -> bool:
        return self.execution_status == WorkflowExecutionStatus.RUNNING.name


async def campaign_status(client: Client, ref: str) -> CampaignStatus:
    """From visibility (describe): works without a worker, for running and closed campaigns."""
    workflow_id = workflow_id_from_ref(ref)
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise UnknownCampaignError(f"no campaign with workflow id {workflow_id}") from None
        raise
    attrs = desc.typed_search_attributes
    state = attrs.get(sa.CAMPAIGN_STATE)
    return CampaignStatus(
        workflow_id=workflow_id,
        run_id=desc.run_id,
        execution_status=desc.status.name if desc.status else "UNKNOWN",
        state=CampaignState(state) if state else None,
        failure_reason=attrs.get(sa.CAMPAIGN_FAILURE_REASON),
        retry_count=attrs.get(sa.CAMPAIGN_RETRY_COUNT),
        start_time=desc.start_time,
        close_time=desc.close_time,
    )


async def campaign_payload(client: Client, ref: str) -> CampaignPayload:
    """The full payload and execution log, by query (needs a worker, also for closed campaigns)."""
    await campaign_status(client, ref)  # a clear error for an unknown campaign
    handle = client.get_workflow_handle(workflow_id_from_ref(ref))
    payload: CampaignPayload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    return payload


async def retry_campaign(client: Client, ref: str, request: RetryRequest) -> CampaignStatus:
    """Signal `retry`, after checking the campaign is open and parked in FAILED."""
    status = await campaign_status(client, ref)
    if not status.running:
        raise NotRetryableError(
            f"campaign {status.workflow_id} is closed ({status.execution_status}, state "
            f"{status.state}); start it again instead"
        )
    if status.state is not CampaignState.FAILED:
        raise NotRetryableError(
            f"campaign {status.workflow_id} is {status.state}, not FAILED: nothing to retry"
        )
    await client.get_workflow_handle(status.workflow_id).signal(RETRY_SIGNAL, request)
    return status
