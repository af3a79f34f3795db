"""The install's optional parts (pyproject.toml's extras) and the one line a program says when
the extra it needs is not installed.

The core install is the worker and the operator's CLI. The programs of the other roles (the REST
gateway, the reference services, the codec server, the dev stack, the benchmark) import their
extra's packages in a `try` and, on a ModuleNotFoundError for one of them, call
`exit_for_missing_extra`: `error: <program> needs the <extra> extra: pip install
'campaign-orchestrator[<extra>]'` on stderr, exit 2 (the CLI's code for what the user must fix).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import NoReturn

DISTRIBUTION = "campaign-orchestrator"

# The top-level modules each extra brings that this project imports (tests/unit/test_extras.py
# keeps them equal to what pyproject.toml's extras install). The devstack and bench extras
# include services; their programs also need the `temporal` binary (devstack.binaries).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "services": ("fastapi", "starlette", "uvicorn"),
    "devstack": ("fastapi", "starlette", "uvicorn"),
    "bench": ("matplotlib", "psutil"),
    "test": ("playwright",),  # the browser check (devstack/browser.py)
}

EXIT_MISSING_EXTRA = 2


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that this interpreter cannot import."""
    missing = []
    for module in EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # None in sys.modules: an import of it fails
            found = False
        if not found:
            missing.append(module)
    return missing


def install_hint(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_extra_message(program: str, extra: str) -> str:
    return f"{program} needs the {extra} extra: {install_hint(extra)}"


def exit_for_missing_extra(err: ModuleNotFoundError, extra: str, program: str) -> NoReturn:
    """Exit with the one line when `err` is for a module of `extra`; raise it otherwise (a
    module missing for another reason is a bug to see in full)."""
    top = (err.name or "").partition(".")[0]
    if top not in EXTRA_MODULES[extra]:
        raise err
    print(f"error: {missing_extra_message(program, extra)}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_MISSING_EXTRA)
