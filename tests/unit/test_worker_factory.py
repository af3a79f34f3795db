"""The worker's workflow runner follows CAMPAIGN_WORKFLOW_SANDBOX (on unless set to false)."""

from __future__ import annotations

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from orchestrator_connection.settings import SettingsError, load_settings
from orchestrator_worker.worker_factory import SANDBOX_PASSTHROUGH, workflow_runner


def test_the_sandbox_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPAIGN_WORKFLOW_SANDBOX", raising=False)
    assert load_settings().workflow_sandbox is True
    runner = workflow_runner()
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert set(SANDBOX_PASSTHROUGH) <= runner.restrictions.passthrough_modules


@pytest.mark.parametrize("value", ["false", "0", "off"])
def test_the_setting_turns_it_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAMPAIGN_WORKFLOW_SANDBOX", value)
    settings = load_settings()
    assert settings.workflow_sandbox is False
    assert isinstance(workflow_runner(settings.workflow_sandbox), UnsandboxedWorkflowRunner)


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_WORKFLOW_SANDBOX", "maybe")
    with pytest.raises(SettingsError, match="CAMPAIGN_WORKFLOW_SANDBOX"):
        load_settings()
