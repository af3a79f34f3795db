"""Serve the REST gateway: `python -m rest_gateway [--host H] [--port P]`.

Binds 127.0.0.1:8800 by default (CAMPAIGN_GATEWAY_HOST / CAMPAIGN_GATEWAY_PORT). OpenAPI at
/docs. Temporal from envconfig (TEMPORAL_ADDRESS, ...); task queue from CAMPAIGN_TASK_QUEUE.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

import uvicorn

from orchestrator_runtime.process_exit import exit_without_finalizing
from rest_gateway.app import create_app
from rest_gateway.settings import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    settings = GatewaySettings()
    parser = argparse.ArgumentParser(prog="python -m rest_gateway", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def entry_point() -> NoReturn:
    """The console script (see orchestrator_runtime.process_exit)."""
    exit_without_finalizing(main())


if __name__ == "__main__":
    entry_point()
