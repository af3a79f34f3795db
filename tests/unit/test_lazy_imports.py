"""What a command-line client loads before it needs it: `campaign --help` loads neither the
Temporal client nor pydantic nor the batch machinery, and the packages that load their members
lazily (PEP 562) map each name to the module its TYPE_CHECKING import names."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str, modules: list[str]) -> dict[str, bool]:
    probe = f"import sys; {statement}; print(','.join(str(m in sys.modules) for m in {modules!r}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return dict(zip(modules, (flag == "True" for flag in out.split(",")), strict=True))


def test_the_cli_module_loads_no_client_no_pydantic_and_no_batch_machinery():
    heavy = [
        "temporalio.client",
        "pydantic",
        "rich.progress",
        "rich.table",
        "orchestrator_client.campaign_batch",
        "orchestrator_client.campaign_ops",
        "workflows.campaign_workflow",
        "httpx",
    ]
    assert loaded_after("import starter", heavy) == dict.fromkeys(heavy, False)


def test_search_attributes_load_without_the_graph():
    assert loaded_after("import workflows.search_attributes", ["workflows.campaign_workflow"]) == {
        "workflows.campaign_workflow": False
    }


def type_checking_imports(package: str) -> dict[str, str]:
    """name -> module, from the package's `if TYPE_CHECKING:` block."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module, ast.unparse(imp)
                names.update({alias.name: imp.module for alias in imp.names})
    return names


@pytest.mark.parametrize("package", ["contracts", "workflows"])
def test_each_lazy_name_is_typed_and_resolves_to_its_module(package: str):
    module = importlib.import_module(package)
    lazy: dict[str, str] = module._LAZY
    assert lazy == type_checking_imports(package)
    for name, home in lazy.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name)
    assert set(lazy) <= set(module.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        module.Nope  # noqa: B018


def test_status_connects_with_the_service_client_alone():
    """`campaign status` (the command run most) loads neither the SDK's client, nor the settings
    when there are none, nor the contracts' models: checked after a connect that fails (nothing
    listens on port 1), on the path a status read takes."""
    heavy = [
        "temporalio.client",
        "pydantic_settings",
        "contracts.workflow_io",
        "orchestrator_client.campaign_ops",
        "orchestrator_client.campaign_lookup",
    ]
    probe = (
        "import os, sys, starter\n"
        "from campaign_cli import app\n"
        "def leave(code):\n"
        f"    print(code, ','.join(str(m in sys.modules) for m in {heavy!r}))\n"
        "    sys.stdout.flush(); os._exit(0)\n"
        "app.exit_without_finalizing = leave\n"
        "sys.argv = ['campaign', 'status', 'campaign-9a9ce4be-0000-4000-8000-000000000001',\n"
        "            '--address', '127.0.0.1:1']\n"
        "starter.main()\n"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.upper().startswith(("CAMPAIGN_", "TEMPORAL_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env, check=True
    )
    code, flags = done.stdout.split()
    assert code == "4", done.stderr  # Temporal unreachable
    loaded = dict(zip(heavy, (flag == "True" for flag in flags.split(",")), strict=True))
    assert loaded == {**dict.fromkeys(heavy, False), "orchestrator_client.campaign_lookup": True}
