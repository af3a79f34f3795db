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
