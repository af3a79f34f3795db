"""CampaignWorkflow's public names: its type, task queues, messages and workflow ids (pure
constants, no pydantic: the light clients, such as `campaign status`, load only these)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from contracts.enums import ServiceName

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


def service_task_queue(task_queue: str, service: ServiceName) -> str:
    """The task queue of a service's step activity, derived from the workflow's task queue:
    `campaigns` -> `campaigns-content`. Each has its own worker slots and its own rate limit,
    which the server enforces across all workers (docs/scaling.md)."""
    return f"{task_queue}-{service.value}"
