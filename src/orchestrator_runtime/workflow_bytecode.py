"""Bytecode for the modules the workflow sandbox re-imports on every workflow run.

The sandbox imports each workflow's module (and its package) afresh for every workflow instance
it creates. Python reads those modules from `__pycache__` when a current .pyc is there; with
PYTHONDONTWRITEBYTECODE=1 (common in containers, and set on our own machines) nothing writes one
for an editable checkout, so every new campaign recompiled workflows/campaign_workflow.py from
source: about 8% of the worker's CPU in the benchmark (docs/performance.md). Compiling them once
at worker start removes that; the host process's own imports are unaffected.
"""

from __future__ import annotations

import importlib.util
import logging
import py_compile
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def sandbox_reimported_sources(workflow_classes: Iterable[type]) -> list[Path]:
    """The source files of each workflow class's module and of the packages above it."""
    sources: dict[Path, None] = {}
    for cls in workflow_classes:
        parts = cls.__module__.split(".")
        for depth in range(1, len(parts) + 1):
            module = sys.modules.get(".".join(parts[:depth]))
            file = getattr(module, "__file__", None)
            if file and file.endswith(".py"):
                sources[Path(file)] = None
    return list(sources)


def ensure_bytecode(workflow_classes: Iterable[type]) -> list[Path]:
    """Write a .pyc for every sandbox-reimported source that has no current one; returns the
    sources compiled. A source whose cache cannot be written is left as it is (logged)."""
    compiled: list[Path] = []
    for source in sandbox_reimported_sources(workflow_classes):
        cache = Path(importlib.util.cache_from_source(str(source)))
        try:
            if cache.exists() and cache.stat().st_mtime >= source.stat().st_mtime:
                continue
            py_compile.compile(str(source), cfile=str(cache), doraise=True)
        except (OSError, py_compile.PyCompileError) as err:
            log.warning(
                "workflow bytecode not cached: the sandbox compiles %s for every run (%s)",
                source,
                err,
            )
            continue
        compiled.append(source)
    return compiled
