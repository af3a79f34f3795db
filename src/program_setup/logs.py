"""structlog over the standard library, for every process of the project: one formatter on the
root logger, so structlog's own lines and the standard library's (uvicorn, httpx, Temporal) come
out alike, as JSON lines or as plain console text. The worker adds Temporal's context on top
(orchestrator_worker.log_setup); the reference services use it as it is.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import structlog
from structlog.types import Processor


def configure_structlog(
    fmt: str = "console",
    level: str = "INFO",
    *,
    stream: IO[str] | None = None,
    log_file: Path | None = None,
    pre_chain: Sequence[Processor] = (),
) -> None:
    """Configure structlog and the root logger: JSON lines with `fmt="json"`, console text
    otherwise, at `level`. The root's handlers become one on `stream` (default: sys.stderr)
    and, with `log_file`, one appending to that file (its directory is created). `pre_chain`
    runs right after the contextvars are merged, on structlog's and the standard library's
    records alike (e.g. to lift a record's extras onto the line)."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        *pre_chain,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
