"""One compiled copy of the modules the workflow sandbox re-imports on every workflow run.

The sandbox executes each workflow's module (and the packages above it) afresh for every
workflow instance it creates, in a fresh namespace behind its restrictions. Python's import
system gives each of those imports its own copy of the module's code objects: unmarshalled from
`__pycache__` (about 40 KB for workflows/campaign_workflow.py, held as long as the run stays in
the worker's cache) or, with PYTHONDONTWRITEBYTECODE=1 and no .pyc, compiled from source again
(8% of the worker's CPU in the benchmark).

Code objects are immutable, so every run can execute the same ones. `share_workflow_code`
compiles each such module once, at worker start, and puts a finder first on `sys.meta_path` that
hands that code to the sandbox's imports. The sandbox still executes the module for every run,
in a fresh namespace with its restrictions: only the compiling and the copies go. Every run also
executes the code the worker started with, even if the file changes on disk while it runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType


def sandbox_reimported_modules(workflow_classes: Iterable[type]) -> list[str]:
    """Each workflow class's module and the packages above it, outermost first: those the
    sandbox imports again for every run, when they were loaded from a .py file."""
    names: dict[str, None] = {}
    for cls in workflow_classes:
        parts = cls.__module__.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            file = getattr(sys.modules.get(name), "__file__", None)
            if file and file.endswith(".py"):
                names[name] = None
    return list(names)


class SharedCodeLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose `get_code` returns the one code object compiled at worker start."""

    def __init__(self, fullname: str, path: str, code: CodeType) -> None:
        super().__init__(fullname, path)
        self.code = code

    def get_code(self, fullname: str) -> CodeType:
        if fullname != self.name:
            raise ImportError(f"loader for {self.name} asked for {fullname}", name=fullname)
        return self.code


@dataclass(frozen=True)
class _Compiled:
    origin: str
    search_locations: list[str] | None  # a package's __path__
    code: CodeType


class SharedWorkflowCode(importlib.abc.MetaPathFinder):
    """A finder for the registered modules only: their spec, with the code compiled once."""

    def __init__(self) -> None:
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def add(self, name: str) -> Path | None:
        """Compile `name`, a module the host has imported from source, once. Returns its source
        file, or None when it was registered before or is not a source module."""
        with self._lock:
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None)
            if name in self._compiled or spec is None or spec.origin is None:
                return None
            if not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
                return None
            code = spec.loader.get_code(name)
            if code is None:
                return None
            locations = spec.submodule_search_locations
            self._compiled[name] = _Compiled(
                spec.origin, list(locations) if locations is not None else None, code
            )
            return Path(spec.origin)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        compiled = self._compiled.get(fullname)
        if compiled is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            compiled.origin,
            loader=SharedCodeLoader(fullname, compiled.origin, compiled.code),
            submodule_search_locations=compiled.search_locations,
        )

    def install(self) -> None:
        """First on sys.meta_path, once."""
        with self._lock:
            if self not in sys.meta_path:
                sys.meta_path.insert(0, self)


_shared = SharedWorkflowCode()


def share_workflow_code(
    workflow_classes: Iterable[type], finder: SharedWorkflowCode = _shared
) -> list[Path]:
    """From now on every sandboxed run of these workflows executes one compiled copy of their
    modules. Returns the sources compiled by this call (none for modules shared before)."""
    finder.install()
    compiled = [finder.add(name) for name in sandbox_reimported_modules(workflow_classes)]
    return [source for source in compiled if source is not None]
