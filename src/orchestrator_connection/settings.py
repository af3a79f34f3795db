"""Application settings, from the environment (prefix CAMPAIGN_) or a .env file.

Two classes, so that a program checks only the settings it reads:

    ClientSettings   what the clients read (the `campaign` CLI, the REST gateway, the demo):
                     task queue, payload encryption, tracing, the webhook URL (the CLI sets
                     notify_transitions when it is set), the CLI's batch retry rate
    Settings         the worker's: all of the above and everything else (downstream services,
                     the HTTP client, concurrency, logging, metrics, the sandbox, webhooks ...)

A bad worker-only setting (say CAMPAIGN_LOG_LEVEL=verbose) stops the worker, with one line naming
it, and not the CLI. `load_client_settings()` and `load_settings()` raise that one line.

The Temporal connection is not here: it comes from Temporal's own envconfig
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import DEFAULT_TASK_QUEUE, ServiceName
from orchestrator_connection.config_errors import SettingsError as SettingsError
from program_setup.settings_errors import invalid_settings

DEFAULT_SERVICES_URL = "http://127.0.0.1:8700"
DEFAULT_SERVICE_SLOTS = 100
WORKFLOWS = "workflows"  # in CAMPAIGN_WORKER_SERVICES: the main task queue
_S = TypeVar("_S", bound=BaseSettings)


def package_version() -> str:
    """The installed campaign-orchestrator's version (the default build id)."""
    try:
        return version("campaign-orchestrator")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "dev"


class ClientSettings(BaseSettings):
    """What the clients read; the worker reads them too (all but retry_batch_rps)."""

    # An empty variable counts as unset (docker compose passes optional ones through empty).
    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    task_queue: str = Field(default=DEFAULT_TASK_QUEUE, min_length=1)

    # Payload encryption (see orchestrator_connection.encryption): off when unset.
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="'keyid:base64key,...' (AES-256-GCM): the first encrypts, all decrypt.",
    )
    # Tracing (see orchestrator_connection.tracing): an interceptor on every client.
    tracing: Literal["off", "console", "otlp"] = Field(
        default="off",
        description="OpenTelemetry tracing (needs the `otel` extra): `console`, or `otlp` to "
        "the collector at OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/gRPC, default localhost:4317).",
    )
    # State-change webhooks: a signed JSON event per transition, for campaigns started with
    # notify_transitions (the starter sets it when CAMPAIGN_WEBHOOK_URL is set).
    webhook_url: AnyHttpUrl | None = None

    # The CLI's `campaign retry --all-failed`.
    retry_batch_rps: float = Field(
        default=50.0,
        gt=0,
        le=10_000,
        description="Retries per second asked of the batch signal (max_operations_per_second; "
        "servers from 1.29 apply their own worker.batcherRPS instead) and of --one-by-one.",
    )


@dataclass(frozen=True)
class WorkerRoles:
    """What one worker process runs: the main task queue (the workflows, the webhook outbox)
    and the task queues of some services (their step activities)."""

    workflows: bool
    services: tuple[ServiceName, ...]

    @classmethod
    def parse(cls, text: str) -> WorkerRoles:
        """`all`, or a comma-separated list of `workflows` and service names."""
        names = [n.strip().lower() for n in text.split(",") if n.strip()]
        if not names:
            raise ValueError("names nothing to run (`all`, `workflows` or service names)")
        choices = ["all", WORKFLOWS, *(s.value for s in ServiceName)]
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise ValueError(
                f"unknown {', '.join(map(repr, unknown))}; choose from {', '.join(choices)}"
            )
        if "all" in names:
            return cls(workflows=True, services=tuple(ServiceName))
        return cls(
            workflows=WORKFLOWS in names,
            services=tuple(s for s in ServiceName if s.value in names),
        )

    def __str__(self) -> str:
        return ",".join([WORKFLOWS] * self.workflows + [s.value for s in self.services])


def _service_fields() -> dict[str, Any]:
    """For every downstream service (one step each, contracts.STEPS): CAMPAIGN_<SERVICE>_URL
    (all default to the reference services) and _TOKEN, and the worker slots and the rate
    limit of its task queue, _SLOTS and _RATE_LIMIT."""
    urls = {
        f"{s.value}_url": (
            AnyHttpUrl,
            Field(
                default=AnyHttpUrl(DEFAULT_SERVICES_URL),
                description=f"Base URL of the {s.value} service.",
            ),
        )
        for s in ServiceName
    }
    tokens = {
        f"{s.value}_token": (
            SecretStr | None,
            Field(
                default=None, description=f"Bearer token sent to the {s.value} service (secret)."
            ),
        )
        for s in ServiceName
    }
    slots = {
        f"{s.value}_slots": (
            int,
            Field(
                default=DEFAULT_SERVICE_SLOTS,
                ge=1,
                le=10_000,
                description=f"Activity slots of one worker on the {s.value} service's task "
                f"queue (`<task queue>-{s.value}`): its calls at once, a bulkhead of its own.",
            ),
        )
        for s in ServiceName
    }
    rates = {
        f"{s.value}_rate_limit": (
            float | None,
            Field(
                default=None,
                gt=0,
                le=100_000,
                description=f"Calls per second that the server dispatches from the {s.value} "
                "queue to all workers together; unlimited when unset.",
            ),
        )
        for s in ServiceName
    }
    return {**urls, **tokens, **slots, **rates}


