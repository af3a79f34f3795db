"""Every server this project runs listens on loopback unless told otherwise: the reference
services, the REST gateway, the codec server, the worker's metrics endpoint and the dev server."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

from devstack.dev_server import dev_server_command
from orchestrator_connection.codec_server import CodecServerSettings
from orchestrator_connection.encryption import new_key
from orchestrator_connection.settings import Settings
from reference_services.settings import ReferenceSettings

LOOPBACK = "127.0.0.1"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No host/port from the environment or a .env file: only the defaults."""
    for name in list(os.environ):
        if name.startswith(("REFSVC_", "CAMPAIGN_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.mark.parametrize(
    "module, env",
    [
        ("reference_services.__main__", {}),
        ("rest_gateway.__main__", {}),
        ("orchestrator_connection.codec_server", {"CAMPAIGN_ENCRYPTION_KEYS": f"k:{new_key()}"}),
    ],
)
def test_servers_bind_loopback_by_default(
    clean_env: pytest.MonkeyPatch, module: str, env: dict[str, str]
) -> None:
    """Run each server's real entry point with no arguments; uvicorn.run is replaced by a
    recorder, so what is checked is the host it would have bound."""
    for name, value in env.items():
        clean_env.setenv(name, value)
    main_module = importlib.import_module(module)
    calls: list[dict[str, Any]] = []

    def record(app: object, **kwargs: Any) -> None:
        calls.append(kwargs)

    clean_env.setattr(main_module.uvicorn, "run", record)
    main_module.main([])
    [call] = calls
    assert call["host"] == LOOPBACK, module


def test_settings_defaults_are_loopback(clean_env: pytest.MonkeyPatch) -> None:
    assert ReferenceSettings().host == LOOPBACK
    assert CodecServerSettings().host == LOOPBACK
    assert Settings().metrics_host == LOOPBACK
    assert Settings().metrics_port is None  # no metrics endpoint unless asked for
    from rest_gateway.settings import GatewaySettings

    assert GatewaySettings().host == LOOPBACK


def test_dev_server_and_its_ui_bind_loopback() -> None:
    cmd = dev_server_command(Path("t.db"), port=7999, ui_port=8999)
    assert cmd[cmd.index("--ip") + 1] == LOOPBACK
    assert "--ui-ip" not in cmd or cmd[cmd.index("--ui-ip") + 1] == LOOPBACK
