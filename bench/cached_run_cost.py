"""What one campaign in the worker's cache costs, by workflow runner: memory and CPU per run.

    python -m bench.cached_run_cost [--campaigns 500]

Starts the bench's dev server, then one fresh process per runner, each with a worker built by
`build_workers` in it: the sandbox as the worker runs it (one shared copy of the workflow
modules' code), the sandbox loading the modules from file for every run (a plain Worker), and
no sandbox (CAMPAIGN_WORKFLOW_SANDBOX=false). Each process starts `--campaigns` campaigns that
wait in IDLE for a `start` signal (one workflow task each, and then they sit in the cache), and
reports its RSS growth and CPU (all threads, the client's share included) per campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import subprocess
import sys
import uuid

import httpx
import psutil

from bench.procmon import cpu_seconds, rss_bytes
from bench.runner import brief, say
from bench.stack import BenchStack, exit_on_sigterm
from contracts import WORKFLOW_TYPE, CampaignInput, workflow_id_for
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import connect
from orchestrator_worker.service_wiring import create_activities
from orchestrator_worker.worker_factory import build_workers, workflow_runner

RUNNERS = {
    "sandbox": "the sandbox, shared code (the default)",
    "sandbox-from-file": "the sandbox, modules loaded from file",
    "no-sandbox": "no sandbox",
}
WARMUP = 20


async def one_runner(runner: str, address: str, campaigns: int) -> dict[str, float]:
    """In this process: a worker with `runner`, `campaigns` cached campaigns; the cost of each."""
    client = await connect(target_host=address, namespace="default")
    settings = Settings(max_cached_workflows=campaigns + WARMUP)
    task_queue = f"cached-{uuid.uuid4()}"
    async with httpx.AsyncClient() as http:
        worker = build_workers(
            client,
            settings,
            create_activities(settings, http),
            task_queue=task_queue,
            workflow_runner=workflow_runner(runner != "no-sandbox"),
            shared_code=runner == "sandbox",
        )
        async with worker:

            async def park_in_idle(count: int) -> None:
                for _ in range(count):
                    campaign_id = uuid.uuid4()
                    await client.start_workflow(
                        WORKFLOW_TYPE,
                        CampaignInput(
                            campaign_id=campaign_id, brief=brief(), start_immediately=False
                        ),
                        id=workflow_id_for(campaign_id),
                        task_queue=task_queue,
                    )
                query = f"TaskQueue = '{task_queue}' AND CampaignState = 'IDLE'"
                idle = 0
                while idle < count:  # each has run its first workflow task: it is cached
                    await asyncio.sleep(0.5)
                    idle = (await client.count_workflows(query)).count

            me = psutil.Process()
            await park_in_idle(WARMUP)
            gc.collect()
            rss_before, cpu_before = rss_bytes(me), cpu_seconds(me)
            await park_in_idle(WARMUP + campaigns)
            cpu_after = cpu_seconds(me)
            gc.collect()
            rss_after = rss_bytes(me)
    return {
        "kb_rss_per_campaign": (rss_after - rss_before) / 1024 / campaigns,
        "cpu_ms_per_campaign": (cpu_after - cpu_before) * 1000 / campaigns,
    }


def measure(campaigns: int) -> None:
    stack = BenchStack()
    stack.stack.start_server()
    try:
        print(f"{campaigns} campaigns cached in IDLE, per campaign:")
        print(f"  {'runner':42s} {'KB of RSS':>10} {'CPU ms':>7}")
        for runner, label in RUNNERS.items():
            say(f"{campaigns} campaigns, {label}")
            done = subprocess.run(
                [sys.executable, "-m", "bench.cached_run_cost", "--runner", runner,
                 "--address", stack.config.temporal_address, "--campaigns", str(campaigns)],
                capture_output=True, text=True, check=False, timeout=900,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"{runner}: exit {done.returncode}\n{done.stderr[-3000:]}")
            cost = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"  {label:42s} {cost['kb_rss_per_campaign']:10.1f}"
                f" {cost['cpu_ms_per_campaign']:7.2f}"
            )
    finally:
        say("stopping the stack")
        stack.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cached_run_cost", description=__doc__)
    parser.add_argument("--campaigns", type=int, default=500)
    parser.add_argument("--runner", choices=RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if args.runner:  # one runner, in this fresh process: one JSON line
        print(json.dumps(asyncio.run(one_runner(args.runner, args.address, args.campaigns))))
    else:
        measure(args.campaigns)
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())  # see orchestrator_connection.process_exit
