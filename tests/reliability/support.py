"""What the reliability scenarios share: sizes, worker processes, checks of the services' record
(read through tests.stack.Admin).

Every wait here is bounded (a deadline in seconds), every process logs to a file in the stack's
run directory, and every check reads the truth back from where it lives: side effects from the
reference services' ledger (/admin/effects), execution logs from the workflow (`payload` query).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from contracts import (
    PAYLOAD_QUERY,
    PIPELINE,
    SERVICE_FOR_STATE,
    STATE_QUERY,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Channel,
    ServiceName,
    StepRetrySettings,
)
from devstack.processes import ManagedProcess, ProcessFailedError
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import start_campaign

T = TypeVar("T")

SCALE = os.environ.get("RELIABILITY_SCALE", "ci").strip().lower()
FULL = SCALE == "full"


def size(ci: int, full: int) -> int:
    """Campaign counts: `ci` by default, `full` with RELIABILITY_SCALE=full."""
    return full if FULL else ci


# ---- campaigns ---------------------------------------------------------------------------------

BRIEFS = (
    ("Sourdough season", "Grow newsletter sign-ups among hobby bakers", [Channel.EMAIL]),
    ("Trail week", "Drive pre-orders of the Aurora trail shoe", [Channel.SOCIAL, Channel.BLOG]),
    ("Green commute", "Get city workers to try the e-bike rental", [Channel.SEARCH_ADS]),
)


def brief(i: int = 0, objective: str | None = None) -> CampaignBrief:
    name, default_objective, channels = BRIEFS[i % len(BRIEFS)]
    return CampaignBrief(
        name=f"{name} #{i}",
        objective=objective or default_objective,
        audience="Adults in Europe",
        channels=channels,
        keywords=["reliability"],
    )


def retries(
    *, attempts: int = 30, start_to_close: float = 5.0, initial: float = 0.1, maximum: float = 1.0
) -> StepRetrySettings:
    return StepRetrySettings(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=maximum),
        maximum_attempts=attempts,
        start_to_close_timeout=timedelta(seconds=start_to_close),
    )


def campaign(
    i: int = 0, *, objective: str | None = None, step_retry: StepRetrySettings | None = None
) -> CampaignInput:
    return CampaignInput(
        campaign_id=uuid.uuid4(),
        brief=brief(i, objective),
        step_retry=step_retry or retries(),
        retry_window=timedelta(hours=1),
    )


async def start_all(
    client: Client, campaigns: Sequence[CampaignInput], task_queue: str, parallel: int = 20
) -> list[WorkflowHandle[Any, CampaignOutcome]]:
    gate = asyncio.Semaphore(parallel)

    async def one(c: CampaignInput) -> WorkflowHandle[Any, CampaignOutcome]:
        async with gate:
            return await start_campaign(client, c, task_queue=task_queue)

    return list(await asyncio.wait_for(asyncio.gather(*(one(c) for c in campaigns)), 120))


async def outcome_of(client: Client, workflow_id: str, deadline: float) -> CampaignOutcome:
    """The result, waiting until `deadline` (monotonic); survives a server that is away."""
    handle = client.get_workflow_handle(workflow_id, result_type=CampaignOutcome)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{workflow_id} did not finish in time")
        try:
            return await asyncio.wait_for(handle.result(), remaining)
        except RPCError:  # server restarting: ask again
            await asyncio.sleep(0.5)


async def outcomes(
    client: Client, handles: Iterable[WorkflowHandle[Any, Any]], within: float
) -> list[CampaignOutcome]:
    deadline = time.monotonic() + within
    return list(await asyncio.gather(*(outcome_of(client, h.id, deadline) for h in handles)))


async def wait_for_state(
    client: Client, workflow_id: str, wanted: CampaignState, within: float = 60.0
) -> None:
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + within
    state = None
    while time.monotonic() < deadline:
        state = await handle.query(STATE_QUERY, result_type=CampaignState)
        if state is wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} is {state}, not {wanted}, after {within:.0f}s")


async def payload_of(client: Client, workflow_id: str) -> CampaignPayload:
    """The campaign's payload (with the execution log), by query."""
    handle = client.get_workflow_handle(workflow_id)
    result: CampaignPayload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    return result


async def payloads(
    client: Client, workflow_ids: Iterable[str], parallel: int = 16
) -> list[CampaignPayload]:
    """The payload (with the execution log) of each campaign, by query."""
    gate = asyncio.Semaphore(parallel)

    async def one(workflow_id: str) -> CampaignPayload:
        async with gate:
            return await payload_of(client, workflow_id)

    return list(await asyncio.wait_for(asyncio.gather(*(one(w) for w in workflow_ids)), 300))


