"""Recurring campaigns on Temporal Schedules: create, list, describe, pause, unpause, trigger,
backfill and delete (the `campaign schedule` commands and the REST gateway's /schedules).

A schedule's action starts CampaignWorkflow with a campaign template: its input, whose
campaign_id is the schedule's template id (uuid5 of the schedule id), as workflow id
`campaign-<template id>`. Temporal appends the scheduled time to each run's workflow id
(`campaign-<template id>-2026-12-14T09:00:00Z`), and the workflow derives the run's campaign id
from the template and that time (contracts.names.scheduled_campaign_id). So every action for one
scheduled time is the same campaign: while it runs, Temporal refuses a second run of its
workflow id; once it has published, a repeat ends at once as ALREADY_PUBLISHED (the workflow
asks the publisher first), and publishes nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.api.errordetails.v1 import NamespaceNotFoundFailure
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleListActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import Priority
from temporalio.service import RPCError, RPCStatusCode

from contracts import WORKFLOW_TYPE, CampaignInput, workflow_id_for
from orchestrator_client.campaign_errors import (
    CampaignError,
    CampaignExistsError,
    UnknownCampaignError,
)
from orchestrator_client.campaign_lookup import NAME_MEMO, CampaignStatus, describe_campaign
from orchestrator_client.campaign_ops import STARTING_ATTRIBUTES, brief_details, visibility

# Fixed forever: changing it would give every schedule's runs new campaign ids.
SCHEDULE_NAMESPACE = UUID("0b7d6c1e-3f0a-4f5e-8a51-6c2f9d4e7a13")
SCHEDULE_MEMO = "schedule"  # the schedule's memo: what it runs and when, in words
CALENDAR_MEMO = "calendar"  # its calendar as given (the server keeps a cron as a calendar)
NOTE_MEMO = "note"  # the note it was created with: unpause puts it back
SCHEDULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# A run missed by more than this (the server was down) is skipped, not started late: a week's
# newsletter is not sent the next day. --catchup-window takes another.
DEFAULT_CATCHUP_WINDOW = timedelta(hours=1)
MIN_CATCHUP_WINDOW = timedelta(seconds=10)  # Temporal's own minimum
CRON_WORDS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MAX_INTERVAL = timedelta(days=3660)  # ten years: Temporal refuses much longer ones anyway
MAX_BACKFILL = timedelta(days=366)  # a year of runs at most per backfill
RECENT_RUNS = 10  # runs `describe` shows with their campaigns' states


class Overlap(StrEnum):
    """What a run due while the previous one still runs does. No terminate: a campaign is
    cancelled (and finishes a publication in flight), never killed mid-call."""

    skip = "skip"
    buffer_one = "buffer_one"
    buffer_all = "buffer_all"
    cancel_other = "cancel_other"
    allow_all = "allow_all"

    @property
    def temporal(self) -> ScheduleOverlapPolicy:
        return ScheduleOverlapPolicy[self.name.upper()]

    @classmethod
    def of(cls, policy: ScheduleOverlapPolicy) -> str:
        return policy.name.lower()


class CampaignScheduleRequest(BaseModel):
    """What `campaign schedule create` and POST /schedules take. `campaign` is the template of
    every run: a full campaign input without campaign_id (each run gets its own)."""

    model_config = ConfigDict(extra="forbid")

    schedule_id: str = Field(description="Letters, digits, '.', '_', '-'; at most 100")
    cron: str | None = Field(
        default=None, description='A cron expression, e.g. "0 9 * * MON" (Mondays 09:00)'
    )
    every: timedelta | None = Field(
        default=None,
        ge=timedelta(minutes=1),
        le=MAX_INTERVAL,
        description="An interval, e.g. PT24H or 604800",
    )
    time_zone: str = Field(default="UTC", description="IANA time zone of the cron expression")
    overlap: Overlap = Field(
        default=Overlap.skip,
        description="A run due while the previous one runs: skipped by default",
    )
    catchup_window: timedelta = Field(
        default=DEFAULT_CATCHUP_WINDOW,
        ge=MIN_CATCHUP_WINDOW,
        le=MAX_INTERVAL,
        description="How late a run missed while Temporal was down may still start",
    )
    paused: bool = False
    note: str = Field(default="", max_length=500)
    campaign: CampaignInput

    @field_validator("schedule_id")
    @classmethod
    def _schedule_id(cls, value: str) -> str:
        if not SCHEDULE_ID.fullmatch(value):
            raise ValueError(
                "letters, digits, '.', '_' and '-' only, starting with a letter or digit, "
                "at most 100"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)"
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.strip().startswith("@every"):
            raise ValueError("an interval is `every`, not a cron expression")
        if value.strip() not in CRON_WORDS and len(value.split()) != 5:
            raise ValueError(
                f"{value!r} is not a cron expression of 5 fields (minute hour day-of-month "
                'month day-of-week, e.g. "0 9 * * MON") or one of ' + ", ".join(CRON_WORDS)
            )
        return value

    @model_validator(mode="after")
    def _one_calendar(self) -> CampaignScheduleRequest:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give a cron expression or an interval (exactly one of them)")
        return self

    @property
    def template_id(self) -> UUID:
        return template_campaign_id(self.schedule_id)

    def when(self) -> str:
        """The calendar in words, for the memo and the CLI."""
        if self.cron is not None:
            return f"cron {self.cron!r} ({self.time_zone})"
        assert self.every is not None
        return f"every {describe_interval(self.every)}"


def template_campaign_id(schedule_id: str) -> UUID:
    return uuid5(SCHEDULE_NAMESPACE, schedule_id)


def describe_interval(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


_INTERVAL = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_interval(text: str) -> timedelta:
    """'7d', '1h30m', '90s', '2w' -> timedelta; ValueError naming the form otherwise."""
    compact = text.strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not an interval such as 7d, 12h, 1h30m or 90s")
    seconds = sum(int(n) * _UNIT[u] for n, u in parts)
    if seconds > MAX_INTERVAL.total_seconds():
        raise ValueError(f"{text!r} is longer than ten years")
    return timedelta(seconds=seconds)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset, UTC. ValueError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-07T09:00:00Z or 2026-12-07"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    return moment


# ---- create --------------------------------------------------------------------------------


def template_input(campaign: CampaignInput, schedule_id: str) -> CampaignInput:
    return campaign.model_copy(update={"campaign_id": template_campaign_id(schedule_id)})


async def create_schedule(
    client: Client, request: CampaignScheduleRequest, *, task_queue: str
) -> ScheduleHandle:
    """Create the schedule; CampaignExistsError when its id is taken."""
    campaign = template_input(request.campaign, request.schedule_id)
    brief = campaign.brief
    action = ScheduleActionStartWorkflow(
        WORKFLOW_TYPE,  # by name: the client need not load the workflow's code
        campaign,
        id=workflow_id_for(campaign.campaign_id),  # each run: "-<scheduled time>" appended
        task_queue=task_queue,
        memo={NAME_MEMO: brief.name},
        typed_search_attributes=STARTING_ATTRIBUTES,
        static_summary=f"Campaign {brief.name} (schedule {request.schedule_id})",
        static_details=brief_details(brief),
        priority=Priority(priority_key=campaign.priority, fairness_key=campaign.brand),
    )
    spec = (
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=request.every)])
        if request.every is not None
        else ScheduleSpec(cron_expressions=[request.cron or ""], time_zone_name=request.time_zone)
    )
    # The Web UI's schedule page shows the note, not the memo: by default the note says what
    # the schedule is. In clear: without the brief when payloads are encrypted.
    note = request.note or (
        state_note(request) if client.data_converter.payload_codec else memo_text(request)
    )
    schedule = Schedule(
        action=action,
        spec=spec,
        policy=SchedulePolicy(
            overlap=request.overlap.temporal, catchup_window=request.catchup_window
        ),
        state=ScheduleState(paused=request.paused, note=note),
    )
    try:
        return await client.create_schedule(
            request.schedule_id,
            schedule,
            memo={
                SCHEDULE_MEMO: memo_text(request),
                CALENDAR_MEMO: request.when(),
                NOTE_MEMO: note,
            },
        )
    except ScheduleAlreadyRunningError:
        raise CampaignExistsError(
            f"schedule {request.schedule_id} already exists: nothing was created (delete it "
            "first, or choose another id)"
        ) from None


def memo_text(request: CampaignScheduleRequest) -> str:
    """What the Web UI's schedule page shows in its memo: what runs, when, and how."""
    brief = request.campaign.brief
    return (
        f"Campaign {brief.name!r} ({', '.join(brief.channels)}; {brief.audience}), "
        f"{request.when()}; overlap {request.overlap}, catch-up window "
        f"{describe_interval(request.catchup_window)}; runs are "
        f"{workflow_id_for(request.template_id)}-<scheduled time>"
    )


