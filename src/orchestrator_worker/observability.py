"""Observability of the worker: Prometheus metrics, the SDK core's logs and log context.

Metrics (CAMPAIGN_METRICS_PORT): one Temporal `Runtime` exports both Temporal's own SDK metrics
(temporal_*) and ours, recorded through Temporal's metric meters (replay-safe in workflows):

    campaign_step_duration_seconds{step,outcome}   one observation per activity attempt
    campaign_step_failures_total{step,reason}      failed attempts, by FailureReason
    campaign_step_retries_total{step}              attempts after the first (Temporal's retries)
    campaign_failures_total{step,reason}           campaigns parked in FAILED          (workflow)
    campaign_operator_retries_total{}              accepted `retry` signals            (workflow)
    campaign_outcomes_total{outcome,reason}        published / failed / cancelled      (workflow)
    campaign_webhook_backlog{notifier}             events a webhook notifier holds     (workflow)

The workflow-side metrics are recorded by workflows/observer.py (and the backlog gauge by
workflows/webhook_notifier.py) with `workflow.metric_meter()`. Failed webhook attempts are
campaign_step_*{step="notify_transition"}, like any other activity's.

Tracing (CAMPAIGN_TRACING=console|otlp) is set up with the connection, in
orchestrator_connection/tracing.py.

Core logs: the worker's Runtime forwards the SDK core's (Rust) log lines to the Python logger
`temporalio.sdk_core`, at CAMPAIGN_LOG_LEVEL (WARNING and up at INFO), so they come out like
every other line (one JSON object with CAMPAIGN_LOG_FORMAT=json, no terminal colours), with
the core's target and fields (e.g. run_id) as keys (see log_setup).

Log context: an activity interceptor binds workflow_id, run_id, activity and attempt into
structlog's contextvars for the activity's duration, so every line an activity writes (structlog
or standard logging) carries them. Workflow lines come from `workflow.logger` (which is silent
during replay); log_setup maps its context onto the same keys.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from contracts import STEPS
from orchestrator_connection.settings import Settings

STEP_DURATION = "campaign_step_duration_seconds"
STEP_FAILURES = "campaign_step_failures_total"
STEP_RETRIES = "campaign_step_retries_total"
STEP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# Activity type -> the campaign state (step) it implements.
_ACTIVITY_STEP = {step.activity: step.state for step in STEPS}


# ---- the runtime: metrics and the SDK core's logs --------------------------------------------


CORE_LOGGER = "temporalio.sdk_core"
# CAMPAIGN_LOG_LEVEL -> the SDK core's level. At INFO the core stays at WARN, as in the SDK's
# default runtime: its INFO lines are about its own machinery.
_CORE_LEVEL = {"DEBUG": "DEBUG", "INFO": "WARN", "WARNING": "WARN", "ERROR": "ERROR"}


def create_runtime(settings: Settings) -> Runtime:
    """The worker's Temporal Runtime (one per process): the SDK core's log lines forwarded to
    Python logging (the `temporalio.sdk_core` logger), and Prometheus metrics on
    CAMPAIGN_METRICS_HOST:PORT when CAMPAIGN_METRICS_PORT is set."""
    metrics = None
    if settings.metrics_port is not None:
        metrics = PrometheusConfig(
            bind_address=f"{settings.metrics_host}:{settings.metrics_port}",
            histogram_bucket_overrides={STEP_DURATION: STEP_DURATION_BUCKETS},
        )
    return Runtime(telemetry=TelemetryConfig(logging=core_logging(settings), metrics=metrics))


def core_logging(settings: Settings) -> LoggingConfig:
    """The SDK core's logs as records of the `temporalio.sdk_core` logger, message and fields
    apart (log_setup puts the core's target and fields on the line), instead of coloured text
    that the core writes to stdout itself."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level=_CORE_LEVEL[settings.log_level], other_level="ERROR"),
        forwarding=LogForwardingConfig(
            logger=logging.getLogger(CORE_LOGGER),
            append_target_to_name=False,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )


def _step_of(activity_type: str) -> str:
    step = _ACTIVITY_STEP.get(activity_type)
    return step.value if step else activity_type


def _reason_of(err: BaseException) -> str:
    if isinstance(err, ApplicationError):
        return err.type or "ApplicationError"
    if isinstance(err, CancelledError):
        return "CANCELLED"
    return type(err).__name__


class _MetricsActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        step = _step_of(info.activity_type)
        meter = activity.metric_meter()
        if info.attempt > 1:
            meter.create_counter(
                STEP_RETRIES, "Step attempts after the first (Temporal retries)"
            ).add(1, {"step": step})
        started = time.monotonic()
        outcome = "ok"
        try:
            return await super().execute_activity(input)
        except BaseException as err:
            outcome = "error"
            meter.create_counter(STEP_FAILURES, "Failed step attempts, by reason").add(
                1, {"step": step, "reason": _reason_of(err)}
            )
            raise
        finally:
            meter.create_histogram_float(
                STEP_DURATION, "Duration of one step attempt (one HTTP call)", "s"
            ).record(time.monotonic() - started, {"step": step, "outcome": outcome})


class MetricsInterceptor(Interceptor):
    """Our activity metrics, on Temporal's activity metric meter (install only with metrics on)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _MetricsActivityInbound(next)


# ---- log context -----------------------------------------------------------------------------


class _LogContextActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            attempt=info.attempt,
        ):
            return await super().execute_activity(input)


class LogContextInterceptor(Interceptor):
    """Binds workflow_id, run_id, activity and attempt to every log line of an activity."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _LogContextActivityInbound(next)


def worker_interceptors(settings: Settings) -> list[Interceptor]:
    """The worker-side interceptors these settings ask for (tracing is on the client)."""
    interceptors: list[Interceptor] = [LogContextInterceptor()]
    if settings.metrics_port is not None:
        interceptors.append(MetricsInterceptor())
    return interceptors
