"""One compiled copy of the modules the sandbox re-imports for every run (workflow_code_cache.py).

The sandbox's import of a workflow module is the standard import into an empty sys.modules;
these tests do exactly that by removing the modules between imports."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from orchestrator_worker.workflow_code_cache import (
    SharedCodeLoader,
    SharedWorkflowCode,
    sandbox_reimported_modules,
    share_workflow_code,
)
from workflows import CampaignWorkflow

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("flowpkg.flow", "flowpkg")


@pytest.fixture
def flow_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A package `flowpkg` with a module `flowpkg.flow` holding class Flow, imported the way
    PYTHONDONTWRITEBYTECODE=1 imports it: no __pycache__ written."""
    package = tmp_path / "flowpkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""A package."""\n')
    (package / "flow.py").write_text("class Flow:\n    def step(self) -> int:\n        return 1\n")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # finders installed here go
    try:
        module = importlib.import_module("flowpkg.flow")
        yield module.Flow
    finally:
        for name in NAMES:
            sys.modules.pop(name, None)


def import_afresh() -> ModuleType:
    """What the sandbox does for every workflow run: import into a sys.modules without them."""
    for name in NAMES:
        sys.modules.pop(name, None)
    return importlib.import_module("flowpkg.flow")


def test_the_modules_are_the_workflow_module_and_the_packages_above_it() -> None:
    assert sandbox_reimported_modules([CampaignWorkflow]) == [
        "workflows",
        "workflows.campaign_workflow",
    ]


def test_every_import_executes_the_one_compiled_copy(
    flow_package: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    finder = SharedWorkflowCode()
    source = Path(sys.modules["flowpkg.flow"].__file__ or "")
    assert share_workflow_code([flow_package], finder) == [source.parent / "__init__.py", source]
    assert sys.meta_path[0] is finder

    # From here on nothing may compile, and nothing is written to __pycache__.
    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled from source although the code is shared")

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", no_compiling)
    first, second = import_afresh(), import_afresh()
    assert first is not second and first.Flow is not second.Flow  # fresh namespaces, as before
    assert first.Flow.step.__code__ is second.Flow.step.__code__  # one copy of the code
    assert isinstance(first.__loader__, SharedCodeLoader)
    assert sys.modules["flowpkg"].__path__ == [str(source.parent)]  # still a package
    assert first.Flow().step() == 1
    assert not (source.parent / "__pycache__").exists()


def test_runs_execute_the_code_the_worker_started_with(flow_package: type) -> None:
    finder = SharedWorkflowCode()
    share_workflow_code([flow_package], finder)
    source = Path(sys.modules["flowpkg.flow"].__file__ or "")
    source.write_text("class Flow:\n    def step(self) -> int:\n        return 2\n")
    assert import_afresh().Flow().step() == 1


def test_registering_twice_compiles_once_and_installs_once(flow_package: type) -> None:
    finder = SharedWorkflowCode()
    assert share_workflow_code([flow_package], finder)
    assert share_workflow_code([flow_package], finder) == []
    assert sys.meta_path.count(finder) == 1


def test_other_modules_are_left_to_the_usual_finders(flow_package: type) -> None:
    finder = SharedWorkflowCode()
    share_workflow_code([flow_package], finder)
    assert finder.find_spec("flowpkg.other", None) is None
    assert finder.find_spec("json", None) is None
    assert not isinstance(importlib.import_module("json").__loader__, SharedCodeLoader)


def test_a_module_without_source_is_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    finder = SharedWorkflowCode()
    assert finder.add("sys") is None  # built in: no source file
    assert finder.add("not.imported") is None
    assert finder.find_spec("sys", None) is None
