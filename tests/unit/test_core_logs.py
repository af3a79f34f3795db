"""The worker's Runtime forwards the SDK core's (Rust) log lines through Python logging, so with
CAMPAIGN_LOG_FORMAT=json they are JSON lines like the rest: no ANSI colours, nothing written to
stdout by the core itself. (tests/integration/test_worker_logs.py checks a real worker process.)

The core lines here are written with the bridge's own test hooks (`write_test_info_log`, the
ones sdk-python's tests use): they go through the same forwarding as any core line."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from temporalio.runtime import Runtime

from orchestrator_connection.settings import Settings
from orchestrator_worker.observability import CORE_LOGGER, create_runtime
from tests.log_capture import worker_logging


def wait_for_lines(buffer: io.StringIO, count: int, timeout: float = 10.0) -> list[str]:
    """The core hands its lines over in batches, every few milliseconds."""
    deadline = time.monotonic() + timeout
    while True:
        lines = buffer.getvalue().splitlines()
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def core_lines(lines: list[str]) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in lines]
    return [line for line in parsed if line.get("logger") == CORE_LOGGER]


def write_core_log(runtime: Runtime, level: str, message: str, extra: str) -> None:
    core = runtime._core_runtime
    getattr(core, f"write_test_{level}_log")(message, extra)


def test_core_lines_are_json_lines_with_their_target_and_fields(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with worker_logging("json", "INFO") as buffer:
        runtime = create_runtime(Settings(log_format="json", log_level="DEBUG"))
        write_core_log(runtime, "info", "core says hello", "first")
        write_core_log(runtime, "debug", "core says more", "second")
        lines = wait_for_lines(buffer, 1)
        time.sleep(0.2)  # the debug line, had it come through
        lines = buffer.getvalue().splitlines()
    assert lines, "no line from the core"
    for line in lines:
        assert "\x1b[" not in line
        json.loads(line)  # every line is one JSON object
    [hello] = core_lines(lines)  # the debug line is below the worker's INFO: filtered
    assert hello["event"] == "core says hello"
    assert hello["level"] == "info"
    assert hello["target"] == "temporal_sdk_bridge::runtime"
    assert hello["extra_data"] == "first"  # the core's fields are keys of the line
    assert hello["timestamp"]
    # and the core wrote nothing of its own to the process's stdout or stderr
    out, err = capfd.readouterr()
    assert "core says" not in out + err and "\x1b[" not in out + err


def test_the_console_format_has_no_colours_either(capfd: pytest.CaptureFixture[str]) -> None:
    with worker_logging("console", "DEBUG") as buffer:
        runtime = create_runtime(Settings(log_format="console", log_level="DEBUG"))
        write_core_log(runtime, "info", "core in console", "x")
        [line] = wait_for_lines(buffer, 1)
    assert "core in console" in line and "target=temporal_sdk_bridge::runtime" in line
    assert "[info" in line and "\x1b[" not in line
    out, err = capfd.readouterr()
    assert "core in console" not in out + err


@pytest.mark.parametrize(
    ("level", "written", "shown"),
    [
        ("DEBUG", ("debug", "info"), {"debug", "info"}),
        ("INFO", ("debug", "info"), set()),  # the core stays at WARN, as the SDK's default
        ("ERROR", ("debug", "info"), set()),
    ],
)
def test_the_core_follows_the_log_level(
    level: str, written: tuple[str, ...], shown: set[str]
) -> None:
    with worker_logging("json", level) as buffer:
        runtime = create_runtime(Settings(log_level=level))
        for lvl in written:
            write_core_log(runtime, lvl, f"core at {lvl}", lvl)
        wait_for_lines(buffer, len(shown), timeout=2.0)
        time.sleep(0.2)
        lines = buffer.getvalue().splitlines()
    assert {line["level"] for line in core_lines(lines)} == shown


def test_metrics_still_come_with_the_same_runtime() -> None:
    from devstack.processes import free_port

    port = free_port()
    runtime = create_runtime(Settings(metrics_port=port))
    counter = runtime.metric_meter.create_counter("campaign_probe_total", "a probe")
    counter.add(1)
    import urllib.request

    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            text = ""
        if "campaign_probe_total" in text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "campaign_probe_total" in text
