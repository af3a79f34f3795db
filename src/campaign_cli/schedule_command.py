"""`campaign schedule`: recurring campaigns on Temporal Schedules (a calendar starts each run)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from campaign_cli.connection import client_settings, run
from campaign_cli.console import EXIT_INPUT, fail, out
from campaign_cli.options import AddressOpt, JsonOpt, NamespaceOpt

if TYPE_CHECKING:
    from datetime import timedelta

    from temporalio.client import Client

    from orchestrator_client.campaign_schedules import Overlap, ScheduleView

app = typer.Typer(
    name="schedule",
    help="""Recurring campaigns on Temporal Schedules: each run is a campaign of its own.

\b
  campaign schedule create weekly-news -f brief.json --cron "0 9 * * MON" --time-zone Europe/Paris
  campaign schedule list
  campaign schedule describe weekly-news        next runs, recent runs and their campaigns
  campaign schedule pause weekly-news --note "holiday freeze"
  campaign schedule unpause weekly-news
  campaign schedule trigger weekly-news         one run now
  campaign schedule backfill weekly-news --start 2026-11-02T08:00:00Z --end 2026-11-09T08:00:00Z
  campaign schedule delete weekly-news

Each run's workflow id is campaign-<template id>-<scheduled time>, and its campaign id is
derived from the schedule and that time: any repeat of a time (a second backfill, a server
retry) is the same campaign, which publishes once.""",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ScheduleIdArg = Annotated[str, typer.Argument(metavar="SCHEDULE_ID", help="The schedule's id")]
OVERLAPS = "skip, buffer_one, buffer_all, cancel_other or allow_all"


@app.command()
def create(
    schedule_id: ScheduleIdArg,
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="JSON file: a brief, or a full campaign input without campaign_id",
            dir_okay=False,
        ),
    ],
    cron: Annotated[
        str | None,
        typer.Option(metavar="EXPR", help='Cron expression, e.g. "0 9 * * MON" (Mondays 09:00)'),
    ] = None,
    every: Annotated[
        str | None, typer.Option(metavar="INTERVAL", help="Or an interval: 7d, 12h, 1h30m, 90s")
    ] = None,
    time_zone: Annotated[
        str, typer.Option(metavar="TZ", help="IANA time zone of --cron, e.g. Europe/Paris")
    ] = "UTC",
    overlap: Annotated[
        str,
        typer.Option(metavar="POLICY", help=f"A run due while one runs: {OVERLAPS}"),
    ] = "skip",
    catchup_window: Annotated[
        str,
        typer.Option(
            metavar="INTERVAL",
            help="How late a run missed while Temporal was down may still start",
        ),
    ] = "1h",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused")] = False,
    note: Annotated[str, typer.Option(metavar="TEXT", help="A note on its state")] = "",
    brand: Annotated[
        str | None, typer.Option(metavar="NAME", help="Brand or tenant of every run")
    ] = None,
    priority: Annotated[
        int | None, typer.Option(metavar="1-5", help="Every run's priority")
    ] = None,
    task_queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="Default: CAMPAIGN_TASK_QUEUE")
    ] = None,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Create a schedule that starts a campaign from FILE on a calendar.

    \b
    Examples:
      campaign schedule create weekly-news -f brief.json --cron "0 9 * * MON" \\
          --time-zone Europe/Paris
      campaign schedule create daily-deals -f deals.json --every 1d --overlap buffer_one
      campaign schedule create launch -f launch.json --cron "0 10 15 1 *" --paused

    FILE holds a brief or a full campaign input; leave campaign_id out: each run gets its own.
    A run due while the previous one still runs is skipped (--overlap). A run missed while
    Temporal was down starts late only within --catchup-window (default 1h).
    """
    from orchestrator_client.campaign_input import CampaignInputError, parse_json
    from orchestrator_client.campaign_schedules import (
        CampaignScheduleRequest,
        create_schedule,
        template_campaign_id,
    )

    if (cron is None) == (every is None):
        raise fail("give --cron or --every (exactly one of them)", EXIT_INPUT)
    data = _read_template(file, parse_json, CampaignInputError)
    document: dict[str, Any] = dict(data) if "brief" in data else {"brief": dict(data)}
    top = {k: v for k, v in dict(brand=brand, priority=priority).items() if v is not None}
    document.update(top, campaign_id=str(template_campaign_id(schedule_id)))
    fields: dict[str, Any] = dict(
        schedule_id=schedule_id,
        cron=cron,
        every=_interval("--every", every) if every is not None else None,
        time_zone=time_zone,
        overlap=_overlap(overlap),
        catchup_window=_interval("--catchup-window", catchup_window),
        paused=paused,
        note=note,
        campaign=document,
    )
    settings = client_settings()
    if settings.webhook_url is not None and "notify_transitions" not in document:
        document["notify_transitions"] = True  # as `campaign start` does
    request = _request(CampaignScheduleRequest, fields)
    queue = task_queue or settings.task_queue

    async def work(client: Client) -> None:
        await create_schedule(client, request, task_queue=queue)

    run(work, address, namespace)
    if as_json:
        out.print_json(json.dumps({"schedule_id": schedule_id, "task_queue": queue}))
    else:
        out.print(
            f"created schedule {schedule_id}: {request.when()}, overlap {request.overlap}"
            f"{', paused' if paused else ''}; runs are "
            f"campaign-{request.template_id}-<scheduled time> on task queue '{queue}'",
            markup=False,
        )


