"""The local stack: dev server, reference services and a worker, each a background process.

`up()` is idempotent: processes already running (by pid file) are reused.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts import ServiceName
from devstack.dev_server import dev_server_command
from devstack.processes import ManagedProcess, ProcessFailedError, file_size, port_open, read_from


@dataclass
class StackConfig:
    run_dir: Path = field(default_factory=lambda: Path(os.environ.get("DEVSTACK_DIR", ".run")))
    temporal_port: int = int(os.environ.get("DEVSTACK_TEMPORAL_PORT", "7233"))
    ui_port: int | None = int(os.environ.get("DEVSTACK_UI_PORT", "8233"))
    services_port: int = int(os.environ.get("DEVSTACK_SERVICES_PORT", "8700"))
    task_queue: str = "campaigns"
    tuned: bool = True

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def services_url(self) -> str:
        return f"http://127.0.0.1:{self.services_port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://localhost:{self.ui_port}" if self.ui_port else None

    def worker_env(self) -> dict[str, str]:
        env = {
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "CAMPAIGN_TASK_QUEUE": self.task_queue,
            "CAMPAIGN_LOG_FORMAT": "json",
        }
        env.update({f"CAMPAIGN_{s.value.upper()}_URL": self.services_url for s in ServiceName})
        return env


class DevStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        run_dir = self.config.run_dir
        self.server = ManagedProcess("temporal", run_dir)
        self.services = ManagedProcess("services", run_dir)
        self.worker = ManagedProcess("worker", run_dir)

    # -- each part --

    def start_server(self) -> None:
        c = self.config
        if self.server.running():
            return
        if port_open(c.temporal_port):
            raise ProcessFailedError(
                f"port {c.temporal_port} is taken by another process (another Temporal?); "
                "stop it or set DEVSTACK_TEMPORAL_PORT"
            )
        c.run_dir.mkdir(parents=True, exist_ok=True)
        self.server.start(
            dev_server_command(
                c.run_dir / "temporal.db", port=c.temporal_port, ui_port=c.ui_port, tuned=c.tuned
            )
        )
        self.server.wait_until(lambda: port_open(c.temporal_port), 60, "gRPC port")
        asyncio.run(wait_for_temporal(c.temporal_address))
        if c.ui_port:
            self.server.wait_until(lambda: port_open(c.ui_port or 0), 30, "Web UI port")

    def start_services(self, env: dict[str, str] | None = None) -> None:
        c = self.config
        if self.services.running():
            return
        if port_open(c.services_port):
            raise ProcessFailedError(
                f"port {c.services_port} is taken; stop that process or set DEVSTACK_SERVICES_PORT"
            )
        self.services.start(
            [sys.executable, "-m", "reference_services", "--port", str(c.services_port)], env=env
        )
        self.services.wait_until(lambda: _healthy(c.services_url), 30, "health check")

    def start_worker(self, env: dict[str, str] | None = None) -> None:
        if self.worker.running():
            return
        offset = file_size(self.worker.log_file)
        self.worker.start(
            [sys.executable, "-m", "worker"], env={**self.config.worker_env(), **(env or {})}
        )
        self.worker.wait_until(
            lambda: b"worker_started" in read_from(self.worker.log_file, offset),
            60,
            "'worker_started' log line",
        )

    # -- all together --

    def up(self) -> None:
        self.start_server()
        self.start_services()
        self.start_worker()

    def down(self) -> list[str]:
        stopped = []
        for proc in (self.worker, self.services, self.server):
            if proc.stop():
                stopped.append(proc.name)
        return stopped

    def status(self) -> dict[str, int | None]:
        return {p.name: p.pid() for p in (self.server, self.services, self.worker)}


async def wait_for_temporal(address: str, deadline_seconds: float = 60.0) -> None:
    from temporalio.client import Client

    deadline = asyncio.get_running_loop().time() + deadline_seconds
    while True:
        try:
            client = await Client.connect(address)
            await client.count_workflows()
            return
        except Exception as err:  # not ready yet: connection refused, namespace not yet there
            if asyncio.get_running_loop().time() > deadline:
                raise ProcessFailedError(f"Temporal at {address} not ready: {err}") from err
            await asyncio.sleep(0.2)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
