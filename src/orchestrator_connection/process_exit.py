"""Leaving a process that used a Temporal client, without the interpreter-finalization crash.

Temporal's native (sdk-core) threads can call into Python while the interpreter finalizes, which
aborts the process with "Fatal Python error: PyGILState_Release" and exit status 134 (seen here in
about 1 of 6 worker exits and now and then in the CLI). Entry points flush what matters and leave
with os._exit once their work is done.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_without_finalizing(code: int) -> NoReturn:
    _flush_tracing()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def exit_code(exit: SystemExit) -> int:
    """The status a SystemExit would have given (a message is printed, as Python would)."""
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=sys.stderr)
    return 1


def _flush_tracing() -> None:
    trace = sys.modules.get("opentelemetry.trace")  # loaded only where tracing was set up
    if trace is None:
        return
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if callable(shutdown):
        shutdown()
