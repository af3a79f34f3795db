"""Import boundaries: the orchestrator never imports the services' code, and the workflow code
(which runs in Temporal's sandbox and must stay deterministic) imports no I/O or settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORCHESTRATOR_PACKAGES = (
    "workflows",
    "activities",
    "src/orchestrator_connection",
    "src/orchestrator_worker",
    "src/orchestrator_client",
    "src/campaign_cli",
)
NEVER_IMPORTED = ("reference_services",)
NOT_IN_WORKFLOWS = (
    "httpx",
    "structlog",
    "orchestrator_connection",
    "orchestrator_worker",
    "orchestrator_client",
    "campaign_cli",
)


def imported_modules(source: str, package: str = "") -> set[str]:
    """Every module an `import` or `from ... import` anywhere in `source` names (also inside
    functions, classes, `with` and `try` blocks). Relative imports are resolved against
    `package`; `from a import b` yields both `a` and `a.b` (b may be a submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base_parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base:
                found.add(base)
            found.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return found


def is_under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return files


def imports_of(path: Path) -> set[str]:
    parts = path.relative_to(ROOT).parent.parts
    package = ".".join(parts[1:] if parts[:1] == ("src",) else parts)
    return imported_modules(path.read_text(encoding="utf-8"), package)


# ---- the collector finds what it must (so the boundary tests can fail) -------------------------

SYNTHETIC = """
import os, json as j
from contracts import CampaignInput

def f():
    import reference_services.app

class C:
    def m(self):
        with something():
            from httpx import AsyncClient
        try:
            import structlog
        except ImportError:
            pass

with workflow.unsafe.imports_passed_through():
    from orchestrator_connection.settings import Settings
    from . import sibling
    from ..up import thing
"""


def test_collector_finds_imports_everywhere() -> None:
    found = imported_modules(SYNTHETIC, package="workflows.sub")
    for module in (
        "os",
        "json",
        "contracts",
        "reference_services.app",
        "httpx",
        "structlog",
        "orchestrator_connection.settings",
        "workflows.sub.sibling",
        "workflows.up.thing",
    ):
        assert module in found, module
    assert is_under("reference_services.app", NEVER_IMPORTED)
    assert is_under("httpx", NOT_IN_WORKFLOWS)
    assert not is_under("reference_services_extra", NEVER_IMPORTED)
    assert not is_under("httpx_mock", NOT_IN_WORKFLOWS)


def test_collector_sees_a_violation_in_a_real_file_layout(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def later():\n    from reference_services import behaviour\n")
    assert any(is_under(m, NEVER_IMPORTED) for m in imported_modules(bad.read_text()))


# ---- the boundaries ----------------------------------------------------------------------------


@pytest.mark.parametrize("package", ORCHESTRATOR_PACKAGES)
def test_orchestrator_never_imports_the_services(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imports_of(path) if is_under(m, NEVER_IMPORTED)
        )
        for path in python_files(package)
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_workflows_import_no_io_and_no_settings() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imports_of(path) if is_under(m, NOT_IN_WORKFLOWS + NEVER_IMPORTED)
        )
        for path in python_files("workflows")
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_workflow_module_is_actually_scanned() -> None:
    """Guard against scanning the wrong tree: the workflow's known imports are seen."""
    found = imports_of(ROOT / "workflows" / "campaign_workflow.py")
    assert "temporalio" in found or "temporalio.workflow" in found
    assert "contracts" in found
    assert "activities" in found


# Each package of the app's own, and the packages it must not import: the layers import
# downwards only (the README's "Layout").
LAYERS = {
    "contracts": ("workflows", "activities", "orchestrator_", "campaign_cli"),
    "src/orchestrator_connection": ("orchestrator_worker", "orchestrator_client", "campaign_cli"),
    "src/orchestrator_worker": ("orchestrator_client", "campaign_cli"),
    "src/orchestrator_client": ("orchestrator_worker", "campaign_cli"),
}


@pytest.mark.parametrize("package", LAYERS)
def test_the_layers_import_downwards_only(package: str) -> None:
    above = LAYERS[package]
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imports_of(path) if any(m.startswith(name) for name in above)
        )
        for path in python_files(package)
    }
    assert {f: m for f, m in offenders.items() if m} == {}


PROJECT_PACKAGES = (
    "contracts",
    "workflows",
    "activities",
    "orchestrator_connection",
    "orchestrator_worker",
    "orchestrator_client",
    "program_setup",
    "campaign_cli",
    "reference_services",
    "devstack",
    "rest_gateway",
    "bench",
    "worker",
    "starter",
)


@pytest.mark.parametrize(
    "package, may_import",
    [
        # The services stand in for downstream services: the contracts and the shared logging
        # setup only, nothing of the orchestrator.
        ("src/reference_services", ("reference_services", "contracts", "program_setup")),
        # The logging setup both the worker and the services use imports nothing of the project.
        ("src/program_setup", ("program_setup",)),
    ],
)
def test_the_services_and_the_logging_setup_import_nothing_of_the_orchestrator(
    package: str, may_import: tuple[str, ...]
) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m
            for m in imports_of(path)
            if is_under(m, PROJECT_PACKAGES) and not is_under(m, may_import)
        )
        for path in python_files(package)
    }
    assert {f: m for f, m in offenders.items() if m} == {}
