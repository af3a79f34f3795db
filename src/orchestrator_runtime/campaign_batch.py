"""Start many campaigns from a JSONL file, then follow them to their outcome.

Each non-blank line is one campaign: a full CampaignInput object or a bare brief. A line without
`campaign_id` gets one derived from its content (uuid5 of its canonical JSON), so re-running the
same file derives the same ids, and ids that already have a workflow (running or ended) are
skipped: nothing is started twice. Identical lines are therefore one campaign; give them distinct
`campaign_id`s to run them twice. A bad line is reported with its number; the others go on.

Outcomes come from visibility (the CampaignState/CampaignFailureReason search attributes), with
one list query per poll for the whole batch, not one call per campaign. While it follows them,
at most `max_in_flight` campaigns are started and not yet settled, which bounds what the batch
holds in the workers (about 0.22 MB per cached campaign) and each campaign's wait in the queue;
throughput is flat from ~50 in flight (docs/performance.md), so the bound costs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from contracts import CampaignInput, CampaignState, workflow_id_for
from orchestrator_runtime.campaign_input import CampaignInputError, campaign_input_from_dict
from orchestrator_runtime.campaign_ops import (
    CampaignError,
    CampaignExistsError,
    CampaignStatus,
    count_campaigns,
    list_campaigns,
    start_campaign,
    visibility_query,
)

# Campaigns started and not yet settled, at most, while a batch is followed: half a worker's
# default cache (1,000), so a batch's campaigns stay cached.
DEFAULT_MAX_IN_FLIGHT = 500

# Fixed forever: changing it would give every id-less line of an old file a new campaign id.
BATCH_NAMESPACE = UUID("6f1c1d2e-5b8a-4c53-9a55-0c7e3a1b2d40")


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def deterministic_campaign_id(data: Any) -> UUID:
    """The campaign id of a line that has none: the same line always gives the same id."""
    return uuid5(BATCH_NAMESPACE, canonical_json(data))


def parse_line(raw: bytes | str) -> CampaignInput:
    """One JSONL line -> CampaignInput, or CampaignInputError naming every bad field."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as err:
        raise CampaignInputError(f"not UTF-8 text (byte {err.start}: {err.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CampaignInputError(f"not valid JSON at column {err.colno}: {err.msg}") from None
    except (ValueError, RecursionError) as err:
        raise CampaignInputError(f"not usable JSON: {str(err)[:200]}") from None
    if not isinstance(data, dict):
        raise CampaignInputError(f"expected a JSON object, got {type(data).__name__}")
    overrides = (
        {} if "campaign_id" in data else {"campaign_id": str(deterministic_campaign_id(data))}
    )
    return campaign_input_from_dict(data, overrides)


class Outcome(StrEnum):
    PUBLISHED = "published"
    FAILED = "failed"
    WAITING_FOR_START = "waiting for start"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    TIMED_OUT = "timed out"


@dataclass
class LineProblem:
    line: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.message}


@dataclass
class BatchReport:
    lines: int = 0
    valid: int = 0
    started: dict[str, int] = field(default_factory=dict)  # workflow id -> line
    skipped: dict[str, int] = field(default_factory=dict)  # already had a workflow
    duplicates: list[LineProblem] = field(default_factory=list)  # same campaign as another line
    invalid: list[LineProblem] = field(default_factory=list)
    start_errors: list[LineProblem] = field(default_factory=list)
    settled: dict[str, tuple[Outcome, str | None]] = field(default_factory=dict)
    waited: bool = False
    starting_done: bool = False
    peak_in_flight: int = 0  # started and not yet settled, at most, while starting

    @property
    def attempted(self) -> int:
        return len(self.started) + len(self.skipped) + len(self.start_errors)

    def outcome_counts(self) -> list[tuple[str, int]]:
        """The final table: (label, count), published first, then failures by reason."""
        counts: Counter[str] = Counter()
        for outcome, reason in self.settled.values():
            label = f"failed: {reason or 'UNKNOWN'}" if outcome is Outcome.FAILED else outcome.value
            counts[label] += 1
        rows: list[tuple[str, int]] = [("published", counts.pop("published", 0))]
        failed = sorted(
            ((k, v) for k, v in counts.items() if k.startswith("failed")), key=lambda kv: -kv[1]
        )
        rows += failed
        rows += [(k, v) for k, v in counts.items() if not k.startswith("failed")]
        unsettled = len(self.started) - len(self.settled)
        if unsettled:
            label = (
                "still running (not settled in time)" if self.waited else "started, not followed"
            )
            rows.append((label, unsettled))
        rows += [
            ("skipped: already exists", len(self.skipped)),
            ("skipped: duplicate line", len(self.duplicates)),
            ("invalid lines", len(self.invalid)),
            ("not started: errors", len(self.start_errors)),
        ]
        return [(label, n) for label, n in rows if n or label == "published"]

    def as_dict(self) -> dict[str, Any]:
        """In file order: concurrent starters finish their lines in any order."""

        def by_line(problems: list[LineProblem]) -> list[dict[str, Any]]:
            return [p.as_dict() for p in sorted(problems, key=lambda p: p.line)]

        started = sorted(self.started.items(), key=lambda item: item[1])
        return {
            "lines": self.lines,
            "started": len(self.started),
            "outcomes": dict(self.outcome_counts()),
            "campaigns": {
                workflow_id: {
                    "line": line,
                    "outcome": self.settled[workflow_id][0].value
                    if workflow_id in self.settled
                    else None,
                    "failure_reason": self.settled[workflow_id][1]
                    if workflow_id in self.settled
                    else None,
                }
                for workflow_id, line in started
            },
            "skipped": [
                {"line": n, "workflow_id": w}
                for w, n in sorted(self.skipped.items(), key=lambda item: item[1])
            ],
            "duplicates": by_line(self.duplicates),
            "invalid": by_line(self.invalid),
            "errors": by_line(self.start_errors),
            "peak_in_flight": self.peak_in_flight,
        }


