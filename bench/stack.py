"""The benchmark's own stack: a dev server, the reference services and worker processes.

Everything on free loopback ports under a fresh directory; nothing shared with `make demo`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.dev_server import dev_server_command
from devstack.processes import ManagedProcess, file_size, free_port, port_open, read_from
from devstack.stack import DevStack, StackConfig, wait_for_temporal

WORKER_READY = b"bench_worker_ready"


def exit_on_sigterm(signum: int, frame: object) -> None:
    """For signal.signal(SIGTERM, ...): unwinds through the `finally` that stops the stack."""
    raise SystemExit(128 + signum)


@dataclass
class BenchStack:
    tuned: bool = True
    server_flags: Sequence[str] = ()
    worker_args: Sequence[str] = ()
    worker_env: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = None
    keep: bool = False
    task_queue: str = "bench"
    config: StackConfig = field(init=False)
    stack: DevStack = field(init=False)
    workers: list[ManagedProcess] = field(default_factory=list)
    metrics_port: int = field(init=False)
    _made_dir: bool = False

    def __post_init__(self) -> None:
        if self.run_dir is None:
            self.run_dir = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
            self._made_dir = True
        self.config = StackConfig(
            run_dir=self.run_dir,
            temporal_port=free_port(),
            ui_port=None,
            services_port=free_port(),
            task_queue=self.task_queue,
            tuned=self.tuned,
        )
        self.stack = DevStack(self.config)
        self.metrics_port = free_port()

    @property
    def server_command(self) -> list[str]:
        c = self.config
        cmd = dev_server_command(
            c.run_dir / "temporal.db", port=c.temporal_port, ui_port=None, tuned=self.tuned
        )
        return [*cmd, "--metrics-port", str(self.metrics_port), *self.server_flags]

    def server_counters(self) -> dict[str, float]:
        """The server's own counts of persistence and visibility operations (Prometheus), by
        operation. Unlike CPU time they do not move with the machine's other load."""
        return scrape_counters(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def up(self) -> None:
        """Dev server and reference services (zero latency, quiet logs). Blocking."""
        c = self.config
        self.stack.server.start(self.server_command)
        self.stack.server.wait_until(lambda: port_open(c.temporal_port), 60, "gRPC port")
        asyncio.run(wait_for_temporal(c.temporal_address))
        self.stack.start_services(env={"REFSVC_LOG_LEVEL": "WARNING"})
        # Instant services whatever REFSVC_* the environment holds: reset every fault knob.
        httpx.put(f"{c.services_url}/admin/faults", json={}, timeout=10).raise_for_status()

    def start_workers(self, count: int, extra_args: Sequence[str] = ()) -> list[int]:
        """`count` worker processes on the task queue; returns their pids once all poll."""
        self.stop_workers()
        env = {
            **self.config.worker_env(),
            "CAMPAIGN_LOG_FORMAT": "json",
            "CAMPAIGN_LOG_LEVEL": "INFO",
            **self.worker_env,
        }
        offsets = []
        for i in range(count):
            proc = ManagedProcess(f"worker-{i}", self.config.run_dir)
            offsets.append(file_size(proc.log_file))
            proc.start(
                [
                    sys.executable,
                    "-m",
                    "bench.worker",
                    "--task-queue",
                    self.task_queue,
                    *self.worker_args,
                    *extra_args,
                ],
                env=env,
            )
            self.workers.append(proc)
        for proc, offset in zip(self.workers, offsets, strict=True):
            proc.wait_until(
                lambda p=proc, o=offset: WORKER_READY in read_from(p.log_file, o),
                60,
                "'bench_worker_ready' log line",
            )
        return [pid for pid in (p.pid() for p in self.workers) if pid is not None]

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.stop()
        self.workers = []

    def pids(self) -> dict[str, int]:
        server, services = self.stack.server.pid(), self.stack.services.pid()
        if server is None or services is None:
            raise RuntimeError("the dev server or the reference services are not running")
        return {"server": server, "services": services}

    def down(self) -> None:
        self.stop_workers()
        self.stack.down()
        if self._made_dir and not self.keep and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)


COUNTED = ("persistence_requests", "visibility_persistence_requests")


def scrape_counters(url: str) -> dict[str, float]:
    """`metric:operation` -> value, summed over the other labels, for the COUNTED metrics."""
    text = httpx.get(url, timeout=10).text
    totals: dict[str, float] = {}
    for line in text.splitlines():
        name, brace, rest = line.partition("{")
        if not brace or name not in COUNTED:
            continue
        labels, _, value = rest.rpartition("} ")
        operation = ""
        for part in labels.split(","):
            key, _, quoted = part.partition("=")
            if key == "operation":
                operation = quoted.strip('"')
        try:
            totals[f"{name}:{operation}"] = totals.get(f"{name}:{operation}", 0.0) + float(value)
        except ValueError:
            continue
    return totals


def filesystem_of(path: Path) -> str:
    """The filesystem type holding `path` (tmpfs makes fsync free: numbers would flatter)."""
    import psutil

    best, fstype = "", "unknown"
    target = os.path.realpath(path)
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint
        if target.startswith(mount) and len(mount) > len(best):
            best, fstype = mount, part.fstype
    return fstype
