"""Observability of the worker: Prometheus metrics, OpenTelemetry tracing and log context.

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

Tracing (CAMPAIGN_TRACING=console|otlp, needs the `otel` extra): Temporal's TracingInterceptor
on the client (so on the worker too), and the shared httpx client instrumented, so each
downstream call is a span under its activity's span.

Log context: an activity interceptor binds workflow_id, run_id, activity and attempt into
structlog's contextvars for the activity's duration, so every line an activity writes (structlog
or standard logging) carries them. Workflow lines come from `workflow.logger` (which is silent
during replay); log_setup maps its context onto the same keys.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from contracts import SERVICE_FOR_STATE, CampaignState
from orchestrator_runtime.settings import Settings

STEP_DURATION = "campaign_step_duration_seconds"
STEP_FAILURES = "campaign_step_failures_total"
STEP_RETRIES = "campaign_step_retries_total"
STEP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# Activity type -> the campaign state (step) it implements.
_ACTIVITY_STEP = {
    "radar_scan": CampaignState.RADAR_SCAN,
    "generate_strategy": CampaignState.STRATEGY_GEN,
    "produce_content": CampaignState.CONTENT_PROD,
    "audit_quality": CampaignState.QUALITY_AUDIT,
    "publish_campaign": CampaignState.PUBLISH,
    "learn_from_campaign": CampaignState.LEARN,
}
assert set(_ACTIVITY_STEP.values()) == set(SERVICE_FOR_STATE)


class ObservabilityConfigError(RuntimeError):
    """A setting asks for something this installation cannot do (e.g. tracing without otel)."""


# ---- metrics ---------------------------------------------------------------------------------


def create_runtime(settings: Settings) -> Runtime | None:
    """A Temporal Runtime exporting Prometheus metrics on CAMPAIGN_METRICS_HOST:PORT; None (the
    default runtime, no metrics) when CAMPAIGN_METRICS_PORT is unset. One per process."""
    if settings.metrics_port is None:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.metrics_host}:{settings.metrics_port}",
                histogram_bucket_overrides={STEP_DURATION: STEP_DURATION_BUCKETS},
            )
        )
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


# ---- tracing ---------------------------------------------------------------------------------

_OTEL_MISSING = (
    "CAMPAIGN_TRACING={mode} needs OpenTelemetry: pip install 'campaign-orchestrator[otel]'"
)


def tracing_interceptor(settings: Settings) -> Interceptor | None:
    """Temporal's TracingInterceptor when CAMPAIGN_TRACING is on (client + worker), else None.
    Installs a global TracerProvider exporting to the console or OTLP unless the application
    has already set one (tests set an in-memory one)."""
    if settings.tracing == "off":
        return None
    try:
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError as err:
        raise ObservabilityConfigError(_OTEL_MISSING.format(mode=settings.tracing)) from err
    _ensure_tracer_provider(settings.tracing)
    interceptor: Interceptor = TracingInterceptor()
    return interceptor


def _ensure_tracer_provider(mode: Literal["console", "otlp"]) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # configured by the application already
    exporter: SpanExporter
    if mode == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError as err:
            raise ObservabilityConfigError(
                "CAMPAIGN_TRACING=otlp needs an OTLP exporter: "
                "pip install opentelemetry-exporter-otlp-proto-grpc "
                "(it reads OTEL_EXPORTER_OTLP_ENDPOINT)"
            ) from err
        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "campaign-orchestrator"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def instrument_http_client(client: Any, settings: Settings) -> None:
    """Join each downstream HTTP call to the current (activity) span, when tracing is on."""
    if settings.tracing == "off":
        return
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError as err:
        raise ObservabilityConfigError(_OTEL_MISSING.format(mode=settings.tracing)) from err
    HTTPXClientInstrumentor.instrument_client(client)