@app.command("list")
def list_command(
    as_json: JsonOpt = False, address: AddressOpt = None, namespace: NamespaceOpt = None
) -> None:
    """List the schedules that start campaigns."""
    from orchestrator_client.campaign_schedules import list_schedules

    views = run(list_schedules, address, namespace)
    if as_json:
        out.print_json(json.dumps([v.as_dict() for v in views]))
        return
    if not views:
        out.print("no campaign schedules", markup=False)
        return
    for v in views:
        state = "paused" if v.paused else "active"
        following = f", next {_at(v.next_runs[0])}" if v.next_runs and not v.paused else ""
        out.print(f"{v.schedule_id:<24} {state:<7} {v.when}{following}", markup=False)


@app.command()
def describe(
    schedule_id: ScheduleIdArg,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """The schedule: its calendar, policies, next runs, and recent runs with their campaigns."""
    from orchestrator_client.campaign_schedules import describe_schedule

    view = run(lambda c: describe_schedule(c, schedule_id), address, namespace)
    if as_json:
        out.print_json(json.dumps(view.as_dict()))
        return
    _print_view(view)


@app.command()
def pause(
    schedule_id: ScheduleIdArg,
    note: Annotated[str | None, typer.Option(metavar="TEXT", help="Why")] = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Pause: no runs start until unpaused (runs already started go on)."""
    from orchestrator_client.campaign_schedules import pause_schedule

    run(lambda c: pause_schedule(c, schedule_id, note), address, namespace)
    out.print(f"paused schedule {schedule_id}", markup=False)


@app.command()
def unpause(
    schedule_id: ScheduleIdArg,
    note: Annotated[str | None, typer.Option(metavar="TEXT", help="Why")] = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Unpause: runs start again from the next due time (missed ones within the catch-up
    window)."""
    from orchestrator_client.campaign_schedules import unpause_schedule

    run(lambda c: unpause_schedule(c, schedule_id, note), address, namespace)
    out.print(f"unpaused schedule {schedule_id}", markup=False)


@app.command()
def trigger(
    schedule_id: ScheduleIdArg,
    overlap: Annotated[
        str | None,
        typer.Option(metavar="POLICY", help=f"Instead of the schedule's: {OVERLAPS}"),
    ] = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Start one run now (also while paused); its scheduled time is now."""
    from orchestrator_client.campaign_schedules import trigger_schedule

    chosen = _overlap(overlap) if overlap is not None else None
    run(lambda c: trigger_schedule(c, schedule_id, chosen), address, namespace)
    out.print(
        f"triggered schedule {schedule_id}: `campaign schedule describe {schedule_id}` shows "
        "the run",
        markup=False,
    )


@app.command()
def backfill(
    schedule_id: ScheduleIdArg,
    start: Annotated[
        str, typer.Option(metavar="TIME", help="ISO 8601, e.g. 2026-11-02T08:00:00Z (UTC if bare)")
    ],
    end: Annotated[str, typer.Option(metavar="TIME", help="ISO 8601; included")],
    overlap: Annotated[
        str, typer.Option(metavar="POLICY", help=f"Of the backfilled runs: {OVERLAPS}")
    ] = "buffer_all",
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Run the times the calendar had from --start to --end (both included), as if due then.

    Backfilled runs go one after another (--overlap buffer_all). A time that already has a
    campaign is that same campaign: running, the server refuses the repeat; published, the
    repeat ends at once as ALREADY_PUBLISHED and publishes nothing.
    """
    from orchestrator_client.campaign_schedules import backfill_schedule

    begins, ends = _moment("--start", start), _moment("--end", end)
    if ends < begins:
        raise fail(f"--end ({end}) is before --start ({start})", EXIT_INPUT)
    chosen = _overlap(overlap)
    run(lambda c: backfill_schedule(c, schedule_id, begins, ends, chosen), address, namespace)
    out.print(
        f"backfill of schedule {schedule_id} from {_at(begins)} to {_at(ends)} requested: "
        f"`campaign schedule describe {schedule_id}` shows the runs",
        markup=False,
    )


@app.command()
def delete(
    schedule_id: ScheduleIdArg, address: AddressOpt = None, namespace: NamespaceOpt = None
) -> None:
    """Delete the schedule. The campaigns it started go on."""
    from orchestrator_client.campaign_schedules import delete_schedule

    run(lambda c: delete_schedule(c, schedule_id), address, namespace)
    out.print(f"deleted schedule {schedule_id} (its campaigns go on)", markup=False)


# ---- input and output -----------------------------------------------------------------------


def _read_template(file: Path, parse_json: Any, input_error: type[Exception]) -> dict[str, Any]:
    try:
        data = parse_json(file.read_bytes())
    except OSError as err:
        raise fail(f"cannot read {file}: {err.strerror}", EXIT_INPUT) from None
    except input_error as err:
        raise fail(f"{file}: {err}", EXIT_INPUT) from None
    if not isinstance(data, dict):
        raise fail(f"{file}: expected a JSON object, got {type(data).__name__}", EXIT_INPUT)
    if "campaign_id" in data:
        raise fail(
            f"{file}: campaign_id: leave it out: each run's campaign id comes from the schedule "
            "and its time",
            EXIT_INPUT,
        )
    return data


def _request(model: Any, fields: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from orchestrator_client.campaign_input import describe_validation_error

    try:
        return model.model_validate(fields)
    except ValidationError as err:
        raise fail(f"invalid schedule: {describe_validation_error(err)}", EXIT_INPUT) from None


def _interval(flag: str, text: str) -> timedelta:
    from orchestrator_client.campaign_schedules import parse_interval

    try:
        return parse_interval(text)
    except ValueError as err:
        raise fail(f"{flag}: {err}", EXIT_INPUT) from None


def _overlap(text: str) -> Overlap:
    from orchestrator_client.campaign_schedules import Overlap

    try:
        return Overlap(text.strip().lower())
    except ValueError:
        why = " (terminate would kill a campaign mid-call)" if "terminate" in text.lower() else ""
        raise fail(f"--overlap: {text!r} is not {OVERLAPS}{why}", EXIT_INPUT) from None


def _moment(flag: str, text: str) -> datetime:
    from orchestrator_client.campaign_schedules import parse_moment

    try:
        return parse_moment(text)
    except ValueError as err:
        raise fail(f"{flag}: {err}", EXIT_INPUT) from None


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.utcoffset() is not None else str(moment)


def _print_view(v: ScheduleView) -> None:
    from orchestrator_client.campaign_schedules import describe_interval

    lines = [
        f"schedule   {v.schedule_id} ({'paused' if v.paused else 'active'})",
        f"note       {v.note or '-'}",
        *([f"memo       {v.memo}"] if v.memo and v.memo != v.note else []),
        f"calendar   {v.when}",
        f"policy     overlap {v.overlap}, catch-up window "
        + (describe_interval(v.catchup_window) if v.catchup_window else "-"),
        f"runs       {v.template_workflow_id}-<scheduled time> on task queue '{v.task_queue}'",
        f"actions    {v.actions_taken} taken, {v.skipped_overlap} skipped (overlap), "
        f"{v.missed_catchup} missed (catch-up window)",
        "next       "
        + (", ".join(_at(t) for t in v.next_runs) or "-")
        + (" (paused: none starts until unpaused)" if v.paused and v.next_runs else ""),
    ]
    for line in lines:
        out.print(line, markup=False)
    if v.recent_runs:
        out.print("recent runs (scheduled time, campaign, state):", markup=False)
    for r in v.recent_runs:
        s = r.status
        state = (
            f"{s.state or '-'} ({s.execution_status.lower()})"
            + (f", {s.failure_reason}" if s.failure_reason else "")
            if s
            else "no campaign status (gone from visibility, or not a campaign's workflow id)"
        )
        out.print(f"  {_at(r.scheduled_at)}  {r.workflow_id}  {state}", markup=False)
