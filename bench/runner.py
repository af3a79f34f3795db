"""The measurements: one at a time, N at once, a concurrency sweep, and parked campaigns."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle

from activities import ServiceClient
from bench.bare import BARE_WORKFLOW_TYPE, BareWorkflow
from bench.floor import FLOOR_WORKFLOW_TYPE, FloorWorkflow
from bench.plain import SlotBoundServiceClient, six_calls
from bench.procmon import ProcessMonitor, Usage, rss_bytes, settle
from bench.stack import BenchStack
from bench.variants import (
    QUIET_WORKFLOW_TYPE,
    SINGLE_QUEUE_WORKFLOW_TYPE,
    QuietCampaignWorkflow,
)
from contracts import (
    WORKFLOW_TYPE,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignState,
    Channel,
    ServiceName,
    workflow_id_for,
)
from orchestrator_client.campaign_ops import start_campaign
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import connect
from orchestrator_worker.service_wiring import create_http_client

KINDS = ("campaign", "floor", "asyncio")  # what runs by default
# Every kind, in table order; campaign-quiet and campaign-one-queue (bench/variants.py) and bare
# (bench/bare.py) are diagnostics, run only when named in --kinds.
ALL_KINDS = ("campaign", "campaign-quiet", "campaign-one-queue", "floor", "bare", "asyncio")
RunOne = Callable[[], Awaitable[None]]
MB = 1024 * 1024


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def brief(parked: bool = False) -> CampaignBrief:
    objective = (
        "Promise guaranteed returns to grow savings sign-ups"  # closes the quality gate
        if parked
        else "Grow newsletter sign-ups among hobby bakers"
    )
    return CampaignBrief(
        name="Bench: sourdough season",
        objective=objective,
        audience="Home bakers",
        channels=[Channel.EMAIL, Channel.SOCIAL],
        keywords=["sourdough", "starter"],
    )


def campaign_input(parked: bool = False) -> CampaignInput:
    return CampaignInput(campaign_id=uuid.uuid4(), brief=brief(parked))


# ---- results ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks; q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Phase:
    """One measured window: `count` campaigns of one kind."""

    kind: str
    mode: str  # sequential | burst | closed-loop
    concurrency: int
    count: int
    wall_s: float
    latencies_ms: list[float]
    cpu_ms: dict[str, float]  # per campaign, per role (server, worker, services)
    peak_rss_mb: dict[str, float]  # per role; worker = the largest worker process
    other_load_cores: float  # CPU the rest of the machine used meanwhile, in cores
    server_ops: dict[str, float] = field(default_factory=dict)  # per campaign, see server_ops()

    @property
    def throughput(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "count": self.count,
            "wall_s": round(self.wall_s, 3),
            "throughput_per_s": round(self.throughput, 2),
            "latency_p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "latency_p95_ms": round(percentile(self.latencies_ms, 95), 1),
            "latency_max_ms": round(max(self.latencies_ms, default=float("nan")), 1),
            "cpu_ms_per_campaign": {k: round(v, 2) for k, v in self.cpu_ms.items()},
            "peak_rss_mb": {k: round(v, 1) for k, v in self.peak_rss_mb.items()},
            "other_load_cores": round(self.other_load_cores, 2),
            "server_ops_per_campaign": {k: round(v, 2) for k, v in self.server_ops.items()},
        }


@dataclass
class KindResult:
    kind: str
    sequential: Phase | None = None
    burst: Phase | None = None
    sweep: list[Phase] = field(default_factory=list)
    history: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "sequential": self.sequential.summary() if self.sequential else None,
            "burst": self.burst.summary() if self.burst else None,
            "sweep": [p.summary() for p in self.sweep],
            "history": self.history,
        }


@dataclass
class ParkedResult:
    count: int
    max_cached_workflows: int | None
    rss_before_mb: float
    rss_at_checkpoint_mb: float
    checkpoint: int
    rss_after_mb: float
    peak_rss_mb: float
    worker_cpu_ms_per_campaign: float
    server_cpu_ms_per_campaign: float
    park_wall_s: float

    def summary(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


# ---- how one campaign of each kind runs -------------------------------------------------------


async def start_campaign_kind(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    return await start_campaign(client, campaign_input(), task_queue=task_queue)


async def start_quiet(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    c = campaign_input()
    return await client.start_workflow(
        QuietCampaignWorkflow.run, c, id=workflow_id_for(c.campaign_id), task_queue=task_queue
    )


async def start_one_queue(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    """Started as `campaign` is (start_campaign): only the activities' queue differs."""
    return await start_campaign(
        client, campaign_input(), task_queue=task_queue, workflow_type=SINGLE_QUEUE_WORKFLOW_TYPE
    )


