"""The markdown the workflow shows as its "current details" in the Temporal Web UI.

Pure and deterministic (a function of the payload only): the workflow calls it on every
transition. `workflow.set_current_details` adds no command to history, so replay is unaffected.
"""

from __future__ import annotations

from contracts import CampaignPayload, CampaignState, FailureReason, TraceEntry, workflow_id_for

LOG_ENTRIES = 5
MAX_TEXT = 300


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(text).split()).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry(entry: TraceEntry) -> str:
    details = entry.details_text()
    line = f"- `{entry.at:%H:%M:%S}` #{entry.seq} **{entry.state}** {entry.action}"
    return line + (f": {_clip(details, 160)}" if details else "")


def current_details(p: CampaignPayload, workflow_id: str | None = None) -> str:
    """`workflow_id`: the campaign's (a scheduled run's is not campaign-<campaign_id>)."""
    wid = workflow_id or workflow_id_for(p.campaign_id)
    # What an operator types: the campaign id, or a scheduled run's workflow id.
    ref = (
        workflow_id
        if workflow_id and workflow_id != workflow_id_for(p.campaign_id)
        else str(p.campaign_id)
    )
    lines = [f"**State:** `{p.state}` · operator retries used: {p.retry_count} of {p.max_retries}"]
    failure = p.failure
    if p.state is CampaignState.CANCELLED:
        at = f" at `{failure.step}`" if failure is not None else ""
        lines += ["", f"Cancelled by request{at}: it is never retried."]
    elif p.state is CampaignState.FAILED and failure is not None:
        lines += [
            "",
            f"**Failed at** `{failure.step}` with reason `{failure.reason}`:",
            f"> {_clip(failure.message)}",
            "",
        ]
        if failure.reason is FailureReason.CANCELLED:
            lines.append("Cancelled by request: the campaign is ending.")
        elif failure.reason is FailureReason.ALREADY_PUBLISHED:
            lines.append("This campaign id was published by an earlier run: this run ends.")
        elif p.can_retry():
            lines += [
                f"**How to retry** ({p.max_retries - p.retry_count} left; it resumes at the "
                "step that failed):",
                "",
                f"- `campaign retry {ref}`",
                f"- `temporal workflow update execute --workflow-id {wid} "
                """--name request_retry --input '{"requested_by": "you"}'`""",
            ]
        else:
            lines.append(
                f"No retries left (max_retries {p.max_retries}): the campaign ends as failed "
                "when its retry window closes."
            )
    elif p.state is CampaignState.LEARN and p.publish_receipt is not None:
        lines += ["", f"Published as `{p.publish_receipt.publication_id}`."]
    elif p.state is CampaignState.AWAITING_APPROVAL and p.approval is not None:
        wait = p.approval
        who = ", ".join(wait.approvers) or "anyone"
        decide = f"{ref} --revision {wait.revision} --as <you>"
        lines += [
            "",
            f"**Waiting for approval** of content revision {wait.revision}, by {who}, until "
            f"{wait.deadline:%Y-%m-%d %H:%M} UTC{' (reminded)' if wait.reminded else ''}:",
            "",
            f"- `campaign approve {decide}`",
            f'- `campaign request-changes {decide} --comment "..."`',
            f'- `campaign reject {decide} --comment "..."`',
            f"- `temporal workflow update execute --workflow-id {wid} --name approve --input "
            f"""'{{"reviewer": "<you>", "revision": {wait.revision}}}'`""",
        ]
    elif p.state is CampaignState.IDLE:
        lines += [
            "",
            f"Waiting in IDLE: `campaign start {ref}`, or the `request_start` update.",
        ]
    if p.paused is not None:
        held = p.paused
        where = (
            f"holds before `{held.held_before}`" if held.held_before else "holds at its next step"
        )
        why = f": {_clip(held.reason, 120)}" if held.reason else ""
        lines += [
            "",
            f"**Paused** by {held.requested_by}{why} ({where}): `campaign resume {ref}`",
        ]
    lines += ["", "**Latest log entries**", ""]
    lines += [_entry(e) for e in p.execution_log[-LOG_ENTRIES:]]
    return "\n".join(lines)
