"""structlog configuration: JSON or console, with the standard library (and Temporal) routed in.

That includes the SDK core's (Rust) lines, which the worker's Runtime forwards to the
`temporalio.sdk_core` logger (orchestrator_worker.observability.create_runtime): each one is a
line like any other, with the core's `target` and its fields (run_id, failure, ...) as keys.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from temporalio import activity, workflow


def configure_logging(
    fmt: Literal["json", "console"] = "console", level: str = "INFO", stream: object = None
) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        temporal_log_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
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
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Temporal's loggers append their context to the message text; temporal_log_context puts it
    # in fields instead.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    # httpx logs every request at INFO: too chatty for a worker.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def temporal_log_context(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Lift the context of Temporal's `workflow.logger` / `activity.logger` records (their
    temporal_workflow / temporal_activity extras) onto workflow_id, run_id, activity, attempt;
    the target and fields of a forwarded SDK core record (its temporal_log) onto target and
    the fields' own keys; and the fields of an `extra={"fields": {...}}` dict onto the line."""
    record = event_dict.get("_record")
    if record is None:
        return event_dict
    wf = getattr(record, "temporal_workflow", None)
    if isinstance(wf, dict):
        event_dict.setdefault("workflow_id", wf.get("workflow_id"))
        event_dict.setdefault("run_id", wf.get("run_id"))
        event_dict.setdefault("attempt", wf.get("attempt"))
    act = getattr(record, "temporal_activity", None)
    if isinstance(act, dict):
        event_dict.setdefault("workflow_id", act.get("workflow_id"))
        event_dict.setdefault("run_id", act.get("workflow_run_id"))
        event_dict.setdefault("activity", act.get("activity_type"))
        event_dict.setdefault("attempt", act.get("attempt"))
    core = getattr(record, "temporal_log", None)
    if core is not None:
        event_dict.setdefault("target", getattr(core, "target", None))
        try:
            core_fields = core.fields  # converted from the core's representation on each access
        except Exception:  # the SDK's forwarding swallows this too: keep the line
            core_fields = None
        if isinstance(core_fields, dict):
            for key, value in core_fields.items():
                event_dict.setdefault(str(key), value)
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict):
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict
