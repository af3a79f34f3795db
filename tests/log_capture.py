"""The worker's logging (configure_logging) into a buffer, for tests; the global logging state
(root handlers and level, structlog's config, the SDK loggers' flags) is restored after."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import structlog
from temporalio import activity, workflow

from orchestrator_worker.log_setup import configure_logging


@contextmanager
def worker_logging(
    fmt: Literal["json", "console"] = "json", level: str = "DEBUG"
) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    saved_flags = (
        workflow.logger.workflow_info_on_message,
        activity.logger.activity_info_on_message,
    )
    buffer = io.StringIO()
    try:
        configure_logging(fmt, level, stream=buffer)
        yield buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.configure(**saved[2])
        workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = (
            saved_flags
        )
