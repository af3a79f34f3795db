"""Tracing (CAMPAIGN_TRACING=console|otlp, needs the `otel` extra): Temporal's TracingInterceptor
on the client (so on the worker too), and the worker's shared httpx client instrumented, so each
downstream call is a span under its activity's span."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from orchestrator_connection.settings import ClientSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter  # the `otel` extra
    from temporalio.client import Interceptor


class ObservabilityConfigError(RuntimeError):
    """A setting asks for something this installation cannot do (e.g. tracing without otel)."""


_OTEL_MISSING = (
    "CAMPAIGN_TRACING={mode} needs OpenTelemetry: pip install 'campaign-orchestrator[otel]'"
)
# CAMPAIGN_TRACING=otlp: the exporter the `otel` extra installs (pyproject.toml), and its module.
OTLP_EXPORTER_PACKAGE = "opentelemetry-exporter-otlp-proto-grpc"
OTLP_EXPORTER_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


def tracing_interceptor(settings: ClientSettings) -> Interceptor | None:
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
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # configured by the application already
    exporter: SpanExporter = ConsoleSpanExporter() if mode == "console" else otlp_span_exporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "campaign-orchestrator"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def otlp_span_exporter() -> SpanExporter:
    """The OTLP/gRPC span exporter, configured by the OTEL_EXPORTER_OTLP_* variables (default
    endpoint localhost:4317). It connects when it first exports, so it builds with no collector
    running; an ObservabilityConfigError names the package when it is not installed."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError as err:
        raise ObservabilityConfigError(
            f"CAMPAIGN_TRACING=otlp needs the OTLP exporter, which is not installed: "
            f"pip install 'campaign-orchestrator[otel]' (or {OTLP_EXPORTER_PACKAGE})"
        ) from err
    return OTLPSpanExporter()


def instrument_http_client(client: Any, settings: ClientSettings) -> None:
    """Join each downstream HTTP call to the current (activity) span, when tracing is on."""
    if settings.tracing == "off":
        return
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError as err:
        raise ObservabilityConfigError(_OTEL_MISSING.format(mode=settings.tracing)) from err
    HTTPXClientInstrumentor.instrument_client(client)
