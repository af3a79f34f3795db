"""Connecting to Temporal: envconfig (env vars or a TOML profile) and the pydantic converter."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig


class TemporalUnavailableError(RuntimeError):
    """The Temporal server could not be reached; the message says where we tried."""


def connect_config(**overrides: Any) -> dict[str, Any]:
    """The Client.connect arguments from Temporal's envconfig, with explicit overrides on top."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", "localhost:7233")
    config.setdefault("namespace", "default")
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


async def connect(**overrides: Any) -> Client:
    config = connect_config(**overrides)
    try:
        return await Client.connect(data_converter=pydantic_data_converter, **config)
    except RuntimeError as err:
        raise TemporalUnavailableError(
            f"cannot reach Temporal at {config['target_host']} "
            f"(namespace {config['namespace']}): {_short(err)}"
        ) from err


def _short(err: Exception) -> str:
    text = str(err)
    for needle, short in (
        ("ConnectionRefused", "connection refused"),
        ("dns error", "unknown host"),
        ("timed out", "timed out"),
        ("InvalidCertificate", "TLS certificate rejected"),
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