# ---- worker processes ----------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """`python -m worker` as its own process (own session, own log file), on one task queue."""

    stack: DevStack
    name: str
    task_queue: str
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "worker"])

    def __post_init__(self) -> None:
        self.process = ManagedProcess(self.name, self.stack.config.run_dir)

    @property
    def log_file(self) -> Path:
        return self.process.log_file

    def start(self) -> None:
        """Start it and wait for its `worker_started` line (blocking: call via to_thread)."""
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        env = {
            **self.stack.config.worker_env(),
            "CAMPAIGN_TASK_QUEUE": self.task_queue,
            "CAMPAIGN_GRACEFUL_SHUTDOWN_SECONDS": "0",
            **self.env,
        }
        self.process.start(self.command, env=env)

        def started() -> bool:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return b"worker_started" in f.read()

        self.process.wait_until(started, 60, "'worker_started' log line")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.process.kill()

    def stop(self) -> None:
        self.process.stop(timeout=15)

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def new_queue(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def worker_process(
    stack: DevStack, name: str, queue_prefix: str, env: dict[str, str] | None = None
) -> AsyncIterator[WorkerProcess]:
    """A WorkerProcess on a new task queue, started (its `worker_started` line seen) for the
    block and stopped after it."""
    worker = WorkerProcess(stack, name, new_queue(queue_prefix), env=env or {})
    await asyncio.to_thread(worker.start)
    try:
        yield worker
    finally:
        await asyncio.to_thread(worker.stop)


# ---- checks -------------------------------------------------------------------------------------


def duplicate_effects(
    effects: Sequence[dict[str, Any]],
    campaigns: Sequence[CampaignInput],
    expected: Callable[[ServiceName], int] = lambda service: 1,
) -> list[str]:
    """Every (campaign, service) whose number of side effects is not the expected one."""
    ids = {str(c.campaign_id) for c in campaigns}
    counts = Counter((e["campaign_id"], e["service"]) for e in effects if e["campaign_id"] in ids)
    problems = []
    for c in campaigns:
        for service in ServiceName:
            n = counts[(str(c.campaign_id), service.value)]
            if n != expected(service):
                problems.append(f"{c.campaign_id} {service.value}: {n} effects")
    return problems


def publishes_by_campaign(effects: Sequence[dict[str, Any]]) -> Counter[str]:
    return Counter(e["campaign_id"] for e in effects if e["service"] == ServiceName.PUBLISHER)


def log_problems(payload: CampaignPayload, operator_retries: int = 0) -> list[str]:
    """An execution log with gaps or repeats, or a step that ran more often than retries explain.

    Checked: seq is 1..n; campaign_created and campaign_completed once each; each step started
    and completed once (steps resumed by an accepted operator retry once more), in pipeline order.
    """
    log = payload.execution_log
    where = f"campaign {payload.campaign_id}"
    problems = []
    seqs = [e.seq for e in log]
    if seqs != list(range(1, len(log) + 1)):
        problems.append(f"{where}: seq is not 1..{len(log)}: {seqs}")
    actions = Counter(e.action for e in log)
    for once in ("campaign_created", "campaign_completed"):
        if actions[once] != 1:
            problems.append(f"{where}: {once} logged {actions[once]} times")
    if actions["retry_accepted"] != operator_retries:
        problems.append(f"{where}: {actions['retry_accepted']} accepted retries")
    steps = [(e.action, e.details.get("service")) for e in log if e.action.startswith("step_")]
    if operator_retries == 0:
        expected = [
            (action, SERVICE_FOR_STATE[state].value)
            for state in PIPELINE
            for action in ("step_started", "step_completed")
        ]
        if steps != expected:
            problems.append(f"{where}: steps ran as {steps}")
    else:
        started = Counter(s for a, s in steps if a == "step_started")
        completed = Counter(s for a, s in steps if a == "step_completed")
        for state in PIPELINE:
            service = SERVICE_FOR_STATE[state].value
            if not 1 <= completed[service] <= started[service] <= 1 + operator_retries:
                problems.append(
                    f"{where}: {service} started {started[service]}, "
                    f"completed {completed[service]} times"
                )
    return problems


async def workflow_task_failures(client: Client, workflow_id: str) -> int:
    """Workflow task failures in the history: a wedged or nondeterministic workflow shows here."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    )


async def describe_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


def retries_seen(calls: Sequence[dict[str, Any]], campaigns: Sequence[CampaignInput]) -> int:
    """Calls beyond the first per (service, idempotency key): the retries the services saw."""
    ids = {str(c.campaign_id) for c in campaigns}
    keys = Counter(
        (c["service"], c["idempotency_key"]) for c in calls if c.get("campaign_id") in ids
    )
    return sum(n - 1 for n in keys.values())


def injected_totals(stats: dict[str, Any]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for service_stats in stats.values():
        totals.update(service_stats.get("injected", {}))
    return dict(sorted(totals.items()))


def status_totals(stats: dict[str, Any]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for service_stats in stats.values():
        totals.update(service_stats.get("statuses", {}))
    return dict(sorted(totals.items()))


# ---- figures ------------------------------------------------------------------------------------

FIGURES: list[dict[str, Any]] = []


def record_figures(scenario: str, **figures: Any) -> None:
    """Kept for the terminal summary; appended to $RELIABILITY_FIGURES (JSON lines) if set."""
    entry = {"scenario": scenario, "scale": SCALE, **figures}
    FIGURES.append(entry)
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        with Path(target).open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str) + "\n")


def ensure_running(process: ManagedProcess, what: str) -> None:
    if not process.running():
        raise ProcessFailedError(f"{what} is not running; {process.tail()}")
