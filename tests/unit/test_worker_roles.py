"""What a worker process runs (CAMPAIGN_WORKER_SERVICES, `campaign-worker --services`) and the
per-service settings of the task queues."""

from __future__ import annotations

import pytest

from contracts import DEFAULT_TASK_QUEUE, ServiceName, service_task_queue
from orchestrator_connection.settings import Settings, SettingsError, WorkerRoles, load_settings
from worker import main

ALL = tuple(ServiceName)


@pytest.mark.parametrize(
    ("text", "workflows", "services"),
    [
        ("all", True, ALL),
        ("ALL", True, ALL),
        ("content", False, (ServiceName.CONTENT,)),
        (" content , radar ", False, (ServiceName.RADAR, ServiceName.CONTENT)),  # graph order
        ("workflows", True, ()),
        ("workflows,publisher,publisher", True, (ServiceName.PUBLISHER,)),
        ("content,all", True, ALL),
    ],
)
def test_roles_parse(text: str, workflows: bool, services: tuple[ServiceName, ...]) -> None:
    roles = WorkerRoles.parse(text)
    assert (roles.workflows, roles.services) == (workflows, services)
    assert WorkerRoles.parse(str(roles)) == roles


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "names nothing to run"),
        (" , ", "names nothing to run"),
        ("contnet", "unknown 'contnet'; choose from all, workflows, radar, strategy"),
        ("content,bogus,x", "unknown 'bogus', 'x'"),
    ],
)
def test_bad_roles_are_named(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        WorkerRoles.parse(text)


def test_a_bad_setting_stops_the_worker_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_WORKER_SERVICES", "contnet")
    with pytest.raises(SettingsError, match=r"^invalid settings: CAMPAIGN_WORKER_SERVICES: unk"):
        load_settings()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("CAMPAIGN_CONTENT_SLOTS", "0"),
        ("CAMPAIGN_CONTENT_SLOTS", "many"),
        ("CAMPAIGN_PUBLISHER_RATE_LIMIT", "0"),
        ("CAMPAIGN_PUBLISHER_RATE_LIMIT", "-1"),
    ],
)
def test_bad_queue_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=f"^invalid settings: {var}: "):
        load_settings()


def test_the_flag_is_checked_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--services", "contnet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --services: unknown 'contnet'; choose from ") and (
        err.count("\n") == 1
    ), err


def test_each_service_has_its_slots_and_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_CONTENT_SLOTS", "7")
    monkeypatch.setenv("CAMPAIGN_PUBLISHER_RATE_LIMIT", "20")
    settings = load_settings()
    assert settings.service_slots(ServiceName.CONTENT) == 7
    assert settings.service_slots(ServiceName.RADAR) == 100
    assert settings.service_rate_limit(ServiceName.PUBLISHER) == 20.0
    assert settings.service_rate_limit(ServiceName.CONTENT) is None


def test_the_http_pool_has_a_connection_per_slot_by_default() -> None:
    assert Settings().http_connections() == 100 + 6 * 100  # the main queue's and six services'
    content = Settings(worker_services="content", content_slots=40)
    assert content.http_connections() == 40
    assert Settings(http_max_connections=10).http_connections() == 10
    assert Settings().http_keepalive() == 700  # every pooled connection may stay open
    assert Settings(http_max_keepalive_connections=5).http_keepalive() == 5


def test_queue_names_derive_from_the_main_one() -> None:
    assert service_task_queue(DEFAULT_TASK_QUEUE, ServiceName.CONTENT) == "campaigns-content"
    assert [service_task_queue("q", s) for s in ServiceName] == [
        "q-radar", "q-strategy", "q-content", "q-quality", "q-publisher", "q-learning",
    ]  # fmt: skip
