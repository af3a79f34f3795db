"""Worker Versioning settings and the routing a worker reports (no server: the rollout itself
runs in tests/integration/test_worker_versioning.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion

from orchestrator_connection.settings import Settings, SettingsError, load_settings
from orchestrator_worker.deployment import (
    Routing,
    deployment_config,
    deployment_version,
    set_current_command,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_worker_registers_as_the_deployment_version_auto_upgrade() -> None:
    settings = Settings(worker_versioning=True, deployment_name="fleet", build_id="2026.12.1")
    config = deployment_config(settings)
    assert config is not None and config.use_worker_versioning
    assert config.version == WorkerDeploymentVersion("fleet", "2026.12.1")
    assert config.default_versioning_behavior is VersioningBehavior.AUTO_UPGRADE
    assert deployment_config(Settings(worker_versioning=False)) is None


def test_the_default_build_id_is_the_package_version() -> None:
    from importlib.metadata import version

    assert Settings().build_id == version("campaign-orchestrator")
    assert Settings().deployment_name == "campaign-orchestrator"


def test_a_deployment_name_with_a_dot_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGN_DEPLOYMENT_NAME", "campaign.orchestrator")
    with pytest.raises(SettingsError, match="CAMPAIGN_DEPLOYMENT_NAME"):
        load_settings()


def test_routing_says_where_this_build_stands() -> None:
    assert Routing("b1").describe("b1") == "current"
    assert Routing("b1", "b2", 25.0).describe("b2") == "ramping at 25%"
    assert Routing("b1").describe("b2") == "inactive (current: b1)"
    assert Routing(None).describe("b2") == "inactive (current: unversioned workers)"
    version = deployment_version(Settings(deployment_name="fleet", build_id="b2"))
    assert set_current_command(version) == (
        "temporal worker deployment set-current-version --deployment-name fleet --build-id b2"
    )


def test_the_documented_graph_change_applies_to_this_tree() -> None:
    """docs/changing-the-graph.md's worked example patches workflows/campaign_workflow.py."""
    check = subprocess.run(
        ["git", "apply", "--check", "docs/examples/publish-cool-off.patch"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
