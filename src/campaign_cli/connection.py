"""How a command reaches Temporal: connect, run, and turn every expected error into one line
and an exit code (console.py) naming the server and namespace it asked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from campaign_cli.console import EXIT_CAMPAIGN, EXIT_INPUT, EXIT_NO_WORKER, EXIT_UNREACHABLE, fail

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.service import RPCError

    from orchestrator_client.campaign_lookup import Visibility
    from orchestrator_connection.settings import ClientSettings


T = TypeVar("T")
C = TypeVar("C")  # what a command runs on: a Client, or the Visibility of a status read


def run(work: Callable[[Client], Awaitable[T]], address: str | None, namespace: str | None) -> T:
    """Connect a client, run, and turn every expected error into one clear line and an exit
    code; every line after the connection names the server and namespace it asked."""
    from orchestrator_client.campaign_ops import target
    from orchestrator_connection.temporal_client import cli_runtime, connect

    async def connected() -> tuple[Client, str]:
        client = await connect(target_host=address, namespace=namespace, runtime=cli_runtime())
        return client, target(client)

    return run_on(connected, work)


def run_light(
    work: Callable[[Visibility], Awaitable[T]], address: str | None, namespace: str | None
) -> T:
    """`run` with the service client alone (a status read: no `temporalio.client` to load)."""
    from orchestrator_connection.temporal_client import cli_runtime, connect_service

    async def connected() -> tuple[Visibility, str]:
        temporal = await connect_service(
            target_host=address, namespace=namespace, runtime=cli_runtime()
        )
        return temporal, temporal.where

    return run_on(connected, work)


def run_on(
    connected: Callable[[], Awaitable[tuple[C, str]]], work: Callable[[C], Awaitable[T]]
) -> T:
    from temporalio.service import RPCError

    from orchestrator_client.campaign_errors import (
        CampaignConflictError,
        CampaignError,
        NoWorkerError,
        UnknownCampaignError,
    )
    from orchestrator_connection.config_errors import SettingsError
    from orchestrator_connection.temporal_client import (
        ConnectionConfigError,
        TemporalUnavailableError,
    )

    asked: list[str] = []

    async def main() -> T:
        temporal, where = await connected()
        asked.append(where)
        return await work(temporal)

    def where(message: str) -> str:
        return message if not asked or asked[0] in message else f"{message} ({asked[0]})"

    try:
        return asyncio.run(main())
    except ConnectionConfigError as err:  # a bad TLS file, encryption key or tracing setup
        raise fail(str(err), EXIT_INPUT) from None
    except TemporalUnavailableError as err:
        raise fail(str(err), EXIT_UNREACHABLE) from None
    except SettingsError as err:
        raise fail(str(err), EXIT_INPUT) from None
    except UnknownCampaignError as err:
        raise fail(where(str(err)), EXIT_CAMPAIGN) from None
    except CampaignConflictError as err:  # refused commands too: the reason and its code
        raise fail(where(str(err)), EXIT_CAMPAIGN) from None
    except NoWorkerError as err:
        raise fail(where(str(err)), EXIT_NO_WORKER) from None
    except CampaignError as err:
        raise fail(where(str(err)), EXIT_INPUT) from None
    except RPCError as err:
        message, code = rpc_failure(err)
        raise fail(where(message), code) from None


def rpc_failure(err: RPCError) -> tuple[str, int]:
    """A call the server refused or could not answer, as one line and an exit code."""
    from temporalio.service import RPCStatusCode

    if err.status == RPCStatusCode.NOT_FOUND and "amespace" in err.message:
        return f"{err.message.rstrip('.')}: check --namespace / TEMPORAL_NAMESPACE", EXIT_INPUT
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.PERMISSION_DENIED):
        return f"Temporal refused the call: {err.message}", EXIT_INPUT
    return f"Temporal did not answer ({err.status.name}: {err.message})", EXIT_UNREACHABLE


def client_settings() -> ClientSettings:
    from orchestrator_connection.settings import SettingsError, load_client_settings

    try:
        return load_client_settings()
    except SettingsError as err:
        raise fail(str(err), EXIT_INPUT) from None


def check_ref(campaign: str) -> str:
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_lookup import workflow_id_from_ref

    try:
        return workflow_id_from_ref(campaign)
    except CampaignError as err:
        raise fail(str(err), EXIT_INPUT) from None
