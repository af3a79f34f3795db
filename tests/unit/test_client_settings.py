"""Clients (the CLI, the REST gateway, the demo) check only the settings they read: a bad
worker-only setting stops the worker, with one line naming it, and no client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator_connection.settings import (
    ClientSettings,
    Settings,
    SettingsError,
    load_client_settings,
    load_settings,
)

WORKER_ONLY_BAD = {
    "CAMPAIGN_LOG_LEVEL": "verbose",
    "CAMPAIGN_HTTP_TIMEOUT_SECONDS": "-1",
    "CAMPAIGN_MAX_CACHED_WORKFLOWS": "-5",
    "CAMPAIGN_METRICS_PORT": "99999",
    "CAMPAIGN_RADAR_URL": "not a url",
    "CAMPAIGN_WORKFLOW_SANDBOX": "maybe",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CAMPAIGN_* from the caller's environment, and no .env file (it is read from the
    working directory)."""
    for var in [v for v in os.environ if v.startswith("CAMPAIGN_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)


def test_worker_only_settings_do_not_stop_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in WORKER_ONLY_BAD.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("CAMPAIGN_TASK_QUEUE", "q1")
    settings = load_client_settings()
    assert type(settings) is ClientSettings
    assert settings.task_queue == "q1"


@pytest.mark.parametrize("var", WORKER_ONLY_BAD)
def test_the_worker_still_refuses_each_of_them(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, WORKER_ONLY_BAD[var])
    load_client_settings()
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"invalid settings: {var}: ")
    assert "\n" not in message


def test_the_example_of_the_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_LOG_LEVEL", "verbose")
    monkeypatch.setenv("CAMPAIGN_HTTP_TIMEOUT_SECONDS", "-1")
    assert load_client_settings().task_queue == "campaigns"
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "CAMPAIGN_LOG_LEVEL: " in message and "CAMPAIGN_HTTP_TIMEOUT_SECONDS: " in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("CAMPAIGN_TRACING", "zipkin"),
        ("CAMPAIGN_RETRY_BATCH_RPS", "0"),
        ("CAMPAIGN_WEBHOOK_URL", "not a url"),
    ],
)
def test_a_bad_client_setting_stops_both_naming_it(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    for load in (load_client_settings, load_settings):
        with pytest.raises(SettingsError, match=rf"^invalid settings: {var}: "):
            load()


def test_the_webhook_secret_is_the_workers_business(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI only needs the URL (to ask for notify_transitions); the worker signs the events.
    monkeypatch.setenv("CAMPAIGN_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    assert str(load_client_settings().webhook_url) == "http://127.0.0.1:9/hook"
    with pytest.raises(SettingsError, match="CAMPAIGN_WEBHOOK_SECRET"):
        load_settings()


def test_the_worker_settings_are_the_client_settings_and_more() -> None:
    assert issubclass(Settings, ClientSettings)
    client_fields = set(ClientSettings.model_fields)
    assert client_fields == {
        "task_queue",
        "encryption_keys",
        "tracing",
        "webhook_url",
        "retry_batch_rps",
    }
    assert client_fields < set(Settings.model_fields)


def test_connect_and_the_converter_take_client_settings() -> None:
    # What the clients pass in is enough for everything connect() reads.
    from orchestrator_connection.temporal_client import data_converter
    from orchestrator_connection.tracing import tracing_interceptor

    client = ClientSettings()
    assert tracing_interceptor(client) is None
    assert data_converter(client) is not None


def test_a_shared_env_file_with_a_bad_worker_setting(tmp_path: Path) -> None:
    # The worker's and the CLI's .env is often one file.
    (tmp_path / ".env").write_text("CAMPAIGN_LOG_LEVEL=verbose\nCAMPAIGN_TASK_QUEUE=from-file\n")
    assert load_client_settings().task_queue == "from-file"
    with pytest.raises(SettingsError, match=r"^invalid settings: CAMPAIGN_LOG_LEVEL: "):
        load_settings()


def test_the_gateway_names_a_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rest_gateway.__main__ import main

    monkeypatch.setenv("CAMPAIGN_GATEWAY_PORT", "99999")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: invalid settings: CAMPAIGN_GATEWAY_PORT: Input should be less than or equal to "
        "65535\n"
    )
