"""CampaignWorkflow's public names: its type, task queue, messages and workflow ids (pure
constants, no pydantic: the light clients, such as `campaign status`, load only these)."""

from __future__ import annotations

from uuid import UUID

WORKFLOW_TYPE = "CampaignWorkflow"
DEFAULT_TASK_QUEUE = "campaigns"
RETRY_SIGNAL = "retry"
START_SIGNAL = "start"
RETRY_UPDATE = "request_retry"
START_UPDATE = "request_start"
STATE_QUERY = "state"
PAYLOAD_QUERY = "payload"
WORKFLOW_ID_PREFIX = "campaign-"


def workflow_id_for(campaign_id: UUID | str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{campaign_id}"
