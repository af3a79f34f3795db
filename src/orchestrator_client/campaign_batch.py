"""Start many campaigns from a JSONL file, then follow them to their outcome.

Each non-blank line is one campaign: a full CampaignInput object or a bare brief. A line without
`campaign_id` gets one derived from its content (uuid5 of its canonical JSON), so re-running the
same file derives the same ids, and ids that already have a workflow (running or ended) are not
started again: the report shows how they ended ("existing: published"). Identical lines are
therefore one campaign; give them distinct `campaign_id`s to run them twice. A bad line is
reported with its number; the others go on.

Outcomes come from visibility (the CampaignState/CampaignFailureReason search attributes), with
one list query per poll for the whole batch, not one call per campaign. While it follows them,
at most `max_in_flight` campaigns are started and not yet settled, which bounds what the batch
holds in the workers (about 0.22 MB per cached campaign) and each campaign's wait in the queue;
throughput is flat from ~50 in flight (docs/performance.md), so the bound costs none.

Temporal not answering for a while (a restart, say) is waited out for up to the wait timeout;
past it the batch stops and its report says why, so what was started is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar
from uuid import UUID, uuid5

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts import CampaignInput, CampaignState, workflow_id_for
from contracts.base import canonical_json
from orchestrator_client.batch_window import DEFAULT_MAX_IN_FLIGHT
from orchestrator_client.campaign_errors import CampaignError, CampaignExistsError
from orchestrator_client.campaign_input import (
    CampaignInputError,
    campaign_input_from_dict,
    parse_json,
)
from orchestrator_client.campaign_lookup import CampaignStatus
from orchestrator_client.campaign_ops import (
    campaign_status,
    count_campaigns,
    list_campaigns,
    no_worker,
    start_campaign,
    target,
    visibility_query,
    worker_polling,
)
from orchestrator_client.wording import counted
from orchestrator_connection.temporal_client import TemporalUnavailableError

# Fixed forever: changing it would give every id-less line of an old file a new campaign id.
BATCH_NAMESPACE = UUID("6f1c1d2e-5b8a-4c53-9a55-0c7e3a1b2d40")

# What a server restart or overload looks like: worth waiting out (the SDK has already retried
# each call for about 10 s before it raises one of these).
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)
WORKER_CHECK_EVERY = 5  # polls between looks at the task queue's pollers
EXISTING_PER_QUERY = 100  # workflow ids per `WorkflowId IN (...)` lookup
CLOSE_ORDER_MARGIN = timedelta(seconds=10)
T = TypeVar("T")


def deterministic_campaign_id(data: Any) -> UUID:
    """The campaign id of a line that has none: the same line always gives the same id."""
    return uuid5(BATCH_NAMESPACE, canonical_json(data))


def parse_line(raw: bytes | str) -> CampaignInput:
    """One JSONL line -> CampaignInput, or CampaignInputError naming every bad field."""
    data = parse_json(raw, with_line=False)
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


# Outcomes that make `campaign batch` exit 0; any other settled outcome, or a campaign still
# running after the wait, makes it exit 1.
FINE = frozenset({Outcome.PUBLISHED, Outcome.WAITING_FOR_START})
EXISTING = "existing: "


def outcome_label(outcome: Outcome, reason: str | None) -> str:
    return f"failed: {reason or 'UNKNOWN'}" if outcome is Outcome.FAILED else outcome.value


@dataclass
class LineProblem:
    line: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.message}


@dataclass
class BatchReport:
    lines: int = 0  # non-blank lines
    valid: int = 0  # distinct valid campaigns
    task_queue: str = ""
    started: dict[str, int] = field(default_factory=dict)  # workflow id -> line
    existing: dict[str, int] = field(default_factory=dict)  # already had a workflow: not started
    duplicates: list[LineProblem] = field(default_factory=list)  # same campaign as another line
    invalid: list[LineProblem] = field(default_factory=list)
    start_errors: list[LineProblem] = field(default_factory=list)
    # How each started or existing campaign ended (or parked), from visibility.
    settled: dict[str, tuple[Outcome, str | None]] = field(default_factory=dict)
    waited: bool = False
    starting_done: bool = False
    peak_in_flight: int = 0  # started and not yet settled, at most, while starting
    no_worker: bool = False  # no live worker polled the task queue at the last look
    unavailable: str | None = None  # while Temporal does not answer: its last error
    stopped: str | None = None  # why the batch stopped before its end (Temporal gone too long)

    @property
    def attempted(self) -> int:
        return len(self.started) + len(self.existing) + len(self.start_errors)

    @property
    def followed(self) -> int:
        return len(self.started) + len(self.existing)

    def outcome_counts(self) -> list[tuple[str, int]]:
        """The final table: (label, count), published first, then failures by reason, then
        what existed before (by how it ended), then what was not started."""
        rows: list[tuple[str, int]] = [("published", 0)]
        for prefix, ids in (("", self.started), (EXISTING, self.existing)):
            counts: Counter[str] = Counter(
                prefix + outcome_label(*self.settled[w]) for w in ids if w in self.settled
            )
            rows += sorted(counts.items(), key=lambda kv: (_rank(kv[0]), -kv[1], kv[0]))
            unsettled = sum(1 for w in ids if w not in self.settled)
            if unsettled:
                rows.append((prefix + self._unsettled_label(bool(prefix)), unsettled))
        rows += [
            ("skipped: duplicate line", len(self.duplicates)),
            ("invalid lines", len(self.invalid)),
            ("not started: errors", len(self.start_errors)),
        ]
        merged: dict[str, int] = {}
        for label, n in rows:
            merged[label] = merged.get(label, 0) + n
        # "published 0" says something only of campaigns this run followed.
        keep_zero = "published" if (self.started and self.waited) or not self.followed else None
        return [(label, n) for label, n in merged.items() if n or label == keep_zero]

    def _unsettled_label(self, existing: bool) -> str:
        if self.waited:
            return "still running (not settled in time)"
        return "running" if existing else "started, not followed"

    def all_fine(self) -> bool:
        """Every campaign published, waits for its start, or was started and not followed."""
        for ids in (self.started, self.existing):
            for w in ids:
                if w in self.settled:
                    if self.settled[w][0] not in FINE:
                        return False
                elif self.waited:
                    return False
        return True

    def notes(self) -> list[str]:
        """Why campaigns did not settle, for the end of the report."""
        unsettled = self.followed - len(self.settled)
        notes = []
        if self.no_worker and unsettled:
            notes.append(
                f"no worker was polling task queue '{self.task_queue}' at the end: "
                + counted(unsettled, "campaign")
                + (" waits" if unsettled == 1 else " wait")
                + " for one"
            )
        if self.stopped:
            notes.append(self.stopped)
        return notes

    def as_dict(self) -> dict[str, Any]:
        """In file order: concurrent starters finish their lines in any order."""

        def by_line(problems: list[LineProblem]) -> list[dict[str, Any]]:
            return [p.as_dict() for p in sorted(problems, key=lambda p: p.line)]

        def outcome(workflow_id: str) -> dict[str, Any]:
            settled = self.settled.get(workflow_id)
            return {
                "outcome": settled[0].value if settled else None,
                "failure_reason": settled[1] if settled else None,
            }

        return {
            "lines": self.lines,
            "valid": self.valid,
            "task_queue": self.task_queue,
            "started": len(self.started),
            "outcomes": dict(self.outcome_counts()),
            "campaigns": {
                w: {"line": n, **outcome(w)}
                for w, n in sorted(self.started.items(), key=lambda item: item[1])
            },
            "existing": [
                {"line": n, "workflow_id": w, **outcome(w)}
                for w, n in sorted(self.existing.items(), key=lambda item: item[1])
            ],
            "duplicates": by_line(self.duplicates),
            "invalid": by_line(self.invalid),
            "errors": by_line(self.start_errors),
            "peak_in_flight": self.peak_in_flight,
            "notes": self.notes(),
        }


def _rank(label: str) -> int:
    bare = label.removeprefix(EXISTING)
    return 0 if bare == Outcome.PUBLISHED.value else 1 if bare.startswith("failed") else 2


_SETTLED_WHEN_CLOSED = {
    WorkflowExecutionStatus.COMPLETED.name: Outcome.PUBLISHED,
    WorkflowExecutionStatus.FAILED.name: Outcome.FAILED,
    WorkflowExecutionStatus.CANCELED.name: Outcome.CANCELLED,
    WorkflowExecutionStatus.TERMINATED.name: Outcome.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT.name: Outcome.TIMED_OUT,
}


class TemporalGoneError(TemporalUnavailableError):
    """Temporal did not answer for longer than the batch waits: the report says what stands."""


class Batch:
    """One run of a batch file: read the lines, start the valid ones (at most `concurrency`
    start calls at a time), and with `wait` follow every started or existing campaign until it
    is published, parked in FAILED or otherwise ended, starting a line only while fewer than
    `max_in_flight` (None: no bound) started campaigns have not settled. Without `wait` nothing
    settles, so there is no such bound. `report` is readable at any time."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        concurrency: int = 32,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        wait: bool = True,
        wait_timeout: float = 1800.0,
        poll_interval: float = 1.0,
        on_change: Callable[[BatchReport], None] = lambda _: None,
        on_problem: Callable[[LineProblem], None] = lambda _: None,
        on_warning: Callable[[str], None] = lambda _: None,
    ) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1 (or None for no bound)")
        self.client = client
        self.report = BatchReport(waited=wait, task_queue=task_queue)
        self.concurrency = concurrency
        self.window = max_in_flight if wait else None
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self._on_change, self._on_problem, self._on_warning = on_change, on_problem, on_warning
        self._todo: list[tuple[int, CampaignInput]] = []
        self._created_only: set[str] = set()  # start_immediately false: IDLE is their outcome
        self._starting = 0  # start calls under way: counted in flight before they return
        self._gave_up = False  # the window stayed full for wait_timeout: the rest not started
        self._room = asyncio.Event()  # set after each poll and each start: look at the window
        self._since = datetime.now(UTC) - timedelta(minutes=5)  # a margin for clock skew
        self._watcher: asyncio.Future[None] | None = None
        self._gone_since: float | None = None  # loop time of the first unanswered call
        self._started_settled = 0  # of report.settled, those this run started (not existing)

    @property
    def in_flight(self) -> int:
        return len(self.report.started) + self._starting - self._started_settled

    def read(self, lines: Iterable[tuple[int, bytes | str]]) -> None:
        """Parse every line: bad ones are reported, a repeated campaign is counted once."""
        report, first_line = self.report, dict[UUID, int]()
        for lineno, raw in lines:
            if not raw.strip():
                continue
            report.lines += 1
            try:
                campaign = parse_line(raw)
            except CampaignInputError as err:
                self._problem(report.invalid, LineProblem(lineno, f"invalid campaign: {err}"))
                continue
            if campaign.campaign_id in first_line:
                report.duplicates.append(
                    LineProblem(lineno, f"same campaign as line {first_line[campaign.campaign_id]}")
                )
                continue
            first_line[campaign.campaign_id] = lineno
            self._todo.append((lineno, campaign))
            if not campaign.start_immediately:
                self._created_only.add(workflow_id_for(campaign.campaign_id))
        report.valid = len(self._todo)
        self._on_change(report)

    async def run(self) -> BatchReport:
        """Start and follow what `read` found. Raises TemporalGoneError when Temporal did not
        answer for the wait timeout (or the RPCError it could not get past); `report` then
        holds what was started and how far it went."""
        await self._look_for_worker(warn=True)
        if self.report.waited:
            self._watcher = asyncio.ensure_future(self._watch())
            self._watcher.add_done_callback(lambda _: self._room.set())
        pending = iter(self._todo)
        starters = [
            asyncio.ensure_future(self._starter(pending))
            for _ in range(max(1, min(self.concurrency, len(self._todo))))
        ]
        try:
            await asyncio.gather(*starters)
            self.report.starting_done = True
            self._on_change(self.report)
            if self._watcher is not None:
                await self._watcher
                if self._gone_since is not None:  # the wait ended while Temporal was away
                    raise TemporalGoneError(
                        f"Temporal did not answer at the end of the wait ({self.report.unavailable}"
                        f"; {target(self.client)}): outcomes not seen are not in the report"
                    )
            elif self.report.existing:
                await self._settle_existing()  # one look at how they ended
        except (CampaignError, RPCError, TemporalUnavailableError) as err:
            self.report.stopped = str(err)
            raise
        finally:
            for task in [*starters, self._watcher]:
                if task is not None and not task.done():
                    task.cancel()
            self.report.unavailable = None
            self._on_change(self.report)
        return self.report

    # ---- starting ----------------------------------------------------------------------------

    async def _starter(self, pending: Iterable[tuple[int, CampaignInput]]) -> None:
        for lineno, campaign in pending:  # a shared iterator: each line taken once
            if not await self._room_for_one():
                self._gave_up = True
                self._room.set()  # the other waiting starters give up now, not at their deadline
                self._problem(
                    self.report.start_errors,
                    LineProblem(
                        lineno,
                        f"not started: {counted(self.window or 0, 'campaign')} still running "
                        f"and none settled in {self.wait_timeout:g} s "
                        f"(--max-in-flight {self.window}, --timeout)",
                    ),
                )
                continue
            self._starting += 1  # no await since the check: the window holds across starters
            self.report.peak_in_flight = max(self.report.peak_in_flight, self.in_flight)
            try:
                await self._start_one(lineno, campaign)
            finally:
                self._starting -= 1
                self._room.set()
            self._on_change(self.report)

    async def _room_for_one(self) -> bool:
        """Wait for room in the window; False once nothing settled for wait_timeout seconds
        (here or in another starter)."""
        loop = asyncio.get_running_loop()
        settled_seen, deadline = len(self.report.settled), loop.time() + self.wait_timeout
        while self.window is not None and self.in_flight >= self.window and not self._gave_up:
            if self._watcher is not None and self._watcher.done():
                return True  # no more settling to wait for; its error surfaces after starting
            if len(self.report.settled) != settled_seen:
                settled_seen, deadline = len(self.report.settled), loop.time() + self.wait_timeout
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), remaining)
        return not self._gave_up

    async def _start_one(self, lineno: int, campaign: CampaignInput) -> None:
        workflow_id = workflow_id_for(campaign.campaign_id)
        start = partial(
            start_campaign,
            self.client,
            campaign,
            task_queue=self.report.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        tried_at: datetime | None = None  # set once a start attempt got no answer
        pause = 1.0
        try:
            while True:
                try:
                    await self._answered_once(start)
                    self.report.started[workflow_id] = lineno
                    return
                except _Retry:
                    tried_at = tried_at or datetime.now(UTC)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 5.0)
        except CampaignExistsError:
            if tried_at is not None and await self._started_by_us(workflow_id, tried_at):
                self.report.started[workflow_id] = lineno  # our unanswered attempt went through
            else:
                self.report.existing[workflow_id] = lineno
        except TemporalGoneError:
            raise
        except (CampaignError, RPCError) as err:
            self._problem(self.report.start_errors, LineProblem(lineno, f"not started: {err}"))

    async def _started_by_us(self, workflow_id: str, tried_at: datetime) -> bool:
        status = await self._answered(lambda: campaign_status(self.client, workflow_id))
        return status.start_time is not None and status.start_time >= tried_at - timedelta(
            minutes=1
        )

    # ---- following ---------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Cheap per poll: two counts, then lists only of what changed. Ended campaigns are
        listed incrementally by CloseTime (with a margin, as visibility may record closes
        slightly out of order, and a full list whenever the count says one was missed);
        campaigns parked in FAILED (or IDLE) are listed when their count changes, and every
        tenth poll; existing ones by id until each has settled."""
        base = (
            visibility_query(task_queue=self.report.task_queue)
            + f" AND StartTime >= '{_rfc3339(self._since)}'"
        )
        closed_q = base + " AND ExecutionStatus != 'Running'"
        parked_q = base + " AND ExecutionStatus = 'Running' AND CampaignState IN ('FAILED', 'IDLE')"
        seen_closed: set[str] = set()
        watermark: datetime | None = None
        parked_count, polls = -1, 0
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        report = self.report
        while True:
            if report.starting_done and deadline is None:
                deadline = loop.time() + self.wait_timeout
            closed_count = await self._polled(lambda: count_campaigns(self.client, closed_q))
            if closed_count is not None and closed_count > len(seen_closed):
                query = closed_q
                if watermark is not None:
                    query += f" AND CloseTime >= '{_rfc3339(watermark - CLOSE_ORDER_MARGIN)}'"
                rows = await self._polled(partial(list_campaigns, self.client, query, limit=None))
                if rows is not None and watermark is not None:
                    if len(seen_closed | {r.workflow_id for r in rows}) < closed_count:
                        rows = await self._polled(  # one was missed
                            lambda: list_campaigns(self.client, closed_q, limit=None)
                        )
                for status in rows or []:
                    seen_closed.add(status.workflow_id)
                    if status.close_time and (watermark is None or status.close_time > watermark):
                        watermark = status.close_time
                    self._settle(status)
            count = await self._polled(lambda: count_campaigns(self.client, parked_q))
            polls += 1
            if count is not None and (count != parked_count or polls % 10 == 0):
                parked = await self._polled(
                    lambda: list_campaigns(self.client, parked_q, limit=None)
                )
                if parked is not None:
                    parked_count = count  # the same count may hide a swap: relisted every tenth
                    for status in parked:
                        self._settle(status)
            if report.existing:
                with contextlib.suppress(_Retry):
                    await self._settle_existing(retry=False)
            if polls % WORKER_CHECK_EVERY == 0 and len(report.settled) < report.followed:
                await self._look_for_worker(warn=False)
            self._room.set()
            self._on_change(report)
            if report.starting_done and len(report.settled) >= report.followed:
                return
            if deadline is not None and loop.time() > deadline:
                return
            await asyncio.sleep(self.poll_interval)

    async def _settle_existing(self, *, retry: bool = True) -> None:
        """Look up the existing campaigns not settled yet, by id, a chunk per query."""
        ids = [w for w in self.report.existing if w not in self.report.settled]
        for i in range(0, len(ids), EXISTING_PER_QUERY):
            chunk = ids[i : i + EXISTING_PER_QUERY]
            query = (
                visibility_query()
                + " AND WorkflowId IN ("
                + ", ".join(f"'{w}'" for w in chunk)
                + ")"
            )
            call = partial(list_campaigns, self.client, query, limit=None)
            rows = await (self._answered(call) if retry else self._answered_once(call))
            latest: dict[str, CampaignStatus] = {}
            for status in rows:  # another client may have run an id twice: its latest run
                seen = latest.get(status.workflow_id)
                if seen is None or (status.start_time or _EPOCH) > (seen.start_time or _EPOCH):
                    latest[status.workflow_id] = status
            for status in latest.values():
                self._settle(status)

    def _settle(self, status: CampaignStatus) -> None:
        report, workflow_id = self.report, status.workflow_id
        if workflow_id in report.settled or not (
            workflow_id in report.started or workflow_id in report.existing
        ):
            return
        if status.running:
            if status.state is CampaignState.FAILED:
                outcome = (Outcome.FAILED, status.failure_reason)
            elif status.state is CampaignState.IDLE and workflow_id in self._created_only:
                outcome = (Outcome.WAITING_FOR_START, None)
            else:
                return
        elif status.execution_status in _SETTLED_WHEN_CLOSED:
            outcome = (_SETTLED_WHEN_CLOSED[status.execution_status], status.failure_reason)
        else:
            return
        report.settled[workflow_id] = outcome
        self._started_settled += workflow_id in report.started

    async def _look_for_worker(self, *, warn: bool) -> None:
        queue = self.report.task_queue
        try:
            polling = await worker_polling(self.client, queue)
        except RPCError:
            return  # the next call that matters says what is wrong
        if not polling and warn:
            self._on_warning(
                str(no_worker(self.client, queue, "the campaigns start and wait for one"))
            )
        self.report.no_worker = not polling

    # ---- Temporal not answering ----------------------------------------------------------------

    async def _answered(self, call: Callable[[], Awaitable[T]]) -> T:
        """The call's answer, retrying transient failures (a server restart) with backoff for up
        to the wait timeout; then TemporalGoneError."""
        pause = 1.0
        while True:
            try:
                return await self._answered_once(call)
            except _Retry:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def _polled(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """For the watcher: None while Temporal does not answer (the next poll tries again)."""
        try:
            return await self._answered_once(call)
        except _Retry:
            return None

    async def _answered_once(self, call: Callable[[], Awaitable[T]]) -> T:
        """The call's answer, or _Retry for a transient failure (noted in the report and warned
        about once while it lasts), or TemporalGoneError once failures lasted the wait timeout."""
        loop = asyncio.get_running_loop()
        try:
            answer = await call()
        except RPCError as err:
            if err.status not in TRANSIENT:
                raise
            where = f"{err.status.name}: {err.message}; {target(self.client)}"
            if self._gone_since is None:
                self._gone_since = loop.time()
                self._on_warning(
                    f"Temporal did not answer ({where}): retrying for up to {self.wait_timeout:g} s"
                )
            elif loop.time() - self._gone_since > self.wait_timeout:
                raise TemporalGoneError(
                    f"Temporal did not answer for {self.wait_timeout:g} s ({where}): stopped, "
                    "the report shows what stands"
                ) from None
            self.report.unavailable = f"{err.status.name}: {err.message}"
            self._on_change(self.report)
            raise _Retry(err) from None
        if self._gone_since is not None:
            self._gone_since = None
            self.report.unavailable = None
            self._on_warning(f"Temporal answers again ({target(self.client)})")
            self._on_change(self.report)
        return answer

    def _problem(self, where: list[LineProblem], problem: LineProblem) -> None:
        where.append(problem)
        self._on_problem(problem)
        self._on_change(self.report)


class _Retry(Exception):
    def __init__(self, err: RPCError) -> None:
        super().__init__(err.message)
        self.err = err


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
