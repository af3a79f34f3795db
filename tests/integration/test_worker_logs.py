"""A real worker process with CAMPAIGN_LOG_FORMAT=json writes only JSON lines, the SDK core's
(Rust) warnings included: here the core's "Failing workflow task" for a workflow type the worker
does not have, which the core used to write to stdout in ANSI colours."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts import ServiceName
from devstack.stack import DevStack
from orchestrator_worker.observability import CORE_LOGGER

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


async def wait_for(path: Path, needle: bytes, proc: asyncio.subprocess.Process) -> None:
    async def poll() -> None:
        while needle not in (text := await asyncio.to_thread(path.read_bytes)):
            assert proc.returncode is None, text.decode(errors="replace")
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), TIMEOUT)


async def test_the_worker_json_log_has_the_core_lines_as_json(
    stack: DevStack, client: Client, tmp_path: Path
) -> None:
    queue = f"logs-{uuid.uuid4()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "TEMPORAL_"))}
    env.update(
        TEMPORAL_ADDRESS=stack.config.temporal_address,
        TEMPORAL_NAMESPACE="default",
        TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"),
        CAMPAIGN_TASK_QUEUE=queue,
        CAMPAIGN_LOG_FORMAT="json",
        **{f"CAMPAIGN_{s.value.upper()}_URL": stack.config.services_url for s in ServiceName},
    )
    out_file, err_file = tmp_path / "worker.out", tmp_path / "worker.err"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", env=env, cwd=ROOT, stdout=out, stderr=err
        )
    handle = None
    try:
        await wait_for(err_file, b"worker_started", proc)
        handle = await client.start_workflow(
            "NoSuchWorkflow", id=f"no-such-{uuid.uuid4()}", task_queue=queue
        )
        await wait_for(err_file, b"Failing workflow task", proc)
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if handle is not None:
            await handle.terminate(reason="test over")
    assert proc.returncode == 0, err_file.read_text(errors="replace")
    assert handle is not None

    assert await asyncio.to_thread(out_file.read_bytes) == b""  # nothing from the core itself
    raw = await asyncio.to_thread(err_file.read_text)
    assert "\x1b[" not in raw
    lines = [json.loads(line) for line in raw.splitlines()]  # every line is one JSON object
    failing = [
        line
        for line in lines
        if line.get("logger") == CORE_LOGGER and line["event"] == "Failing workflow task"
    ]
    assert failing, raw
    first = failing[0]
    assert first["level"] == "warning"
    assert first["target"].endswith("worker::workflow")
    assert first["run_id"] == handle.result_run_id  # the core's fields are keys of the line
    assert "NoSuchWorkflow" in first["failure"]
    assert {line["event"] for line in lines} >= {"worker_started", "worker_stopped"}
