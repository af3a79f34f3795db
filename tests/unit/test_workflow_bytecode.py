"""Bytecode for the modules the workflow sandbox re-imports on every run (workflow_bytecode.py)."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_runtime.workflow_bytecode import ensure_bytecode, sandbox_reimported_sources
from workflows import CampaignWorkflow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def flow_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A package `flowpkg` with a module `flowpkg.flow` holding class Flow, imported the way
    PYTHONDONTWRITEBYTECODE=1 imports it: no __pycache__ written."""
    package = tmp_path / "flowpkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""A package."""\n')
    (package / "flow.py").write_text("class Flow:\n    pass\n")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("flowpkg.flow")
        assert not (package / "__pycache__").exists()
        yield module.Flow
    finally:
        for name in ("flowpkg.flow", "flowpkg"):
            sys.modules.pop(name, None)


def test_the_sources_are_the_workflow_module_and_the_packages_above_it() -> None:
    assert sandbox_reimported_sources([CampaignWorkflow]) == [
        ROOT / "workflows" / "__init__.py",
        ROOT / "workflows" / "campaign_workflow.py",
    ]


def test_missing_bytecode_is_written_and_the_import_system_then_reads_it(
    flow_package: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Path(sys.modules["flowpkg.flow"].__file__ or "")
    compiled = ensure_bytecode([flow_package])
    assert compiled == [source.parent / "__init__.py", source]
    assert Path(importlib.util.cache_from_source(str(source))).is_file()

    # What the sandbox's import does for every workflow run: get_code. It must not compile.
    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled from source although bytecode was cached")

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", no_compiling)
    loader = importlib.machinery.SourceFileLoader("flowpkg.flow", str(source))
    assert loader.get_code("flowpkg.flow") is not None


def test_current_bytecode_is_kept_and_stale_bytecode_rewritten(flow_package: type) -> None:
    source = Path(sys.modules["flowpkg.flow"].__file__ or "")
    ensure_bytecode([flow_package])
    assert ensure_bytecode([flow_package]) == []
    later = source.stat().st_mtime + 10
    os.utime(source, (later, later))
    assert ensure_bytecode([flow_package]) == [source]


def test_a_cache_that_cannot_be_written_is_logged_and_skipped(
    flow_package: type, caplog: pytest.LogCaptureFixture
) -> None:
    source = Path(sys.modules["flowpkg.flow"].__file__ or "")
    (source.parent / "__pycache__").write_text("a file where the cache folder would go")
    with caplog.at_level(logging.WARNING, logger="orchestrator_runtime.workflow_bytecode"):
        assert ensure_bytecode([flow_package]) == []
    assert "the sandbox compiles" in caplog.text
    assert str(source) in caplog.text
