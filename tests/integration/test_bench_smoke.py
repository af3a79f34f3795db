"""The benchmark runs end to end at tiny sizes, so it cannot rot. Speed is the benchmark's business:
this only checks that every measurement completes and reports numbers, never what they are."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_bench_completes_and_reports_numbers(tmp_path: Path) -> None:
    out, err = tmp_path / "bench.json", tmp_path / "bench.log"
    plot = tmp_path / "bench.png"
    cmd = [
        sys.executable, "-m", "bench", "--json",
        "-n", "3", "--sequential", "2", "--warmup", "1",
        "--sweep", "1,2", "--plot", str(plot),
        "--parked", "2", "--drain", "0",
        "--kinds", "campaign,campaign-quiet,floor,bare,asyncio",
        "--run-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    with out.open("w") as stdout, err.open("w") as stderr:
        code = subprocess.run(cmd, cwd=ROOT, stdout=stdout, stderr=stderr, timeout=280).returncode
    assert code == 0, err.read_text()[-3000:]

    doc = json.loads(out.read_text())
    assert set(doc["results"]) == {"campaign", "campaign-quiet", "floor", "bare", "asyncio"}
    for kind, result in doc["results"].items():
        for phase in ("sequential", "burst"):
            summary = result[phase]
            assert summary["count"] > 0, (kind, phase)
            for key in ("throughput_per_s", "latency_p50_ms", "latency_p95_ms"):
                assert _number(summary[key]), (kind, phase, key, summary[key])
            assert _number(summary["cpu_ms_per_campaign"]["worker"]), (kind, phase)
            assert _number(summary["cpu_ms_per_campaign"]["server"]), (kind, phase)
            assert _number(summary["peak_rss_mb"]["worker"]), (kind, phase)
        assert [p["concurrency"] for p in result["sweep"]] == [1, 2]
    events = {k: doc["results"][k]["history"]["events"] for k in ("campaign", "campaign-quiet")}
    assert doc["results"]["floor"]["history"]["events"] > 0
    # The diagnostic really is the campaign minus its search-attribute upserts (one per step).
    assert events["campaign"] - events["campaign-quiet"] == 6, events
    # Bare has the floor's shape (six activities in a row), only without the HTTP calls.
    shapes = {k: doc["results"][k]["history"]["events"] for k in ("floor", "bare")}
    assert shapes["floor"] == shapes["bare"], shapes
    assert _number(doc["ratios_campaign_over_floor"]["throughput"])
    assert {t["target"].split(" (")[0].split(" <")[0] for t in doc["targets"]} >= {
        "one at a time p50",
        "worker CPU",
    }
    parked = doc["parked"]
    assert parked["count"] == 2
    assert _number(parked["rss_before_mb"]) and _number(parked["rss_after_mb"])
    assert plot.stat().st_size > 0
    # Everything the bench started is gone: the run directory's pid files were removed.
    assert not list((tmp_path / "run").glob("*.pid"))


def _run_probe(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_event_gaps_reports_every_workflow_task_and_activity() -> None:
    out = _run_probe("bench.event_gaps", "--kind", "floor", "--runs", "2", "--warmup", "1")
    per_run = {
        line.split()[0]: float(line.split()[1]) for line in out.splitlines()[2:] if line.strip()
    }
    # The floor's shape: seven workflow tasks and six activities per run.
    assert per_run["WORKFLOW_TASK_COMPLETED"] == 7, out
    assert per_run["ACTIVITY_TASK_COMPLETED"] == 6, out


def test_http_client_cost_reports_cpu_per_call() -> None:
    out = _run_probe("bench.http_client_cost", "--calls", "60")
    lines = [line for line in out.splitlines() if "ms CPU per call" in line]
    assert [line.split()[0] for line in lines] == ["1", "50"], out
    for line in lines:
        numbers = [float(w) for w in line.replace(",", " ").split() if w.replace(".", "").isdigit()]
        assert all(math.isfinite(n) and n > 0 for n in numbers[1:]), line


def test_cached_run_cost_reports_every_runner() -> None:
    out = _run_probe("bench.cached_run_cost", "--campaigns", "5")
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) == 3, out
    for row in rows:
        kb, cpu = float(row[-2]), float(row[-1])
        assert math.isfinite(kb) and math.isfinite(cpu) and cpu > 0, row


def test_the_realistic_bench_runs_both_loads_and_both_drills(tmp_path: Path) -> None:
    """`--realistic` at tiny sizes: every phase completes, the single queue really is one queue
    and the per-service load really uses the service queues, each campaign's side effects happen
    once, and the drills count what they must. No timing is checked."""
    out, err = tmp_path / "realistic.json", tmp_path / "realistic.log"
    cmd = [
        sys.executable, "-m", "bench", "--realistic", "--json",
        "-n", "12", "--outage-n", "8", "--outage-seconds", "3", "--brand-b", "3",
        "--history-sample", "6", "--single-queue-slots", "4", "--service-slots", "content=3",
        "--publisher-limit", "10000",
        "--profile", "radar=20,strategy=50,content=200,quality=20,publisher=20,learning=20",
        "--run-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    with out.open("w") as stdout, err.open("w") as stderr:
        code = subprocess.run(cmd, cwd=ROOT, stdout=stdout, stderr=stderr, timeout=400).returncode
    assert code == 0, err.read_text()[-3000:]

    doc = json.loads(out.read_text())
    loads = doc["loads"]
    assert set(loads) == {"single-queue", "per-service"}
    for name, load in loads.items():
        assert load["completed"] == 12, (name, load)
        assert set(load["effects"].values()) == {12}, (name, load["effects"])  # one per service
        assert load["duplicates"] == 0
        for service, s2s in load["schedule_to_start_ms"].items():
            assert s2s["samples"] == 6 and _number(s2s["p95"]), (name, service, s2s)
        for key in ("throughput_per_s", "throughput_over_ideal", "ideal_per_s"):
            assert _number(load[key]), (name, key)
        assert _number(load["cpu_ms_per_campaign"]["worker"]) and _number(
            load["peak_rss_mb"]["worker"]
        )
    assert loads["single-queue"]["step_task_queues"] == ["bench"]
    assert loads["per-service"]["step_task_queues"] == sorted(
        f"bench-{s}" for s in ("radar", "strategy", "content", "quality", "publisher", "learning")
    )
    assert loads["per-service"]["bottleneck"] == "content: 3 slots x 0.2 s"

    unattended, held = doc["outage"]["unattended"], doc["outage"]["held"]
    for drill in (unattended, held):
        assert drill["publications"] == 8 and drill["completed"] == 8, drill
        assert drill["duplicates"] == 0
        assert drill["publisher_calls"] >= drill["publications"] + drill["calls_while_down"]
    assert unattended["calls_while_down"] >= 1  # every campaign reached the down publisher
    assert held["hold_after_s"] is not None
    fairness = doc["fairness"]
    assert _number(fairness["b_alone_ms"]["p95"]) and _number(fairness["b_beside_a_ms"]["p95"])
    for when, went in fairness["b_time_per_campaign_ms"].items():
        assert went["activity_run"] >= 6 * 20, (when, went)  # six steps of >= 20 ms each
        assert went["workflow_task_run"] > 0 and went["workflow_task_wait"] >= 0, (when, went)
    assert {t["target"].split(":")[0].split(" (")[0] for t in doc["targets"]} >= {
        "fast steps' schedule-to-start p95 <= 200 ms, content saturated",
        "single-queue",
        "per-service",
        "outage",
        "fairness",
        "0 duplicates everywhere",
    }
    assert not list((tmp_path / "run").glob("*.pid"))
