"""CampaignWorkflow's public names: its type, task queues, messages and workflow ids (pure
constants, no pydantic: the light clients, such as `campaign status`, load only these)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

if TYPE_CHECKING:
    from contracts.enums import ServiceName

WORKFLOW_TYPE = "CampaignWorkflow"
DEFAULT_TASK_QUEUE = "campaigns"
RETRY_SIGNAL = "retry"
START_SIGNAL = "start"
RETRY_UPDATE = "request_retry"
START_UPDATE = "request_start"
APPROVE_UPDATE = "approve"
REJECT_UPDATE = "reject"
REQUEST_CHANGES_UPDATE = "request_changes"
PAUSE_UPDATE = "pause"
RESUME_UPDATE = "resume"
STATE_QUERY = "state"
PAYLOAD_QUERY = "payload"
WORKFLOW_ID_PREFIX = "campaign-"
# What Temporal Schedules append to the action's workflow id: "-" and the scheduled (nominal)
# time in RFC 3339, UTC, whole seconds (`campaign-<uuid>-2026-12-14T09:00:00Z`). ASCII digits
# only: `\d` would also take other scripts' digits, which no schedule writes.
_SCHEDULED_SUFFIX = re.compile(r"-([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)")


def workflow_id_for(campaign_id: UUID | str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{campaign_id}"


def scheduled_time_in(workflow_id: str, campaign_id: UUID | str) -> str | None:
    """The scheduled time (`2026-12-14T09:00:00Z`) when `workflow_id` is a scheduled run of the
    campaign template `campaign_id` (`campaign-<campaign_id>-<time>`); else None."""
    prefix = workflow_id_for(campaign_id)
    if not workflow_id.startswith(prefix):
        return None
    match = _SCHEDULED_SUFFIX.fullmatch(workflow_id, len(prefix))
    return match.group(1) if match and _real_time(match.group(1)) else None


def scheduled_campaign_id(template_id: UUID, scheduled_time: str) -> UUID:
    """The campaign id of the run of a schedule's campaign template at a scheduled time: the
    same for every action for that time, so a repeat can never publish again."""
    return uuid5(template_id, scheduled_time)


def split_scheduled_workflow_id(workflow_id: str) -> tuple[UUID, str] | None:
    """(template campaign id, scheduled time) of a scheduled run's workflow id; else None."""
    match = re.fullmatch(
        re.escape(WORKFLOW_ID_PREFIX) + r"([0-9a-fA-F-]{36})" + _SCHEDULED_SUFFIX.pattern,
        workflow_id,
    )
    if match is None or not _real_time(match.group(2)):
        return None
    try:
        return UUID(match.group(1)), match.group(2)
    except ValueError:
        return None


def _real_time(text: str) -> bool:
    """A time that exists (the pattern admits 2026-13-45T99:99:99Z)."""
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def campaign_id_of(workflow_id: str) -> UUID | None:
    """The campaign id a workflow id runs: `campaign-<uuid>`, or a scheduled run's (derived)."""
    if (scheduled := split_scheduled_workflow_id(workflow_id)) is not None:
        return scheduled_campaign_id(*scheduled)
    try:
        return UUID(workflow_id.removeprefix(WORKFLOW_ID_PREFIX))
    except ValueError:
        return None


def service_task_queue(task_queue: str, service: ServiceName) -> str:
    """The task queue of a service's step activity, derived from the workflow's task queue:
    `campaigns` -> `campaigns-content`. Each has its own worker slots and its own rate limit,
    which the server enforces across all workers (docs/scaling.md)."""
    return f"{task_queue}-{service.value}"
