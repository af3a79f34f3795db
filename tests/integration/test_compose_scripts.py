"""The compose cluster's one-shot namespace step (deploy/temporal/scripts/create-namespace.sh),
run for real against the dev server with the same `temporal` CLI the admin-tools image has:
it creates the namespace, registers the workflow's search attributes, and is safe to re-run."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from devstack.binaries import temporal_cli
from devstack.stack import DevStack
from workflows import search_attributes

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/temporal/scripts/create-namespace.sh"


def _run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(temporal_cli()).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["sh", str(SCRIPT)],
        env={**os.environ, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
async def test_create_namespace_script_registers_the_search_attributes(
    stack: DevStack, client: Client
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text())
    env = {k: str(v) for k, v in compose["services"]["temporal-namespace"]["environment"].items()}
    namespace = f"compose-{uuid.uuid4().hex[:12]}"
    env |= {
        "TEMPORAL_ADDRESS": stack.config.temporal_address,
        "NAMESPACE": namespace,
        "NAMESPACE_RETENTION": "24h",
    }
    first = _run_script(env)
    assert first.returncode == 0, first.stdout + first.stderr
    second = _run_script(env)  # a second `docker compose up`
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"namespace {namespace} exists" in second.stdout
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    for key in search_attributes.ALL:
        expected = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}")
        assert listed.custom_attributes.get(key.name) == expected, key.name
