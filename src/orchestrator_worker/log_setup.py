"""The worker's structlog configuration: program_setup's (JSON or console, the standard
library routed in), plus Temporal's context on every line.

That includes the SDK core's (Rust) lines, which the worker's Runtime forwards to the
`temporalio.sdk_core` logger (orchestrator_worker.observability.create_runtime): each one is a
line like any other, with the core's `target` and its fields (run_id, failure, ...) as keys.
"""

from __future__ import annotations

import logging
from typing import IO, Literal

import structlog
from temporalio import activity, workflow

from program_setup.logs import configure_structlog


def configure_logging(
    fmt: Literal["json", "console"] = "console", level: str = "INFO", stream: IO[str] | None = None
) -> None:
    """The worker's logging: program_setup's, with Temporal's context lifted onto the line
    (temporal_log_context)."""
    configure_structlog(fmt, level, stream=stream, pre_chain=[temporal_log_context])
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
