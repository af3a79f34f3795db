"""A benchmark worker process: CampaignWorkflow and the bench's workflows on one task queue.

    python -m bench.worker --task-queue Q [--option KEY=JSON ...]

Built by `orchestrator_worker.worker_factory.build_workers` and run by
`orchestrator_worker.run_loop.run_until_signalled`, exactly like `worker.py`, plus the floor and
the diagnostic workflows. Connection and services come from the environment (TEMPORAL_ADDRESS,
CAMPAIGN_*_URL), as for the real worker. Logs `bench_worker_ready` once it polls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import structlog

from bench.bare import BareWorkflow, bare_step
from bench.floor import FloorWorkflow
from bench.variants import QuietCampaignWorkflow, SingleQueueCampaignWorkflow
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.settings import Settings
from orchestrator_connection.temporal_client import connect
from orchestrator_worker.log_setup import configure_logging
from orchestrator_worker.run_loop import run_until_signalled
from workflows import CampaignWorkflow

log = structlog.get_logger("bench.worker")


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`KEY=JSON` pairs into Worker keyword arguments (a bare word is taken as a string)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


async def run(task_queue: str, options: dict[str, Any]) -> None:
    settings = Settings()
    client = await connect()
    await run_until_signalled(
        client,
        settings,
        started=lambda worker: log.info(
            "bench_worker_ready", task_queue=task_queue, options=sorted(options)
        ),
        task_queue=task_queue,
        workflows=[
            CampaignWorkflow,
            FloorWorkflow,
            QuietCampaignWorkflow,
            SingleQueueCampaignWorkflow,
            BareWorkflow,
        ],
        extra_activities=[bare_step],
        **options,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--option", action="append", default=[], help="Worker KEY=JSON")
    args = parser.parse_args(argv)
    options = parse_options(args.option)
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run(args.task_queue, options))
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())  # see orchestrator_connection.process_exit
