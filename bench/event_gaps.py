"""Where one campaign's wall time goes: the gap before each history event, one at a time.

    python -m bench.event_gaps [--kind campaign|campaign-quiet|floor|bare] [--runs 10]

Brings up the bench's own stack (dev server, instant services, one worker), runs `--runs`
workflows of the kind one after another, and prints, per event type, how many there are per run
and the median and total gap (server timestamps) from the previous event. The gap before
WorkflowTaskCompleted is the worker's turn on a workflow task plus the server recording it; before
ActivityTaskCompleted, the activity (an HTTP call for campaign and floor) plus its report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import time
from collections import defaultdict

from temporalio.api.enums.v1 import EventType

from bench.runner import WORKFLOW_KINDS, say
from bench.stack import BenchStack, exit_on_sigterm
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.temporal_client import connect


async def measure(kind: str, runs: int, warmup: int) -> None:
    start = WORKFLOW_KINDS[kind].start
    stack = BenchStack()
    await asyncio.to_thread(stack.up)
    try:
        os.environ.update(stack.config.worker_env())
        client = await connect()
        await asyncio.to_thread(stack.start_workers, 1)
        for _ in range(warmup):
            await (await start(client, stack.task_queue)).result()
        gaps: dict[str, list[float]] = defaultdict(list)
        walls: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            handle = await start(client, stack.task_queue)
            await handle.result()
            walls.append((time.perf_counter() - t0) * 1000)
            events = (await handle.fetch_history()).events
            for before, event in itertools.pairwise(events):
                name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
                gap = event.event_time.ToDatetime() - before.event_time.ToDatetime()
                gaps[name].append(gap.total_seconds() * 1000)
        print(f"{kind}: {runs} one at a time, wall p50 {statistics.median(walls):.1f} ms")
        print(f"  {'event type':40s} {'per run':>8} {'median gap ms':>14} {'ms per run':>11}")
        for name, values in sorted(gaps.items(), key=lambda kv: -sum(kv[1])):
            print(
                f"  {name:40s} {len(values) / runs:8.0f} {statistics.median(values):14.2f}"
                f" {sum(values) / runs:11.1f}"
            )
    finally:
        say("stopping the stack")
        stack.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.event_gaps", description=__doc__)
    parser.add_argument("--kind", choices=tuple(WORKFLOW_KINDS), default="campaign")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    asyncio.run(measure(args.kind, args.runs, args.warmup))
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())  # see orchestrator_connection.process_exit
