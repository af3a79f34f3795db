"""A connection that fails says why in one line, on both ways in: the full client (`connect`) and
the status read's service client (`connect_service`). Real sockets on loopback, no mocks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator_connection.config_errors import SettingsError
from orchestrator_connection.settings import ClientSettings
from orchestrator_connection.temporal_client import (
    ConnectionConfigError,
    TemporalUnavailableError,
    connect,
    connect_service,
)


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"a web page")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http1_port() -> Iterator[int]:
    """An HTTP/1 server, like the Web UI's port or a reference service's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in [v for v in os.environ if v.startswith(("CAMPAIGN_", "TEMPORAL_"))]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)  # no .env file


async def test_an_http_port_is_named_as_not_temporal_not_as_tls(http1_port: int) -> None:
    target = f"127.0.0.1:{http1_port}"
    for attempt in (
        connect(settings=ClientSettings(), target_host=target),
        connect_service(target_host=target),
    ):
        with pytest.raises(TemporalUnavailableError) as err:
            await attempt
        assert str(err.value) == (
            f"cannot reach Temporal at {target} (namespace default): no gRPC answer: is this "
            "Temporal's frontend port (default 7233), not a web or HTTP port?"
        )


async def test_nothing_listening_is_connection_refused() -> None:
    with pytest.raises(TemporalUnavailableError) as err:
        await connect_service(target_host="127.0.0.1:1", namespace="ns1")
    assert (
        str(err.value) == "cannot reach Temporal at 127.0.0.1:1 (namespace ns1): connection refused"
    )


async def test_the_status_read_checks_settings_when_there_are_some(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Checked before connecting: nothing listens on port 1.
    (tmp_path / ".env").write_text("CAMPAIGN_TRACING=loud\n")
    with pytest.raises(SettingsError, match="CAMPAIGN_TRACING"):
        await connect_service(target_host="127.0.0.1:1")
    (tmp_path / ".env").unlink()
    monkeypatch.setenv("CAMPAIGN_ENCRYPTION_KEYS", "k1:too-short")
    with pytest.raises(ConnectionConfigError, match="CAMPAIGN_ENCRYPTION_KEYS") as err:
        await connect_service(target_host="127.0.0.1:1")
    assert "too-short" not in str(err.value)
    # A worker-only setting is not the status read's business.
    monkeypatch.delenv("CAMPAIGN_ENCRYPTION_KEYS")
    monkeypatch.setenv("CAMPAIGN_LOG_LEVEL", "verbose")
    with pytest.raises(TemporalUnavailableError, match="connection refused"):
        await connect_service(target_host="127.0.0.1:1")


def test_a_server_that_never_answers_is_timed_out() -> None:
    """The SDK's words when the frontend accepts and then never answers (seen with the dev
    server stopped by SIGSTOP: after about 30 s)."""
    from orchestrator_connection.temporal_client import _short

    seen = (
        "Failed client connect: `get_system_info` call error after connection: Status { code: "
        'Cancelled, message: "Timeout expired", source: Some(tonic::transport::Error(Transport, '
        "TimeoutExpired(()))) }"
    )
    assert _short(RuntimeError(seen)) == "timed out"
