"""Connecting to Temporal: envconfig (env vars or a TOML profile) and the pydantic converter.

`connect` gives a full client; `connect_service` only the service client that a status read
needs (no `temporalio.client`, no settings unless there are any), for `campaign status`."""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.envconfig import ClientConfig
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import ConnectConfig, ServiceClient, WorkflowService

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.converter import DataConverter, PayloadCodec

    from orchestrator_connection.settings import ClientSettings

_SPEAKS_TLS = "protocol error: the server speaks TLS and this client does not (TEMPORAL_TLS=true)"
_NOT_GRPC = (
    "no gRPC answer: is this Temporal's frontend port (default 7233), not a web or HTTP port?"
)


class TemporalUnavailableError(RuntimeError):
    """The Temporal server could not be reached; the message says where we tried."""


class ConnectionConfigError(TemporalUnavailableError):
    """The connection settings are unusable (a missing TLS file, a malformed encryption key,
    tracing without the otel extra). The message names the setting, never a secret."""


def connect_config(**overrides: Any) -> dict[str, Any]:
    """The Client.connect arguments from Temporal's envconfig, with explicit overrides on top."""
    try:
        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    except FileNotFoundError as err:  # a TEMPORAL_TLS_*_PATH that does not exist
        raise ConnectionConfigError(
            f"Temporal connection config names a file that does not exist: {err.filename}"
        ) from None
    config.setdefault("target_host", "localhost:7233")
    config.setdefault("namespace", "default")
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


@functools.cache
def cli_runtime() -> Runtime:
    """The SDK runtime for command-line clients: the SDK core's own log lines (WARN and up) go
    through Python logging to stderr, never onto stdout, where `--json` output goes."""
    core = logging.getLogger("temporalio.core")
    if not core.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("temporal sdk: %(levelname)s %(message)s"))
        core.addHandler(handler)
        core.propagate = False
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=core, append_target_to_name=False),
            )
        )
    )


