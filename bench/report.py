"""The table, the ratios, the targets, the JSON document and the plot."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.runner import ALL_KINDS, KindResult, ParkedResult, Phase, percentile

# Targets from the issue: reported by the bench, never asserted by tests.
TARGET_THROUGHPUT_RATIO = 0.9
TARGET_SEQ_P50_MS = 100.0
TARGET_WORKER_CPU_MS = 30.0
TARGET_WORKER_RSS_MB = 200.0


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


Getter = Callable[[KindResult], float | None]


def _seq(q: float) -> Getter:
    return lambda r: percentile(r.sequential.latencies_ms, q) if r.sequential else None


def _burst(fn: Callable[[Phase], float | None]) -> Getter:
    return lambda r: fn(r.burst) if r.burst else None


def rows(n: int) -> list[tuple[str, Getter, int]]:
    return [
        ("one at a time: latency p50 (ms)", _seq(50), 1),
        ("one at a time: latency p95 (ms)", _seq(95), 1),
        (f"{n} at once: campaigns/s", _burst(lambda p: p.throughput), 1),
        (f"{n} at once: latency p50 (ms)", _burst(lambda p: percentile(p.latencies_ms, 50)), 0),
        (f"{n} at once: latency p95 (ms)", _burst(lambda p: percentile(p.latencies_ms, 95)), 0),
        ("server CPU (ms/campaign)", _burst(lambda p: p.cpu_ms.get("server")), 1),
        ("worker CPU (ms/campaign) [1]", _burst(lambda p: p.cpu_ms.get("worker")), 1),
        ("services CPU (ms/campaign)", _burst(lambda p: p.cpu_ms.get("services")), 1),
        ("server + worker CPU (ms/campaign)", _burst(_orchestration_cpu), 1),
        ("server peak RSS (MB)", _burst(lambda p: p.peak_rss_mb.get("server")), 0),
        ("worker peak RSS (MB) [2]", _burst(lambda p: p.peak_rss_mb.get("worker")), 0),
        ("server persistence ops/campaign [3]", _ops("persistence"), 1),
        ("visibility writes/campaign", _ops("visibility_writes"), 1),
        ("history events/campaign", lambda r: r.history.get("events"), 0),
        ("history KB/campaign", lambda r: _kb(r.history.get("bytes")), 1),
    ]


def _ops(name: str) -> Getter:
    return lambda r: r.burst.server_ops.get(name) if r.burst and r.burst.server_ops else None


def _orchestration_cpu(p: Phase) -> float | None:
    """What durability and orchestration cost, the services aside: on a CPU-bound machine
    throughput is its inverse, and it is far less disturbed by other load than throughput."""
    server, worker = p.cpu_ms.get("server"), p.cpu_ms.get("worker")
    return server + worker if server is not None and worker is not None else None


def _kb(value: int | None) -> float | None:
    return value / 1024 if value is not None else None


def table(results: dict[str, KindResult], n: int) -> str:
    kinds = [k for k in ALL_KINDS if k in results]
    width = {k: max(15, len(k) + 1) for k in kinds}
    head = f"{'':36}" + "".join(f"{k:>{width[k]}}" for k in kinds)
    compare = "campaign" in results and "floor" in results
    if compare:
        head += f"{'campaign/floor':>16}"
    lines = [head, "-" * len(head)]
    for label, get, digits in rows(n):
        values = {k: get(results[k]) for k in kinds}
        if all(v is None for v in values.values()):
            continue
        line = f"{label:36}" + "".join(f"{_fmt(values[k], digits):>{width[k]}}" for k in kinds)
        if compare:
            line += f"{_fmt(_ratio(values['campaign'], values['floor']), 2):>16}"
        lines.append(line)
    lines.append("[1] asyncio: CPU of the benchmark process itself, which made the calls.")
    lines.append(f"[2] largest worker process, with up to {n} campaigns in flight.")
    lines.append("[3] counted by the server itself: unmoved by other load on the machine.")
    return "\n".join(lines)


def ratios(results: dict[str, KindResult]) -> dict[str, float | None]:
    c, f = results.get("campaign"), results.get("floor")
    if not c or not f or not c.burst or not f.burst:
        return {}
    out: dict[str, float | None] = {
        "throughput": _ratio(c.burst.throughput, f.burst.throughput),
        "server_cpu": _ratio(c.burst.cpu_ms.get("server"), f.burst.cpu_ms.get("server")),
        "worker_cpu": _ratio(c.burst.cpu_ms.get("worker"), f.burst.cpu_ms.get("worker")),
        "server_plus_worker_cpu": _ratio(_orchestration_cpu(c.burst), _orchestration_cpu(f.burst)),
        "history_events": _ratio(c.history.get("events"), f.history.get("events")),
        "server_persistence_ops": _ratio(
            c.burst.server_ops.get("persistence"), f.burst.server_ops.get("persistence")
        ),
        "history_bytes": _ratio(c.history.get("bytes"), f.history.get("bytes")),
    }
    if c.sequential and f.sequential:
        out["one_at_a_time_p50"] = _ratio(
            percentile(c.sequential.latencies_ms, 50), percentile(f.sequential.latencies_ms, 50)
        )
    return {k: (round(v, 3) if v is not None else None) for k, v in out.items()}


def targets(
    results: dict[str, KindResult], parked: ParkedResult | None, n: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, higher_is_better: bool) -> None:
        met = None
        if value is not None and not math.isnan(value):
            met = value >= limit if higher_is_better else value <= limit
        out.append(
            {
                "target": name,
                "value": round(value, 2) if value is not None else None,
                "limit": limit,
                "met": met,
            }
        )

    c = results.get("campaign")
    r = ratios(results)
    if r.get("throughput") is not None:
        add("throughput campaign/floor >=", r["throughput"], TARGET_THROUGHPUT_RATIO, True)
    cpu_ratio = r.get("server_plus_worker_cpu")
    if cpu_ratio:
        # The same target from CPU cost (floor/campaign): steadier when the machine is busy.
        add(
            "  same, from server+worker CPU (floor/campaign) >=",
            1 / cpu_ratio,
            TARGET_THROUGHPUT_RATIO,
            True,
        )
    if c and c.sequential:
        add(
            "one at a time p50 (ms) <=",
            percentile(c.sequential.latencies_ms, 50),
            TARGET_SEQ_P50_MS,
            False,
        )
    if c and c.burst:
        add(
            "worker CPU (ms/campaign) <=",
            c.burst.cpu_ms.get("worker"),
            TARGET_WORKER_CPU_MS,
            False,
        )
        if n >= 1000:
            add(
                f"worker RSS (MB), {n} in flight <=",
                c.burst.peak_rss_mb.get("worker"),
                TARGET_WORKER_RSS_MB,
                False,
            )
    if parked:
        add(
            f"worker RSS (MB), {parked.checkpoint} parked in flight <=",
            parked.rss_at_checkpoint_mb,
            TARGET_WORKER_RSS_MB,
            False,
        )
        add(
            f"worker RSS growth (MB), {parked.count} parked <=",
            parked.rss_after_mb - parked.rss_before_mb,
            TARGET_WORKER_RSS_MB,
            False,
        )
    return out


def targets_text(items: list[dict[str, Any]]) -> str:
    lines = ["targets (reported, never asserted):"]
    for t in items:
        mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"  {t['target']:48} {t['limit']:>7}   measured {t['value']!s:>9}   {mark}")
    return "\n".join(lines)


def parked_text(p: ParkedResult) -> str:
    return (
        f"parked: {p.count} campaigns in FAILED awaiting a retry "
        f"(max_cached_workflows={p.max_cached_workflows}), parked in {p.park_wall_s:.0f} s\n"
        f"  worker RSS before {p.rss_before_mb:.0f} MB, with {p.checkpoint} parked "
        f"{p.rss_at_checkpoint_mb:.0f} MB, with all {p.count} parked {p.rss_after_mb:.0f} MB "
        f"(peak {p.peak_rss_mb:.0f} MB)\n"
        f"  CPU to park one: worker {p.worker_cpu_ms_per_campaign:.1f} ms, "
        f"server {p.server_cpu_ms_per_campaign:.1f} ms"
    )


def plot(results: dict[str, KindResult], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_l) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, result in results.items():
        points = sorted(result.sweep, key=lambda p: p.concurrency)
        if not points:
            continue
        xs = [p.concurrency for p in points]
        ax_t.plot(xs, [p.throughput for p in points], marker="o", label=kind)
        ax_l.plot(
            xs, [percentile(p.latencies_ms, 50) for p in points], marker="o", label=f"{kind} p50"
        )
        ax_l.plot(
            xs,
            [percentile(p.latencies_ms, 95) for p in points],
            marker="x",
            linestyle="--",
            label=f"{kind} p95",
        )
    for ax in (ax_t, ax_l):
        ax.set_xscale("log")
        ax.set_xlabel("campaigns in flight")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_t.set_ylabel("campaigns/s")
    ax_t.set_yscale("log")
    ax_t.set_title("Throughput")
    ax_l.set_ylabel("latency (ms)")
    ax_l.set_yscale("log")
    ax_l.set_title("Latency")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
