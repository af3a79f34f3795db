"""How fast the operator's commands answer, process start to exit, next to the `temporal` CLI.

    python -m bench.cli_start [--runs 20] [--json]

Starts the bench's dev server (no worker: the commands timed here need none) with two campaigns
in it: one that ended (`status` reads one DescribeWorkflowExecution) and one running in IDLE on a
task queue nobody polls (`status` also asks DescribeTaskQueue, and says no worker polls). Then
runs each command `--runs` times, one after another, with no CAMPAIGN_* settings, and reports
the wall time of each: min, median and p90.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.runner import brief, say
from bench.stack import BenchStack, exit_on_sigterm
from contracts import WORKFLOW_TYPE, CampaignInput, workflow_id_for
from devstack.binaries import temporal_cli
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.temporal_client import connect

CAMPAIGN = str(Path(sys.executable).with_name("campaign"))


async def two_campaigns(address: str) -> tuple[str, str]:
    """An ended campaign and one running in IDLE (no worker polls its queue)."""
    client = await connect(target_host=address, namespace="default")
    ids = []
    for _ in range(2):
        campaign_id = uuid.uuid4()
        await client.start_workflow(
            WORKFLOW_TYPE,
            CampaignInput(campaign_id=campaign_id, brief=brief(), start_immediately=False),
            id=workflow_id_for(campaign_id),
            task_queue=f"cli-start-{uuid.uuid4()}",
        )
        ids.append(workflow_id_for(campaign_id))
    await client.get_workflow_handle(ids[0]).terminate("bench.cli_start: an ended campaign")
    return ids[0], ids[1]


def commands(address: str, ended: str, running: str) -> dict[str, list[str]]:
    at = ["--address", address]
    return {
        "campaign --help": [CAMPAIGN, "--help"],
        "campaign status <ended>": [CAMPAIGN, "status", ended, *at],
        "campaign status <running>": [CAMPAIGN, "status", running, *at],
        "campaign status <ended> --json": [CAMPAIGN, "status", ended, "--json", *at],
        "campaign list --limit 1": [CAMPAIGN, "list", "--limit", "1", *at],
        "temporal workflow describe": [temporal_cli(), "workflow", "describe", "-w", ended, *at],
    }


def time_one(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False, timeout=60)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr.decode()}")
    return took


def measure(runs: int) -> dict[str, dict[str, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "TEMPORAL_"))}
    stack = BenchStack()
    stack.stack.start_server()
    try:
        address = stack.config.temporal_address
        ended, running = asyncio.run(two_campaigns(address))
        results = {}
        for name, argv in commands(address, ended, running).items():
            say(f"{name}: {runs} runs")
            time_one(argv, env)  # unmeasured: warms the file cache
            times = sorted(time_one(argv, env) for _ in range(runs))
            results[name] = {
                "min_s": times[0],
                "median_s": statistics.median(times),
                "p90_s": times[max(0, int(len(times) * 0.9) - 1)],
            }
        return results
    finally:
        say("stopping the stack")
        stack.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="runs per command (20)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    results = measure(args.runs)
    if args.json:
        print(json.dumps({"runs": args.runs, "commands": results}, indent=2))
    else:
        print(f"wall time, process start to exit ({args.runs} runs each):")
        print(f"  {'command':32s} {'min':>6} {'median':>7} {'p90':>6}")
        for name, r in results.items():
            print(f"  {name:32s} {r['min_s']:6.2f} {r['median_s']:7.2f} {r['p90_s']:6.2f}")
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())