def state_note(request: CampaignScheduleRequest) -> str:
    """The default note when payloads are encrypted: the calendar, not the brief."""
    return (
        f"Campaign schedule, {request.when()}; runs are "
        f"{workflow_id_for(request.template_id)}-<scheduled time>; the brief is encrypted"
    )


# ---- read ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRun:
    """One action a schedule took: the time it was for, and the campaign it started."""

    scheduled_at: datetime
    started_at: datetime
    workflow_id: str
    status: CampaignStatus | None = None  # None: gone from visibility (retention)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheduled_at": self.scheduled_at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "workflow_id": self.workflow_id,
            "campaign": self.status.as_dict() if self.status else None,
        }


@dataclass(frozen=True)
class ScheduleView:
    schedule_id: str
    memo: str | None
    when: str
    paused: bool
    note: str | None
    overlap: str | None = None
    catchup_window: timedelta | None = None
    task_queue: str | None = None
    template_workflow_id: str | None = None
    next_runs: list[datetime] = field(default_factory=list)
    recent_runs: list[ScheduleRun] = field(default_factory=list)
    actions_taken: int | None = None
    skipped_overlap: int | None = None
    missed_catchup: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "memo": self.memo,
            "when": self.when,
            "paused": self.paused,
            "note": self.note,
            "overlap": self.overlap,
            "catchup_window_seconds": (
                self.catchup_window.total_seconds() if self.catchup_window else None
            ),
            "task_queue": self.task_queue,
            "template_workflow_id": self.template_workflow_id,
            "next_runs": [t.isoformat() for t in self.next_runs],
            "recent_runs": [r.as_dict() for r in self.recent_runs],
            "actions_taken": self.actions_taken,
            "skipped_overlap": self.skipped_overlap,
            "missed_catchup": self.missed_catchup,
        }


