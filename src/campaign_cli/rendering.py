"""What the commands print: answers, outcomes, log timelines, status lines and tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from campaign_cli.console import EXIT_FAILED, err_console, out
from contracts import CampaignState
from orchestrator_client.wording import counted

if TYPE_CHECKING:
    from contracts import CampaignPayload, RetryAccepted, StartAccepted, TraceEntry
    from orchestrator_client.campaign_batch import BatchReport
    from orchestrator_client.campaign_lookup import CampaignStatus
    from orchestrator_client.campaign_ops import BulkRetryResult


def entry_line(entry: TraceEntry) -> str:
    details = entry.details_text()
    return f"{entry.at:%H:%M:%S}  #{entry.seq:<3} {entry.state:<13} {entry.action}" + (
        f"  ({details})" if details else ""
    )


def print_start(answer: StartAccepted, workflow_id: str, as_json: bool) -> None:
    if as_json:
        out.print_json(answer.model_dump_json())
    else:
        out.print(
            f"start accepted: {workflow_id}, starts at {answer.starts_at}",
            markup=False,
        )


def exit_with_outcome(
    payload: CampaignPayload | None, as_json: bool, workflow_id: str | None = None
) -> None:
    """After --wait: print how it ended; exit 0 for LEARN, 1 otherwise."""
    if payload is None:
        return
    print_outcome(payload, as_json, workflow_id)
    if payload.state is not CampaignState.LEARN:
        raise typer.Exit(EXIT_FAILED)


def _retries_left(n: int) -> str:
    return f"{counted(n, 'retry', 'retries')} left"


def print_outcome(payload: CampaignPayload, as_json: bool, workflow_id: str | None = None) -> None:
    if as_json:
        out.print_json(payload.model_dump_json(exclude={"execution_log"}))
        return
    if payload.state is CampaignState.LEARN:
        receipt = payload.publish_receipt
        out.print(
            f"LEARN: published{' as ' + receipt.publication_id if receipt else ''} "
            f"after {counted(payload.retry_count, 'operator retry', 'operator retries')}",
            markup=False,
        )
    elif payload.failure:
        out.print(
            f"{payload.state} at {payload.failure.step}: {payload.failure.reason}: "
            f"{payload.failure.message}",
            markup=False,
        )
        if payload.can_retry():
            out.print(
                f"retry with: campaign retry {workflow_id or payload.campaign_id} "
                f"({_retries_left(payload.max_retries - payload.retry_count)})",
                markup=False,
            )
        elif payload.state is CampaignState.FAILED and not payload.failure.reason.ends_the_run:
            out.print(
                f"no retries left (max_retries {payload.max_retries}): it ends as failed when "
                "its retry window closes",
                markup=False,
            )


def print_retry(answer: RetryAccepted, workflow_id: str, as_json: bool) -> None:
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    out.print(
        f"retry accepted: {workflow_id}, retry {answer.retry_count} of "
        f"{answer.retry_count + answer.retries_left}, resumes at {answer.resume_at} "
        f"({answer.retried_failure})",
        markup=False,
    )


def bulk_line(result: BulkRetryResult) -> str:
    """e.g. retry signal sent to 3 of 3 FAILED campaigns (...): 2 accepted, 1 refused (...)"""
    if result.method == "batch":
        how = f"retry signal sent to {result.signalled} of {result.matched} FAILED campaigns "
        how += f"(batch operation {result.job_id}, max_operations_per_second {result.rate:g})"
    else:
        how = f"request_retry sent to {result.signalled} of {result.matched} FAILED campaigns "
        how += f"(one update each, at most {result.rate:g}/s)"
    refused = sum(result.refused.values())
    why = ", ".join(f"{code}: {n}" for code, n in sorted(result.refused.items()))
    answers = f"{result.accepted} accepted, {refused} refused" + (f" ({why})" if why else "")
    if result.unanswered:
        answers += f", {result.unanswered} not answered yet (see `campaign log <id>`)"
    return how + ": " + answers + (f"; {result.failed} not delivered" if result.failed else "")


def print_status(st: CampaignStatus, note: str | None, as_json: bool) -> None:
    """`campaign status`: one line (or one JSON object), with a note when nothing moves it on."""
    if as_json:
        out.print_json(json.dumps({**st.as_dict(), "note": note}))
        return
    reason = f"  reason={st.failure_reason}" if st.failure_reason else ""
    retries = f"  retries={st.retry_count}" if st.retry_count is not None else ""
    paused = "  PAUSED" if st.paused and st.running else ""
    approvers = (
        f"  approvers={','.join(st.approvers)}" if st.approvers is not None and st.running else ""
    )
    out.print(
        f"{st.workflow_id}  {st.state or '-'}  ({st.execution_status.lower()})"
        f"{retries}{reason}{paused}{approvers}{'  (' + note + ')' if note else ''}",
        markup=False,
    )


def print_campaigns(found: list[CampaignStatus], query: str, limit: int, as_json: bool) -> None:
    """`campaign list`: the query on stderr, then a table of one status line per campaign."""
    if as_json:
        out.print_json(json.dumps([st.as_dict() for st in found]))
        return
    err_console.print(f"query: {query}", markup=False)
    if not found:
        out.print("no campaigns match", markup=False)
        return
    header = (
        f"{'WORKFLOW ID':<45} {'NAME':<24} {'STATE':<17} {'STATUS':<10} {'FAILURE REASON':<24} "
        "RETRIES"
    )
    out.print(header + "  STARTED (UTC)", markup=False)
    for st in found:
        out.print(status_line(st), markup=False)
    more = " (the limit; use --limit for more)" if len(found) == limit else ""
    out.print(f"{counted(len(found), 'campaign')}{more}", markup=False)


def status_line(st: CampaignStatus) -> str:
    started = f"{st.start_time:%Y-%m-%d %H:%M:%S}" if st.start_time else "?"
    retries = st.retry_count if st.retry_count is not None else "?"
    name = st.name or "-"
    name = name if len(name) <= 24 else name[:23] + "…"
    return (
        f"{st.workflow_id:<45} {name:<24} {st.state or '-':<17} "
        f"{st.execution_status.lower():<10} {st.failure_reason or '-':<24} {retries!s:>7}  "
        f"{started}"
    )


def print_batch(report: BatchReport, file: Path, elapsed: float, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        out.print_json(json.dumps({**report.as_dict(), "elapsed_seconds": round(elapsed, 2)}))
        return
    for problem in report.duplicates:
        err_console.print(f"line {problem.line}: skipped, {problem.message}", markup=False)
    title = (
        f"{file.name}: {counted(report.valid, 'campaign')} ({counted(report.lines, 'line')}) "
        f"in {elapsed:.1f}s"
    )
    table = Table(title=title, caption="\n".join(report.notes()) or None)
    table.add_column("outcome")
    table.add_column("campaigns", justify="right")
    for label, count in report.outcome_counts():
        table.add_row(label, str(count))
    out.print(table)
