"""What an execution-log entry records: `TraceEntry.action`, and a webhook event's `type`.

The log stores the value (a string), so a reader of an older or newer log still reads it; every
writer names a member."""

from __future__ import annotations

from enum import StrEnum


class LogAction(StrEnum):
    # a run begins
    CAMPAIGN_CREATED = "campaign_created"
    RUN_CONTINUED = "run_continued"  # a new run of the same campaign, after continue-as-new
    CAMPAIGN_STARTED = "campaign_started"  # out of IDLE, by the `request_start` update
    PUBLICATION_LOOKUP_FAILED = "publication_lookup_failed"
    ALREADY_PUBLISHED = "already_published"  # an earlier run published: this one ends
    # the steps
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    QUALITY_GATE_PASSED = "quality_gate_passed"
    # a person's review before PUBLISH (campaigns with an approval policy)
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_REMINDER = "approval_reminder"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    # pause and resume, at a step boundary
    PAUSE_REQUESTED = "pause_requested"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_RESUMED = "campaign_resumed"
    # FAILED, and the operator's retries
    CAMPAIGN_FAILED = "campaign_failed"
    RETRY_ACCEPTED = "retry_accepted"
    RETRY_REFUSED = "retry_refused"
    RETRY_WINDOW_EXPIRED = "retry_window_expired"
    CONTINUED_AS_NEW = "continued_as_new"
    # cancel
    CANCEL_REQUESTED_DURING_PUBLISH = "cancel_requested_during_publish"
    PUBLICATION_OUTCOME = "publication_outcome"
    CAMPAIGN_CANCELLED = "campaign_cancelled"
    # the end
    CAMPAIGN_COMPLETED = "campaign_completed"