def spec_text(spec: ScheduleSpec) -> str:
    """The calendar as the server holds it (it keeps cron expressions as calendars)."""
    if spec.intervals:
        return ", ".join(f"every {describe_interval(i.every)}" for i in spec.intervals)
    if spec.cron_expressions:
        return ", ".join(spec.cron_expressions) + f" ({spec.time_zone_name or 'UTC'})"
    if spec.calendars:
        crons = ", ".join(repr(_as_cron(c)) for c in spec.calendars)
        return f"cron {crons} ({spec.time_zone_name or 'UTC'})"
    return "no calendar (trigger or backfill only)"


def _as_cron(calendar: ScheduleCalendarSpec) -> str:
    """A calendar as the 5 cron fields (minute hour day-of-month month day-of-week)."""

    def field_text(ranges: Sequence[ScheduleRange], low: int, high: int) -> str:
        if not ranges or [(r.start, r.end or r.start, r.step or 1) for r in ranges] == [
            (low, high, 1)
        ]:
            return "*"
        parts = []
        for r in ranges:
            end, step = r.end or r.start, r.step or 1
            text = str(r.start) if end == r.start else f"{r.start}-{end}"
            parts.append(text if step == 1 else f"{text}/{step}")
        return ",".join(parts)

    return " ".join(
        [
            field_text(calendar.minute, 0, 59),
            field_text(calendar.hour, 0, 23),
            field_text(calendar.day_of_month, 1, 31),
            field_text(calendar.month, 1, 12),
            field_text(calendar.day_of_week, 0, 6),
        ]
    )


async def list_schedules(client: Client) -> list[ScheduleView]:
    """Every schedule that starts campaigns, by id."""
    views: list[ScheduleView] = []
    async for entry in await client.list_schedules():
        listed = entry.schedule
        if listed is None or not isinstance(listed.action, ScheduleListActionStartWorkflow):
            continue
        if listed.action.workflow != WORKFLOW_TYPE:
            continue
        views.append(
            ScheduleView(
                schedule_id=entry.id,
                memo=await _memo(entry.memo_value, SCHEDULE_MEMO),
                when=await _memo(entry.memo_value, CALENDAR_MEMO) or spec_text(listed.spec),
                paused=listed.state.paused,
                note=listed.state.note or None,
                next_runs=list(entry.info.next_action_times[:1]) if entry.info else [],
            )
        )
    return sorted(views, key=lambda v: v.schedule_id)


