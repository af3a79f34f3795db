"""`python -m bench`: brings up its own dev server, reference services and workers, measures
CampaignWorkflow against the floor and plain asyncio, prints the table, and tears it all down.

    .venv/bin/python -m bench                     # the table (N=500, 50 one at a time)
    .venv/bin/python -m bench --json              # the same as one JSON document on stdout
    .venv/bin/python -m bench --workers 2         # two worker processes on one task queue
    .venv/bin/python -m bench --plot bench.png    # + a concurrency sweep, plotted
    .venv/bin/python -m bench --parked 10000 --kinds none   # worker memory of parked campaigns
    .venv/bin/python -m bench --realistic         # real latencies: queues, outage, fairness
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts import ServiceName
from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.temporal_client import connect
from program_setup.extras import exit_for_missing_extra

try:
    import psutil

    from bench.realistic import PROFILE_MS, RealisticConfig, realistic_text, run_realistic
    from bench.report import parked_text, plot, ratios, table, targets, targets_text
    from bench.runner import ALL_KINDS, KINDS, median_result, run_all, say
    from bench.stack import BenchStack, exit_on_sigterm, filesystem_of
    from devstack.dev_server import FAIRNESS_FLAGS, TUNED_FLAGS
except ModuleNotFoundError as err:  # psutil (and matplotlib for --plot): the bench extra
    exit_for_missing_extra(err, "bench", "python -m bench")

DEFAULT_SWEEP = (1, 10, 25, 50, 100, 250, 500)


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,10,50, got {text!r}") from None
    if any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("concurrency levels must be >= 1")
    return levels


def _kinds(text: str) -> tuple[str, ...]:
    if text in ("", "none"):
        return ()
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown kinds {bad}; choose from {', '.join(ALL_KINDS)}")
    return kinds


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _per_service(kind: type[int] | type[float]) -> Callable[[str], dict[ServiceName, Any]]:
    def parse(text: str) -> dict[ServiceName, Any]:
        out: dict[ServiceName, Any] = {}
        for part in (p.strip() for p in text.split(",") if p.strip()):
            name, sep, value = part.partition("=")
            try:
                service = ServiceName(name.strip())
                number = kind(value)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected service=number pairs like content=24, got {part!r}; services: "
                    + ", ".join(s.value for s in ServiceName)
                ) from None
            if not sep or number < 0 or (kind is float and number == 0):
                raise argparse.ArgumentTypeError(f"expected a positive number in {part!r}")
            out[service] = number
        return out

    return parse


def _drills(text: str) -> tuple[str, ...]:
    drills = tuple(d.strip() for d in text.split(",") if d.strip() and d.strip() != "none")
    bad = [d for d in drills if d not in ("outage", "fairness")]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown drills {bad}; choose from outage, fairness")
    return drills


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="CampaignWorkflow vs Temporal's floor vs plain asyncio, on its own stack.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument(
        "-n", "--n", type=_positive, default=None, help="started at once (500; --realistic 2000)"
    )
    p.add_argument(
        "--sequential", type=_positive, default=50, help="run one at a time for latency (50)"
    )
    p.add_argument("--warmup", type=_positive, default=20, help="unmeasured, per kind (20)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes (1)")
    p.add_argument(
        "--rounds", type=_positive, default=1, help="repeat, alternating order; medians (1)"
    )
    p.add_argument(
        "--kinds",
        type=_kinds,
        default=KINDS,
        help="comma-separated subset of campaign,floor,asyncio, or the diagnostics campaign-quiet "
        "(the campaign without its search-attribute upserts), campaign-one-queue (every step on "
        "the workflow's own queue, as before the service queues) and bare (six activities that "
        "make no HTTP call); 'none' to skip (the first three)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--json-file", type=Path, metavar="FILE", help="also write the JSON document to FILE"
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="also sweep concurrency (--sweep) and plot throughput and latency to PNG",
    )
    p.add_argument(
        "--sweep",
        type=_levels,
        default=None,
        help="campaigns in flight at each sweep step, each step running max(3 x level, "
        f"min(30, N)) campaigns (with --plot: {','.join(map(str, DEFAULT_SWEEP))})",
    )
    p.add_argument(
        "--parked",
        type=int,
        default=0,
        metavar="N",
        help="also park N campaigns in FAILED and report the worker's RSS before and after",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=32.0,
        metavar="SECONDS",
        help="after each measured phase, wait this long for the server's deferred work (timer "
        "tasks of the 30 s activity timeouts) and count its CPU (32)",
    )
    real = p.add_argument_group(
        "real latencies (--realistic): single queue vs per-service queues, outage and fairness "
        "drills; docs/performance.md"
    )
    real.add_argument(
        "--realistic",
        action="store_true",
        help="run the realistic benchmark instead of the CPU table (-n defaults to 2000)",
    )
    defaults = RealisticConfig()
    real.add_argument(
        "--profile",
        type=_per_service(int),
        default=PROFILE_MS,
        metavar="SVC=MS,...",
        help="each service's latency in ms ("
        + ",".join(f"{s.value}={ms}" for s, ms in PROFILE_MS.items())
        + ")",
    )
    real.add_argument(
        "--single-queue-slots",
        type=_positive,
        default=defaults.single_queue_slots,
        help=f"activity slots of the single queue ({defaults.single_queue_slots})",
    )
    real.add_argument(
        "--service-slots",
        type=_per_service(int),
        default=dict(defaults.service_slots),
        metavar="SVC=N,...",
        help="slots per service queue; the others keep the setting's default (content=24)",
    )
    real.add_argument(
        "--service-rates",
        type=_per_service(float),
        default=dict(defaults.service_rates),
        metavar="SVC=PER_S,...",
        help="max_task_queue_activities_per_second per service queue (publisher=20)",
    )
    real.add_argument(
        "--publisher-limit",
        type=float,
        default=defaults.publisher_limit,
        help="the publisher's own limit: it answers 429 beyond this many calls a second (20)",
    )
    real.add_argument(
        "--outage-n", type=_positive, default=defaults.outage_n, help="campaigns (1000)"
    )
    real.add_argument(
        "--outage-seconds",
        type=float,
        default=defaults.outage_s,
        help="the publisher stays down at least this long, and until all reach PUBLISH (60)",
    )
    real.add_argument(
        "--brand-b", type=_positive, default=defaults.brand_b, help="brand B's campaigns (20)"
    )
    real.add_argument(
        "--history-sample",
        type=_positive,
        default=defaults.history_sample,
        help="histories read for schedule-to-start latencies, per load (400)",
    )
    real.add_argument(
        "--drills",
        type=_drills,
        default=defaults.drills,
        help="outage,fairness (both), one of them, or none",
    )
    server = p.add_argument_group("server and worker experiments")
    server.add_argument(
        "--untuned",
        action="store_true",
        help="the dev server as `temporal server start-dev` starts it (no TUNED_FLAGS)",
    )
    server.add_argument(
        "--server-flag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra --dynamic-config-value KEY=VALUE for the dev server (repeatable)",
    )
    server.add_argument(
        "--sqlite-pragma",
        action="append",
        default=[],
        metavar="PRAGMA=VALUE",
        help="extra --sqlite-pragma for the dev server (repeatable)",
    )
    server.add_argument(
        "--worker-option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="extra Worker(...) keyword argument, e.g. max_cached_workflows=100 (repeatable)",
    )
    server.add_argument(
        "--unsandboxed",
        action="store_true",
        help="workers without the workflow sandbox (CAMPAIGN_WORKFLOW_SANDBOX=false)",
    )
    server.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment of the worker processes, e.g. CAMPAIGN_MAX_CACHED_WORKFLOWS=100",
    )
    server.add_argument("--run-dir", type=Path, help="where the server's database and logs go")
    server.add_argument("--keep", action="store_true", help="keep the run directory")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.realistic:
        return realistic_main(args, argv)
    args.n = args.n or 500
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    sweep = args.sweep if args.sweep is not None else (DEFAULT_SWEEP if args.plot else ())
    server_flags, worker_args = _server_flags(args), _worker_args(args)
    if args.run_dir:
        args.run_dir.mkdir(parents=True, exist_ok=True)
    stack = _stack(args, server_flags, worker_args)
    assert stack.run_dir is not None
    fstype = filesystem_of(stack.run_dir)
    if fstype == "tmpfs":
        say(f"warning: {stack.run_dir} is on tmpfs: fsync is free there, numbers flatter")
    load_before = os.getloadavg()
    started = time.time()
    try:
        say(f"starting the stack in {stack.run_dir}")
        stack.up()
        raw, parked = asyncio.run(
            run_all(
                stack,
                kinds=args.kinds,
                rounds=args.rounds,
                workers=args.workers,
                n=args.n,
                sequential=args.sequential,
                warmup=args.warmup,
                sweep_levels=sweep,
                parked=args.parked,
                drain_s=args.drain,
            )
        )
    finally:
        say("stopping the stack")
        stack.down()
    results = {kind: median_result(kind, rounds) for kind, rounds in raw.items()}

    document: dict[str, Any] = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
            "run_dir_filesystem": fstype,
        },
        "config": {
            "n": args.n,
            "sequential": args.sequential,
            "warmup": args.warmup,
            "workers": args.workers,
            "rounds": args.rounds,
            "drain_s": args.drain,
            "server_flags": list(FAIRNESS_FLAGS) + ([] if args.untuned else list(TUNED_FLAGS)),
            "extra_server_flags": server_flags,
            "worker_args": worker_args,
            "worker_env": args.worker_env,
        },
        "elapsed_s": round(time.time() - started, 1),
        "results": {kind: r.summary() for kind, r in results.items()},
        "rounds": {kind: [r.summary() for r in rs] for kind, rs in raw.items()},
        "ratios_campaign_over_floor": ratios(results),
        "targets": targets(results, parked, args.n),
        "parked": parked.summary() if parked else None,
    }
    if args.plot and any(r.sweep for r in results.values()):
        document["plot"] = str(plot(results, args.plot))
    if args.json_file:
        args.json_file.write_text(json.dumps(document, indent=2) + "\n")
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(_text(document, results, parked, args))
    return 0


def _stack(args: argparse.Namespace, server_flags: list[str], worker_args: list[str]) -> BenchStack:
    return BenchStack(
        tuned=not args.untuned,
        server_flags=server_flags,
        worker_args=worker_args,
        worker_env={
            **({"CAMPAIGN_WORKFLOW_SANDBOX": "false"} if args.unsandboxed else {}),
            **dict(_pair(v) for v in args.worker_env),
        },
        run_dir=args.run_dir,
        keep=args.keep or args.run_dir is not None,
    )


def realistic_main(args: argparse.Namespace, argv: list[str] | None) -> int:
    """`--realistic`: both loads and the drills on one stack, then the table."""
    config = RealisticConfig(
        profile_ms=args.profile,
        n=args.n or 2000,
        single_queue_slots=args.single_queue_slots,
        service_slots=args.service_slots,
        service_rates=args.service_rates,
        publisher_limit=args.publisher_limit,
        outage_n=args.outage_n,
        outage_s=args.outage_seconds,
        brand_b=args.brand_b,
        history_sample=args.history_sample,
        drills=args.drills,
    )
    server_flags, worker_args = _server_flags(args), _worker_args(args)
    if args.run_dir:
        args.run_dir.mkdir(parents=True, exist_ok=True)
    stack = _stack(args, server_flags, worker_args)
    assert stack.run_dir is not None
    load_before = os.getloadavg()
    started = time.time()

    async def run() -> dict[str, Any]:
        c = stack.config
        client = await connect(target_host=c.temporal_address, namespace="default")
        return await run_realistic(stack, client, config, args.workers)

    try:
        say(f"starting the stack in {stack.run_dir}")
        stack.up()
        measured = asyncio.run(run())
    finally:
        say("stopping the stack")
        stack.down()
    document: dict[str, Any] = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
            "run_dir_filesystem": filesystem_of(stack.run_dir),
        },
        "config": {
            **config.summary(),
            "workers": args.workers,
            "server_flags": list(FAIRNESS_FLAGS) + ([] if args.untuned else list(TUNED_FLAGS)),
            "extra_server_flags": server_flags,
        },
        "elapsed_s": round(time.time() - started, 1),
        **measured,
    }
    if args.json_file:
        args.json_file.write_text(json.dumps(document, indent=2) + "\n")
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        m = document["machine"]
        print(
            f"{document['command']}  ({document['elapsed_s']} s; {m['cpus']} CPUs; "
            f"load {m['load_avg_before'][0]} -> {m['load_avg_after'][0]}; "
            f"{args.workers} worker process(es))\n"
        )
        print(realistic_text(document))
    return 0


def _server_flags(args: argparse.Namespace) -> list[str]:
    flags: list[str] = []
    for value in args.server_flag:
        flags += ["--dynamic-config-value", value]
    for value in args.sqlite_pragma:
        flags += ["--sqlite-pragma", value]
    return flags


def _worker_args(args: argparse.Namespace) -> list[str]:
    return [arg for value in args.worker_option for arg in ("--option", value)]


def _text(document: dict[str, Any], results: Any, parked: Any, args: argparse.Namespace) -> str:
    m = document["machine"]
    out = [
        f"{document['command']}  ({document['elapsed_s']} s; {m['cpus']} CPUs; "
        f"load {m['load_avg_before'][0]} -> {m['load_avg_after'][0]}; "
        f"{args.workers} worker process(es); rounds {args.rounds})",
    ]
    noise = [r.burst.other_load_cores for r in results.values() if r.burst is not None]
    if noise:
        out.append(
            f"other processes used {max(noise):.2f} cores during the measured windows "
            "(0 on a quiet machine)"
        )
    if results:
        out += ["", table(results, args.n)]
    r = document["ratios_campaign_over_floor"]
    if r:
        out.append(
            "\ncampaign/floor: " + ", ".join(f"{k} {v}" for k, v in r.items() if v is not None)
        )
    if parked:
        out += ["", parked_text(parked)]
    if document["targets"]:
        out += ["", targets_text(document["targets"])]
    if "plot" in document:
        out.append(f"\nplot: {document['plot']}")
    return "\n".join(out)


if __name__ == "__main__":
    exit_without_finalizing(main())
