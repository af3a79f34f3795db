"""CAMPAIGN_TRACING=otlp works with what the `otel` extra installs, and without it says so in one
line naming the setting and the package (a ConnectionConfigError: the CLI exits 2, not 4)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from orchestrator_connection.tracing import (
    OTLP_EXPORTER_MODULE,
    OTLP_EXPORTER_PACKAGE,
    ObservabilityConfigError,
    otlp_span_exporter,
)

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: the global TracerProvider is set once per process."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "TEMPORAL_", "OTEL_"))
    }
    clean["TEMPORAL_CONFIG_FILE"] = str(tmp_path / "none.toml")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_otel_extra_installs_the_exporter_the_code_imports() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(req.startswith(OTLP_EXPORTER_PACKAGE) for req in extras["otel"]), extras["otel"]
    # ... and that package is the one that holds the module otlp_span_exporter imports
    module_file = OTLP_EXPORTER_MODULE.replace(".", "/") + "/__init__.py"
    files = {str(f) for f in importlib.metadata.files(OTLP_EXPORTER_PACKAGE) or ()}
    assert module_file in files


def test_a_missing_exporter_names_the_setting_and_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, OTLP_EXPORTER_MODULE, None)  # import fails
    with pytest.raises(ObservabilityConfigError) as caught:
        otlp_span_exporter()
    message = str(caught.value)
    assert "CAMPAIGN_TRACING=otlp" in message
    assert OTLP_EXPORTER_PACKAGE in message
    assert "\n" not in message


def test_connect_reports_it_as_a_connection_config_error(tmp_path: Path) -> None:
    # Through connect(), as the CLI and the worker meet it: a ConnectionConfigError, before
    # any attempt to reach Temporal (nothing listens at the address).
    done = run_python(
        f"""
        import asyncio, sys
        sys.modules[{OTLP_EXPORTER_MODULE!r}] = None
        from orchestrator_connection.settings import ClientSettings
        from orchestrator_connection.temporal_client import ConnectionConfigError, connect
        try:
            asyncio.run(connect(settings=ClientSettings(tracing="otlp"), target_host="127.0.0.1:1"))
        except ConnectionConfigError as err:
            print(type(err).__name__, err)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("ConnectionConfigError CAMPAIGN_TRACING=otlp needs ")
    assert OTLP_EXPORTER_PACKAGE in lines[0]


def test_the_exporter_builds_without_a_collector_at_the_default_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in [v for v in os.environ if v.startswith("OTEL_EXPORTER_OTLP")]:
        monkeypatch.delenv(var)
    started = time.monotonic()
    exporter = otlp_span_exporter()
    try:
        assert getattr(exporter, "_endpoint", None) == "localhost:4317"
    finally:
        exporter.shutdown()
    assert time.monotonic() - started < 5  # nothing was dialled


def test_the_exporter_reads_the_otel_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:14317")
    exporter = otlp_span_exporter()
    try:
        assert getattr(exporter, "_endpoint", None) == "127.0.0.1:14317"
    finally:
        exporter.shutdown()


def test_an_otlp_tracing_interceptor_builds_with_no_collector_running(tmp_path: Path) -> None:
    done = run_python(
        """
        import time
        started = time.monotonic()
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from temporalio.contrib.opentelemetry import TracingInterceptor
        from orchestrator_connection.tracing import tracing_interceptor
        from orchestrator_connection.settings import ClientSettings
        interceptor = tracing_interceptor(ClientSettings(tracing="otlp"))
        assert isinstance(interceptor, TracingInterceptor), interceptor
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider), provider
        [processor] = provider._active_span_processor._span_processors
        exporter = processor._batch_processor._exporter
        print(type(exporter).__name__, exporter._endpoint, round(time.monotonic() - started))
        provider.shutdown()  # no span was made: nothing to send, nothing to wait for
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    name, endpoint, seconds = done.stdout.split()
    assert (name, endpoint) == ("OTLPSpanExporter", "localhost:4317")
    assert int(seconds) < 10