async def describe_schedule(client: Client, schedule_id: str) -> ScheduleView:
    """The schedule, its next runs, and its recent runs with their campaigns' states."""
    described = await _describe(client, schedule_id)
    schedule, info = described.schedule, described.info
    action = schedule.action
    runs: list[ScheduleRun] = []
    for result in list(info.recent_actions)[-RECENT_RUNS:]:
        if not isinstance(result.action, ScheduleActionExecutionStartWorkflow):
            continue
        wid, run_id = result.action.workflow_id, result.action.first_execution_run_id
        try:
            status: CampaignStatus | None = await describe_campaign(visibility(client), wid, run_id)
        except CampaignError:  # gone (retention), or not a campaign's id (another client's)
            status = None
        runs.append(ScheduleRun(result.scheduled_at, result.started_at, wid, status))
    return ScheduleView(
        schedule_id=schedule_id,
        memo=await _memo(described.memo_value, SCHEDULE_MEMO),
        when=await _memo(described.memo_value, CALENDAR_MEMO) or spec_text(schedule.spec),
        paused=schedule.state.paused,
        note=schedule.state.note or None,
        overlap=Overlap.of(schedule.policy.overlap),
        catchup_window=schedule.policy.catchup_window,
        task_queue=action.task_queue if isinstance(action, ScheduleActionStartWorkflow) else None,
        template_workflow_id=action.id if isinstance(action, ScheduleActionStartWorkflow) else None,
        next_runs=list(info.next_action_times[:5]),
        recent_runs=runs,
        actions_taken=info.num_actions,
        skipped_overlap=info.num_actions_skipped_overlap,
        missed_catchup=info.num_actions_missed_catchup_window,
    )


async def _memo(memo_value: Any, key: str) -> str | None:
    try:
        value = await memo_value(key, None)
    except Exception:  # a memo this client cannot decode (another key): shown as absent
        return None
    return value if isinstance(value, str) else None


async def _describe(client: Client, schedule_id: str) -> ScheduleDescription:
    async with _known(schedule_id):
        return await client.get_schedule_handle(schedule_id).describe()
    raise AssertionError("unreachable")  # for mypy: _known re-raises or converts


# ---- change --------------------------------------------------------------------------------


async def pause_schedule(client: Client, schedule_id: str, note: str | None = None) -> None:
    async with _known(schedule_id):
        await client.get_schedule_handle(schedule_id).pause(
            note=note or "paused with `campaign schedule pause`"
        )


async def unpause_schedule(client: Client, schedule_id: str, note: str | None = None) -> None:
    """Unpause; without a note, the schedule's note is the one it was created with again."""
    async with _known(schedule_id):
        handle = client.get_schedule_handle(schedule_id)
        if note is None:
            note = await _memo((await handle.describe()).memo_value, NOTE_MEMO)
        await handle.unpause(note=note or "unpaused with `campaign schedule unpause`")


async def trigger_schedule(
    client: Client, schedule_id: str, overlap: Overlap | None = None
) -> None:
    """One run now (its scheduled time is now), under the schedule's overlap policy or
    `overlap`."""
    async with _known(schedule_id):
        await client.get_schedule_handle(schedule_id).trigger(
            overlap=overlap.temporal if overlap else None
        )


async def backfill_schedule(
    client: Client,
    schedule_id: str,
    start: datetime,
    end: datetime,
    overlap: Overlap = Overlap.buffer_all,
) -> None:
    """The runs the calendar had from `start` to `end` (both included), as if they were due
    then. Buffered one after another by default: the schedule's own `skip` would start only
    the first of several due at once."""
    if end < start:
        raise CampaignError(f"backfill: the end ({end.isoformat()}) is before the start")
    if end - start > MAX_BACKFILL:
        raise CampaignError(
            "backfill: at most a year at a time (366 days); split a longer span into several"
        )
    backfill = ScheduleBackfill(start_at=start, end_at=end, overlap=overlap.temporal)
    async with _known(schedule_id):
        await client.get_schedule_handle(schedule_id).backfill(backfill)


async def delete_schedule(client: Client, schedule_id: str) -> None:
    """Delete the schedule; the campaigns it started go on."""
    async with _known(schedule_id):
        await client.get_schedule_handle(schedule_id).delete()


@asynccontextmanager
async def _known(schedule_id: str) -> AsyncIterator[None]:
    """An unknown schedule id as UnknownCampaignError (the CLI's exit 3, the gateway's 404)."""
    try:
        yield
    except RPCError as err:
        # A missing namespace is marked in the details (the message holds the schedule's id,
        # which may say "namespace" too).
        missing_namespace = any(
            d.Is(NamespaceNotFoundFailure.DESCRIPTOR) for d in err.grpc_status.details
        )
        if err.status == RPCStatusCode.NOT_FOUND and not missing_namespace:
            raise UnknownCampaignError(f"no schedule with id {schedule_id}") from None
        raise