_SETTLED_WHEN_CLOSED = {
    WorkflowExecutionStatus.COMPLETED.name: Outcome.PUBLISHED,
    WorkflowExecutionStatus.FAILED.name: Outcome.FAILED,
    WorkflowExecutionStatus.CANCELED.name: Outcome.CANCELLED,
    WorkflowExecutionStatus.TERMINATED.name: Outcome.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT.name: Outcome.TIMED_OUT,
}


async def run_batch(
    client: Client,
    lines: Iterable[tuple[int, bytes | str]],
    *,
    task_queue: str,
    concurrency: int = 32,
    max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
    wait: bool = True,
    wait_timeout: float = 1800.0,
    poll_interval: float = 1.0,
    on_change: Callable[[BatchReport], None] = lambda _: None,
    on_problem: Callable[[LineProblem], None] = lambda _: None,
) -> BatchReport:
    """Start every valid line (at most `concurrency` start calls at a time); with `wait`, poll
    visibility until each started campaign is published, parked in FAILED or otherwise ended,
    and start a line only while fewer than `max_in_flight` campaigns (None: no bound) are
    started and not settled. Without `wait` nothing settles, so there is no such bound."""
    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError("max_in_flight must be >= 1 (or None for no bound)")
    window = max_in_flight if wait else None
    report = BatchReport(waited=wait)
    todo: list[tuple[int, CampaignInput]] = []
    first_line: dict[UUID, int] = {}
    for lineno, raw in lines:
        if not raw.strip():
            continue
        report.lines += 1
        try:
            campaign = parse_line(raw)
        except CampaignInputError as err:
            problem = LineProblem(lineno, f"invalid campaign: {err}")
            report.invalid.append(problem)
            on_problem(problem)
            continue
        if campaign.campaign_id in first_line:
            report.duplicates.append(
                LineProblem(lineno, f"same campaign as line {first_line[campaign.campaign_id]}")
            )
            continue
        first_line[campaign.campaign_id] = lineno
        todo.append((lineno, campaign))
    report.valid = len(todo)
    created_only = {workflow_id_for(c.campaign_id) for _, c in todo if not c.start_immediately}
    on_change(report)

    since = datetime.now(UTC) - timedelta(minutes=5)  # a margin for clock skew
    pending = iter(todo)
    starting = 0  # start calls under way: counted in flight before they return
    room = asyncio.Event()  # set after each watcher poll and each start: look at the window again

    def in_flight() -> int:
        return len(report.started) + starting - len(report.settled)

    def watched(r: BatchReport) -> None:
        room.set()
        on_change(r)

    loop = asyncio.get_running_loop()
    gave_up = False  # the window stayed full for wait_timeout: the rest is not started

    async def room_for_one() -> bool:
        """Wait for room in the window; False once nothing settled for wait_timeout seconds
        (here or in another starter)."""
        settled_seen, deadline = len(report.settled), loop.time() + wait_timeout
        while window is not None and in_flight() >= window and not gave_up:
            if watcher is not None and watcher.done():
                return True  # no more settling to wait for; its error surfaces after starting
            if len(report.settled) != settled_seen:
                settled_seen, deadline = len(report.settled), loop.time() + wait_timeout
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(room.wait(), remaining)
        return not gave_up

    async def starter() -> None:
        nonlocal starting, gave_up
        for lineno, campaign in pending:  # shared iterator: each line taken once
            if not await room_for_one():
                gave_up = True
                room.set()  # the other waiting starters give up now, not at their own deadline
                problem = LineProblem(
                    lineno,
                    f"not started: {window} campaigns still running and none settled in "
                    f"{wait_timeout:g} s (--max-in-flight {window}, --timeout)",
                )
                report.start_errors.append(problem)
                on_problem(problem)
                on_change(report)
                continue
            starting += 1  # no await since the check: the window holds across starters
            report.peak_in_flight = max(report.peak_in_flight, in_flight())
            workflow_id = workflow_id_for(campaign.campaign_id)
            try:
                await start_campaign(
                    client,
                    campaign,
                    task_queue=task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                report.started[workflow_id] = lineno
            except CampaignExistsError:
                report.skipped[workflow_id] = lineno
            except (CampaignError, RPCError) as err:
                problem = LineProblem(lineno, f"not started: {err}")
                report.start_errors.append(problem)
                on_problem(problem)
            finally:
                starting -= 1
                room.set()
            on_change(report)

    watcher = (
        asyncio.ensure_future(
            _watch(
                client,
                report,
                task_queue,
                since,
                created_only,
                wait_timeout,
                poll_interval,
                watched,
            )
        )
        if wait
        else None
    )
    if watcher is not None:
        watcher.add_done_callback(lambda _: room.set())
    try:
        await asyncio.gather(*(starter() for _ in range(max(1, min(concurrency, len(todo))))))
        report.starting_done = True
        on_change(report)
        if watcher is not None:
            await watcher
    finally:
        if watcher is not None and not watcher.done():
            watcher.cancel()
    return report


async def _watch(
    client: Client,
    report: BatchReport,
    task_queue: str,
    since: datetime,
    created_only: set[str],
    wait_timeout: float,
    poll_interval: float,
    on_change: Callable[[BatchReport], None],
) -> None:
    """Cheap per poll: two counts, then lists only of what changed. Ended campaigns are listed
    incrementally by CloseTime (with a margin, as visibility may record closes slightly out of
    order, and a full list whenever the count says one was missed); campaigns parked in FAILED
    (or IDLE) are listed when their count changes, and every tenth poll."""
    base = visibility_query(task_queue=task_queue) + f" AND StartTime >= '{_rfc3339(since)}'"
    closed_q = base + " AND ExecutionStatus != 'Running'"
    parked_q = base + " AND ExecutionStatus = 'Running' AND CampaignState IN ('FAILED', 'IDLE')"
    seen_closed: set[str] = set()
    watermark: datetime | None = None
    parked_count, polls = -1, 0
    loop = asyncio.get_running_loop()
    deadline: float | None = None

    def settle(status: CampaignStatus) -> None:
        if status.workflow_id not in report.started or status.workflow_id in report.settled:
            return
        if status.running:
            if status.state is CampaignState.FAILED:
                report.settled[status.workflow_id] = (Outcome.FAILED, status.failure_reason)
            elif status.state is CampaignState.IDLE and status.workflow_id in created_only:
                report.settled[status.workflow_id] = (Outcome.WAITING_FOR_START, None)
        elif status.execution_status in _SETTLED_WHEN_CLOSED:
            report.settled[status.workflow_id] = (
                _SETTLED_WHEN_CLOSED[status.execution_status],
                status.failure_reason,
            )

    while True:
        if report.starting_done and deadline is None:
            deadline = loop.time() + wait_timeout
        closed_count = await count_campaigns(client, closed_q)
        if closed_count > len(seen_closed):
            query = closed_q
            if watermark is not None:
                query += f" AND CloseTime >= '{_rfc3339(watermark - CLOSE_ORDER_MARGIN)}'"
            rows = await list_campaigns(client, query, limit=None)
            if watermark is not None and len(seen_closed | {r.workflow_id for r in rows}) < (
                closed_count
            ):
                rows = await list_campaigns(client, closed_q, limit=None)  # one was missed
            for status in rows:
                seen_closed.add(status.workflow_id)
                if status.close_time and (watermark is None or status.close_time > watermark):
                    watermark = status.close_time
                settle(status)
        count = await count_campaigns(client, parked_q)
        polls += 1
        if count != parked_count or polls % 10 == 0:  # the same count may hide a swap
            parked_count = count
            for status in await list_campaigns(client, parked_q, limit=None):
                settle(status)
        on_change(report)
        if report.starting_done and len(report.settled) >= len(report.started):
            return
        if deadline is not None and loop.time() > deadline:
            return
        await asyncio.sleep(poll_interval)


CLOSE_ORDER_MARGIN = timedelta(seconds=10)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