async def start_floor(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    c = campaign_input()
    return await client.start_workflow(
        FloorWorkflow.run, c, id=f"floor-{c.campaign_id}", task_queue=task_queue
    )


async def start_bare(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    c = campaign_input()
    return await client.start_workflow(
        BareWorkflow.run, str(c.campaign_id), id=f"bare-{c.campaign_id}", task_queue=task_queue
    )


@dataclass(frozen=True)
class WorkflowKind:
    start: Callable[[Client, str], Awaitable[WorkflowHandle[Any, Any]]]
    workflow_type: str
    ends_in_learn: bool  # a CampaignOutcome in LEARN, checked after every run


WORKFLOW_KINDS: dict[str, WorkflowKind] = {
    "campaign": WorkflowKind(start_campaign_kind, WORKFLOW_TYPE, ends_in_learn=True),
    "campaign-quiet": WorkflowKind(start_quiet, QUIET_WORKFLOW_TYPE, ends_in_learn=True),
    "campaign-one-queue": WorkflowKind(
        start_one_queue, SINGLE_QUEUE_WORKFLOW_TYPE, ends_in_learn=True
    ),
    "floor": WorkflowKind(start_floor, FLOOR_WORKFLOW_TYPE, ends_in_learn=False),
    "bare": WorkflowKind(start_bare, BARE_WORKFLOW_TYPE, ends_in_learn=False),
}


def kind_runner(kind: WorkflowKind, client: Client, task_queue: str) -> RunOne:
    async def run_one() -> None:
        handle = await kind.start(client, task_queue)
        outcome = await handle.result()
        if kind.ends_in_learn and (
            not isinstance(outcome, CampaignOutcome) or outcome.state is not CampaignState.LEARN
        ):
            raise RuntimeError(f"{handle.id} ended {outcome!r}, not in LEARN")

    return run_one


def plain_runner(services: ServiceClient) -> RunOne:
    async def run_one() -> None:
        await six_calls(services, campaign_input())

    return run_one


# ---- the three load shapes ---------------------------------------------------------------------


async def timed(run_one: RunOne) -> tuple[float, float]:
    started = time.perf_counter()
    await run_one()
    return started, time.perf_counter()


async def closed_loop(run_one: RunOne, concurrency: int, total: int) -> tuple[list[float], float]:
    """`total` campaigns, at most `concurrency` in flight (1: one at a time). Latencies in ms."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> tuple[float, float]:
        async with gate:
            return await timed(run_one)

    t0 = time.perf_counter()
    spans = await asyncio.gather(*(one() for _ in range(total)))
    wall = max(end for _, end in spans) - t0
    return [(end - start) * 1000 for start, end in spans], wall


async def burst(run_one: RunOne, n: int) -> tuple[list[float], float]:
    """N started at once; latency from the common start to each completion."""
    t0 = time.perf_counter()
    spans = await asyncio.gather(*(timed(run_one) for _ in range(n)))
    ends = [end for _, end in spans]
    return [(end - t0) * 1000 for end in ends], max(ends) - t0


# ---- the benchmark -----------------------------------------------------------------------------


@dataclass
class Bench:
    stack: BenchStack
    workers: int = 1
    n: int = 500
    sequential: int = 50
    warmup: int = 20
    sweep_levels: Sequence[int] = ()
    drain_s: float = 32.0
    worker_pids: list[int] = field(default_factory=list)

    async def drain(self, since: float) -> None:
        """Let the server finish what the campaigns left behind: visibility writes at once, and
        the timer tasks of activity and workflow-task timeouts (30 s start-to-close) that fire
        later and are then discarded. Measured windows include this work."""
        remaining = since + self.drain_s - time.perf_counter()
        if remaining > 0:
            await asyncio.sleep(remaining)
        await asyncio.to_thread(settle, self.stack.pids()["server"])

    async def measure(
        self, kind: str, mode: str, run_one: RunOne, concurrency: int, total: int
    ) -> Phase:
        pids = self.stack.pids()
        roles: dict[str, int] = dict(pids)
        if kind == "asyncio":
            roles["worker"] = _self_pid()
        else:
            roles.update({f"worker-{i}": pid for i, pid in enumerate(self.worker_pids)})
        await asyncio.to_thread(settle, pids["server"])
        counters0 = self.stack.server_counters()
        monitor = ProcessMonitor(roles).start()
        t0 = time.perf_counter()
        if mode == "burst":
            latencies, wall = await burst(run_one, total)
        else:
            latencies, wall = await closed_loop(run_one, concurrency, total)
        if kind == "asyncio":
            await asyncio.to_thread(settle, pids["server"])
        elif mode != "closed-loop":  # the sweep is not drained: only its latencies count
            await self.drain(since=t0 + wall)
        usage, other = monitor.stop()
        counters1 = self.stack.server_counters()
        return Phase(
            kind=kind,
            mode=mode,
            concurrency=concurrency,
            count=total,
            wall_s=wall,
            latencies_ms=latencies,
            cpu_ms=_per_role(usage, lambda u: u.cpu_s * 1000 / total, sum),
            peak_rss_mb=_per_role(usage, lambda u: u.peak_rss / MB, max),
            other_load_cores=other,
            server_ops=server_ops(counters0, counters1, total),
        )

    async def run_kind(self, kind: str, client: Client, services: ServiceClient) -> KindResult:
        result = KindResult(kind)
        if kind == "asyncio":
            run_one = plain_runner(services)
        else:
            self.worker_pids = await asyncio.to_thread(self.stack.start_workers, self.workers)
            run_one = kind_runner(WORKFLOW_KINDS[kind], client, self.stack.task_queue)
        try:
            say(f"{kind}: warm-up ({self.warmup})")
            await closed_loop(run_one, max(1, self.warmup // 2), self.warmup)
            say(f"{kind}: {self.sequential} one at a time")
            result.sequential = await self.measure(kind, "sequential", run_one, 1, self.sequential)
            say(f"{kind}: {self.n} at once")
            result.burst = await self.measure(kind, "burst", run_one, self.n, self.n)
            say(
                f"{kind}: {result.burst.throughput:.1f}/s, "
                f"one at a time p50 {percentile(result.sequential.latencies_ms, 50):.0f} ms"
            )
            for level in self.sweep_levels:
                total = max(3 * level, min(30, self.n))
                say(f"{kind}: sweep, {level} in flight ({total})")
                result.sweep.append(await self.measure(kind, "closed-loop", run_one, level, total))
            if self.sweep_levels and kind != "asyncio":
                await self.drain(since=time.perf_counter())
            if kind != "asyncio":
                result.history = await history_size(client, kind)
        finally:
            if kind != "asyncio":
                await asyncio.to_thread(self.stack.stop_workers)
        return result

    async def run_parked(self, client: Client, count: int, checkpoint: int = 1000) -> ParkedResult:
        """Park `count` campaigns in FAILED (a closed quality gate) and watch the worker's RSS."""
        self.worker_pids = await asyncio.to_thread(self.stack.start_workers, self.workers)
        try:
            tq = self.stack.task_queue
            say(f"parked: warm-up ({self.warmup} campaigns)")
            await closed_loop(
                kind_runner(WORKFLOW_KINDS["campaign"], client, tq),
                max(1, self.warmup // 2),
                self.warmup,
            )
            pids = self.stack.pids()
            roles = {"server": pids["server"]}
            roles.update({f"worker-{i}": pid for i, pid in enumerate(self.worker_pids)})
            await asyncio.to_thread(settle, pids["server"])
            rss_before = self._worker_rss()
            monitor = ProcessMonitor(roles).start()
            t0 = time.perf_counter()
            say(f"parked: starting {count} campaigns that the quality gate parks in FAILED")
            # At most `in_flight` campaigns on their way to FAILED at a time: 10,000 started at
            # once would thrash the worker's cache (1,000) with replays and park at ~4/s.
            in_flight = 100
            query = f'WorkflowType="{WORKFLOW_TYPE}" AND CampaignState="FAILED"'
            rss_at_checkpoint, checkpoint = float("nan"), min(checkpoint, count)
            deadline = time.monotonic() + 120 + count  # generous: >= 1 campaign/s
            started, parked, last_report = 0, 0, 0.0
            while parked < count:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {parked} of {count} campaigns parked in time")
                batch = min(count, parked + in_flight) - started
                if batch > 0:
                    await asyncio.gather(
                        *(
                            start_campaign(client, campaign_input(parked=True), task_queue=tq)
                            for _ in range(batch)
                        )
                    )
                    started += batch
                await asyncio.sleep(0.5)
                parked = (await client.count_workflows(query)).count
                if parked >= checkpoint and rss_at_checkpoint != rss_at_checkpoint:
                    rss_at_checkpoint = self._worker_rss()
                    say(f"parked: {parked} parked, worker RSS {rss_at_checkpoint:.0f} MB")
                if time.monotonic() - last_report > 15:
                    last_report = time.monotonic()
                    say(f"parked: {parked}/{count}, worker RSS {self._worker_rss():.0f} MB")
            wall = time.perf_counter() - t0
            await asyncio.to_thread(settle, pids["server"])
            await asyncio.sleep(2)
            usage, _ = monitor.stop()
            rss_after = self._worker_rss()
            say(f"parked: all {count} parked; worker RSS {rss_before:.0f} -> {rss_after:.0f} MB")
            return ParkedResult(
                count=count,
                max_cached_workflows=Settings().max_cached_workflows,
                rss_before_mb=rss_before,
                rss_at_checkpoint_mb=rss_at_checkpoint,
                checkpoint=checkpoint,
                rss_after_mb=rss_after,
                peak_rss_mb=max(u.peak_rss for n, u in usage.items() if n != "server") / MB,
                worker_cpu_ms_per_campaign=sum(u.cpu_s for n, u in usage.items() if n != "server")
                * 1000
                / count,
                server_cpu_ms_per_campaign=usage["server"].cpu_s * 1000 / count,
                park_wall_s=wall,
            )
        finally:
            await asyncio.to_thread(self.stack.stop_workers)

    def _worker_rss(self) -> float:
        import psutil

        return max(rss_bytes(psutil.Process(pid)) for pid in self.worker_pids) / MB


async def history_size(client: Client, kind: str, samples: int = 5) -> dict[str, int]:
    """Events and bytes of the history of a completed campaign of this kind: the median of a few
    (a workflow task that timed out under load adds events to one history, not to the median)."""
    wf_type = WORKFLOW_KINDS[kind].workflow_type
    sizes: list[tuple[int, int]] = []
    async for execution in client.list_workflows(
        f'WorkflowType="{wf_type}" AND ExecutionStatus="Completed"', limit=samples
    ):
        history = await client.get_workflow_handle(execution.id).fetch_history()
        sizes.append((len(history.events), sum(e.ByteSize() for e in history.events)))
    if not sizes:
        return {}
    count, size = sorted(sizes)[len(sizes) // 2]
    return {"events": count, "bytes": size}


VISIBILITY_WRITES = (
    "RecordWorkflowExecutionStarted",
    "UpsertWorkflowExecution",
    "RecordWorkflowExecutionClosed",
)


def server_ops(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """Per campaign: every persistence operation of the server, its visibility writes, and the
    two reads the dev server's forced search-attribute refresh makes (see docs/performance.md)."""
    delta = {k: after[k] - before.get(k, 0.0) for k in after}

    def total(pred: Callable[[str, str], bool]) -> float:
        return sum(v for k, v in delta.items() if pred(*k.split(":", 1))) / count

    return {
        "persistence": total(lambda m, op: m == "persistence_requests"),
        "visibility_writes": total(
            lambda m, op: m == "visibility_persistence_requests" and op in VISIBILITY_WRITES
        ),
        "cluster_metadata_reads": total(lambda m, op: op == "GetCurrentClusterMetadata"),
        "namespace_reads": total(lambda m, op: op == "GetNamespace"),
    }


def _per_role(
    usage: dict[str, Usage],
    value: Callable[[Usage], float],
    combine: Callable[[list[float]], float],
) -> dict[str, float]:
    """server / services as they are; every worker-i process combined into `worker`."""
    out: dict[str, float] = {}
    workers: list[float] = []
    for name, u in usage.items():
        if name.startswith("worker"):
            workers.append(value(u))
        else:
            out[name] = value(u)
    if workers:
        out["worker"] = combine(workers)
    return out


def _self_pid() -> int:
    import os

    return os.getpid()


async def run_all(
    stack: BenchStack,
    *,
    kinds: Sequence[str],
    rounds: int,
    workers: int,
    n: int,
    sequential: int,
    warmup: int,
    sweep_levels: Sequence[int],
    parked: int,
    drain_s: float = 32.0,
) -> tuple[dict[str, list[KindResult]], ParkedResult | None]:
    c = stack.config
    client = await connect(target_host=c.temporal_address, namespace="default")
    bench = Bench(stack, workers, n, sequential, warmup, sweep_levels, drain_s)
    results: dict[str, list[KindResult]] = {k: [] for k in kinds}
    settings = Settings(**{f"{s.value}_url": c.services_url for s in ServiceName})  # type: ignore[arg-type]
    async with create_http_client(settings) as http:
        # The asyncio baseline starts N campaigns at once on one pool, with at most as many calls
        # in flight as a worker has activity slots: waiting for a slot is queueing, not failure.
        http.timeout = httpx.Timeout(
            settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds, pool=None
        )
        services = SlotBoundServiceClient(
            http,
            {s: c.services_url for s in ServiceName},
            slots=settings.max_concurrent_activities,
        )
        for r in range(rounds):
            # Alternate the order so neither kind always runs on the fuller database.
            order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
            for kind in order:
                say(f"round {r + 1}/{rounds}: {kind}")
                results[kind].append(await bench.run_kind(kind, client, services))
    parked_result = await bench.run_parked(client, parked) if parked else None
    return results, parked_result


def median_phase(phases: list[Phase]) -> Phase:
    """The phase whose throughput is the median (keeps a consistent set of figures)."""
    ordered = sorted(phases, key=lambda p: p.throughput)
    return ordered[len(ordered) // 2]


def median_result(kind: str, rounds: list[KindResult]) -> KindResult:
    out = KindResult(kind)
    seq = [r.sequential for r in rounds if r.sequential]
    if seq:
        out.sequential = sorted(seq, key=lambda p: statistics.median(p.latencies_ms))[len(seq) // 2]
    bursts = [r.burst for r in rounds if r.burst]
    if bursts:
        out.burst = median_phase(bursts)
    out.sweep = rounds[0].sweep if rounds else []
    out.history = rounds[0].history if rounds else {}
    return out