if TYPE_CHECKING:  # the fields are read through service_url() and service_token()
    _WithServices = ClientSettings
else:
    _WithServices = create_model("_WithServices", __base__=ClientSettings, **_service_fields())


class Settings(_WithServices):
    """The worker's settings: the clients' and its own. The worker validates them all."""

    # The shared httpx client.
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    http_max_connections: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Connection pool size of the shared HTTP client. Default: the slots of "
        "the queues this worker runs, so that no call waits for a connection.",
    )
    http_max_keepalive_connections: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="Idle connections the shared client keeps. Default: as many as its pool, "
        "so a busy worker reuses its connections instead of opening new ones.",
    )
    max_response_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        # An activity input carries up to two artifacts; above this, one could pass Temporal's
        # 2 MiB payload limit, which fails the workflow task over and over (docs/reliability.md).
        le=512 * 1024,
        description="Larger answers fail the step (PAYLOAD_TOO_LARGE): history stays small.",
    )

    # Worker.
    worker_services: str = Field(
        default="all",
        description="What this worker runs: `all`, or a comma-separated list of `workflows` "
        "(the main task queue: the campaigns' workflow tasks and webhook deliveries) and "
        "service names (their step activities); `campaign-worker --services` sets it.",
    )
    max_concurrent_activities: int = Field(
        default=100,
        ge=1,
        description="Activity slots on the main task queue (webhook deliveries); each "
        "service's step has its own, CAMPAIGN_<SERVICE>_SLOTS.",
    )
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    max_cached_workflows: int = Field(default=1000, ge=0)
    graceful_shutdown_seconds: float = Field(default=10.0, ge=0)
    workflow_sandbox: bool = Field(
        default=True,
        description="Run workflow code in the SDK's sandbox, which stops a non-deterministic call "
        "at run time. `false` saves about a fifth of the worker's CPU and memory "
        "(docs/performance.md); only for code that has passed the (sandboxed) test suite.",
    )

    # Worker Versioning (docs/changing-the-graph.md).
    worker_versioning: bool = Field(
        default=True,
        description="Register as a version of a Worker Deployment (deployment_name.build_id): "
        "the server routes each campaign's tasks to the deployment's current version.",
    )
    deployment_name: str = Field(
        default="campaign-orchestrator",
        min_length=1,
        max_length=200,
        description="The Worker Deployment this worker belongs to (no `.` in it).",
    )
    build_id: str = Field(
        default_factory=lambda: package_version(),
        min_length=1,
        max_length=200,
        description="This build's id within the deployment. Default: the package version.",
    )
    make_first_version_current: bool = Field(
        default=True,
        description="When the deployment has no current version (its first start), make this "
        "worker's version current. It never replaces a current version.",
    )

    # Logging.
    log_format: Literal["json", "console"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Observability (see orchestrator_worker.observability).
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Prometheus /metrics port; off when unset."
    )
    metrics_host: str = Field(default="127.0.0.1", min_length=1)
    # The key that signs the webhook events (the URL is a client setting too).
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-Campaign-Signature header."
    )

    @field_validator("worker_services")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        return str(WorkerRoles.parse(value))

    @field_validator("deployment_name")
    @classmethod
    def _no_dot(cls, value: str) -> str:
        if "." in value:
            raise ValueError(f"{value!r} must not contain '.' (it separates the build id)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("CAMPAIGN_WEBHOOK_URL is set without CAMPAIGN_WEBHOOK_SECRET")
        return self

    def service_url(self, service: ServiceName) -> str:
        url: AnyHttpUrl = getattr(self, f"{service.value}_url")
        return str(url).rstrip("/")

    def service_token(self, service: ServiceName) -> SecretStr | None:
        token: SecretStr | None = getattr(self, f"{service.value}_token")
        return token

    def service_slots(self, service: ServiceName) -> int:
        slots: int = getattr(self, f"{service.value}_slots")
        return slots

    def service_rate_limit(self, service: ServiceName) -> float | None:
        rate: float | None = getattr(self, f"{service.value}_rate_limit")
        return rate

    def roles(self) -> WorkerRoles:
        return WorkerRoles.parse(self.worker_services)

    def http_keepalive(self) -> int:
        if self.http_max_keepalive_connections is not None:
            return self.http_max_keepalive_connections
        return self.http_connections()

    def http_connections(self) -> int:
        """The pool size: as set, or one connection per slot of the queues this worker runs."""
        if self.http_max_connections is not None:
            return self.http_max_connections
        roles = self.roles()
        main = self.max_concurrent_activities if roles.workflows else 0
        return main + sum(self.service_slots(s) for s in roles.services)


def load_client_settings() -> ClientSettings:
    """The clients' settings from the environment (the worker-only ones are not read), or a
    SettingsError that names the variables."""
    return load(ClientSettings)


def load_settings() -> Settings:
    """The worker's settings (all of them) from the environment, or a SettingsError that names
    the variables."""
    return load(Settings)


def load(cls: type[_S]) -> _S:
    """Any settings class from the environment, or a SettingsError naming each bad variable
    (by the class's prefix: CAMPAIGN_, CAMPAIGN_GATEWAY_, ...)."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    try:
        return cls()
    except ValidationError as err:
        raise SettingsError(invalid_settings(err, prefix)) from None