def data_converter(settings: ClientSettings) -> DataConverter:
    """The pydantic converter, with AES-GCM payload encryption when CAMPAIGN_ENCRYPTION_KEYS
    is set (worker, starter and demo must agree: they all connect through here)."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    if settings.encryption_keys is None:
        return pydantic_data_converter
    from orchestrator_connection.encryption import EncryptionCodec, encrypted_data_converter

    codec = EncryptionCodec.from_spec(settings.encryption_keys)
    return encrypted_data_converter(pydantic_data_converter, codec)


def _converter_or_config_error(settings: ClientSettings) -> DataConverter:
    if settings.encryption_keys is None:
        from temporalio.contrib.pydantic import pydantic_data_converter

        return pydantic_data_converter  # without loading the encryption module
    from orchestrator_connection.encryption import EncryptionConfigError

    try:
        return data_converter(settings)
    except EncryptionConfigError as err:
        raise ConnectionConfigError(str(err)) from None


def _codec_or_config_error(settings: ClientSettings) -> PayloadCodec | None:
    if settings.encryption_keys is None:
        return None
    from orchestrator_connection.encryption import EncryptionCodec, EncryptionConfigError

    try:
        return EncryptionCodec.from_spec(settings.encryption_keys)
    except EncryptionConfigError as err:
        raise ConnectionConfigError(str(err)) from None


def _has_settings() -> bool:
    """Whether any CAMPAIGN_* setting is there to read (the environment or ./.env)."""
    return any(name.upper().startswith("CAMPAIGN_") for name in os.environ) or (
        Path(".env").is_file()
    )


def _tracing_or_config_error(settings: ClientSettings) -> Any:
    if settings.tracing == "off":
        return None  # without loading the tracing module
    from orchestrator_connection.tracing import ObservabilityConfigError, tracing_interceptor

    try:
        return tracing_interceptor(settings)
    except ObservabilityConfigError as err:
        raise ConnectionConfigError(str(err)) from None


async def connect(*, settings: ClientSettings | None = None, **overrides: Any) -> Client:
    """A client from envconfig (TEMPORAL_*) plus, from `settings` (default: the environment's
    CAMPAIGN_*), the data converter (encryption) and the tracing interceptor."""
    from temporalio.client import Client

    from orchestrator_connection.settings import load_client_settings

    settings = settings or load_client_settings()
    config = connect_config(**overrides)
    config.setdefault("data_converter", _converter_or_config_error(settings))
    tracing = _tracing_or_config_error(settings)
    if tracing is not None:
        config["interceptors"] = [*config.get("interceptors", ()), tracing]
    try:
        return await Client.connect(**config)
    except RuntimeError as err:
        raise await _unavailable(err, config) from err


@dataclass(frozen=True)
class ServiceConnection:
    """The workflow service alone, where it is, and the payload codec a memo read needs."""

    service: WorkflowService
    namespace: str
    target_host: str
    codec: PayloadCodec | None = None

    @property
    def where(self) -> str:
        return where(self.target_host, self.namespace)


def where(target_host: str, namespace: str) -> str:
    """Which server and namespace were asked: every error message names them."""
    return f"Temporal at {target_host}, namespace {namespace}"


async def connect_service(*, runtime: Runtime | None = None, **overrides: Any) -> ServiceConnection:
    """The service client alone, from the same envconfig, for reads of visibility: what
    `campaign status` needs. The CAMPAIGN_* settings are read (and checked) only when there are
    any, for the payload codec that an encrypted memo needs."""
    config = connect_config(**overrides)
    codec = None
    if _has_settings():
        from orchestrator_connection.settings import load_client_settings

        codec = _codec_or_config_error(load_client_settings())
    try:
        service = await ServiceClient.connect(
            ConnectConfig(
                target_host=config["target_host"],
                api_key=config.get("api_key"),
                tls=config.get("tls"),
                rpc_metadata=config.get("rpc_metadata", {}),
                runtime=runtime,
            )
        )
    except RuntimeError as err:
        raise await _unavailable(err, config) from err
    return ServiceConnection(
        service=service.workflow_service,
        namespace=config["namespace"],
        target_host=config["target_host"],
        codec=codec,
    )


async def _unavailable(err: RuntimeError, config: dict[str, Any]) -> TemporalUnavailableError:
    why = _short(err)
    if not config.get("tls") and await _speaks_tls(config["target_host"]):
        why = _SPEAKS_TLS
    return TemporalUnavailableError(
        f"cannot reach Temporal at {config['target_host']} (namespace {config['namespace']}): {why}"
    )


async def _speaks_tls(target_host: str) -> bool:
    """After a failed plaintext connect: does the port complete a TLS handshake? (A plaintext
    gRPC client facing TLS fails in several ways; this names the cause.)"""
    import asyncio
    import ssl

    host, _, port = target_host.rpartition(":")
    if not host or not port.isdigit():
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port), ssl=context), 2.0
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return True


def _short(err: Exception) -> str:
    text = str(err)
    for needle, short in (
        ("ConnectionRefused", "connection refused"),
        ("dns error", "unknown host"),
        ("timed out", "timed out"),
        ("Timeout expired", "timed out"),
        (
            "InvalidCertificate",
            "TLS certificate rejected: the server's certificate is not trusted "
            "(TEMPORAL_TLS_SERVER_CA_CERT_PATH names the CA to trust)",
        ),
        (
            "status: 401",
            "refused as unauthenticated: API key missing or wrong (TEMPORAL_API_KEY)",
        ),
        ("Unauthenticated", "refused as unauthenticated: credentials missing or wrong"),
        (
            "ertificate required",
            "refused: the server requires a client certificate "
            "(TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH)",
        ),
        (
            "status: 400 Bad Request",
            "refused with HTTP 400 by a TLS proxy: no client certificate, or one it does not "
            "trust (TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH)",
        ),
        # An HTTP/1 server (the Web UI, a service) or a TLS one (the probe then says which).
        ("FRAME_SIZE_ERROR", _NOT_GRPC),
        ("hyper::Error(", _NOT_GRPC),  # the HTTP/2 layer failed: broken pipe, closed, ...
    ):
        if needle in text:
            return short
    return text


async def register_search_attributes(client: Client) -> None:
    """Register the workflow's search attributes, one by one; already registered is fine. The dev
    server this project starts registers them with flags; this is for the test server and others."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    from workflows import search_attributes

    for key in search_attributes.ALL:
        value_type = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}")
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={key.name: value_type}
                )
            )
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
