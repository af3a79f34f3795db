"""Serve the REST gateway: `python -m rest_gateway [--host H] [--port P]`.

Binds 127.0.0.1:8800 by default (CAMPAIGN_GATEWAY_HOST / CAMPAIGN_GATEWAY_PORT). OpenAPI at
/docs. Temporal from envconfig (TEMPORAL_ADDRESS, ...); task queue from CAMPAIGN_TASK_QUEUE.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from orchestrator_connection.process_exit import exit_without_finalizing
from orchestrator_connection.settings import SettingsError, load, load_client_settings
from orchestrator_connection.temporal_client import TemporalUnavailableError, connect_config
from program_setup.extras import exit_for_missing_extra
from rest_gateway.settings import GatewaySettings

try:
    import uvicorn

    from rest_gateway.app import create_app
except ModuleNotFoundError as err:  # fastapi, uvicorn: not in the core install
    exit_for_missing_extra(err, "services", "campaign-gateway")


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load(GatewaySettings)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m rest_gateway", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    try:
        config = connect_config()
        queue = load_client_settings().task_queue
    except (TemporalUnavailableError, SettingsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # Which Temporal it serves, before uvicorn's own lines (it connects on the first request).
    print(
        f"REST gateway on http://{args.host}:{args.port} for Temporal at "
        f"{config['target_host']}, namespace {config['namespace']}, task queue '{queue}'",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def entry_point() -> NoReturn:
    """The console script (see orchestrator_connection.process_exit)."""
    exit_without_finalizing(main())


if __name__ == "__main__":
    entry_point()
