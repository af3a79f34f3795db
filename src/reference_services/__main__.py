"""Run the reference services: `python -m reference_services [--host H] [--port P] [--log-file F]`.

Binds 127.0.0.1:8700 by default (REFSVC_HOST / REFSVC_PORT). Logs go to stderr, and also to
--log-file when given. Fault knobs come from REFSVC_* (see settings.py) and /admin/faults.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

import structlog
from pydantic import ValidationError

from program_setup.extras import exit_for_missing_extra
from program_setup.logs import configure_structlog
from program_setup.settings_errors import invalid_settings
from reference_services.settings import ReferenceSettings

try:
    import uvicorn

    from reference_services.app import create_app
except ModuleNotFoundError as err:  # fastapi, uvicorn: not in the core install
    exit_for_missing_extra(err, "services", "python -m reference_services")


def configure_logging(level: str, fmt: str, log_file: Path | None) -> None:
    """program_setup's setup, with uvicorn's loggers handing their lines to it."""
    configure_structlog(fmt, level, log_file=log_file)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings() -> ReferenceSettings:
    """REFSVC_* from the environment; a bad one stops the program with one line naming it."""
    try:
        return ReferenceSettings()
    except ValidationError as err:
        print(f"error: {invalid_settings(err, 'REFSVC_')}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(
        prog="python -m reference_services",
        description="The six reference services of campaign-orchestrator, in one HTTP app.",
    )
    parser.add_argument("--host", default=settings.host, help=f"default {settings.host}")
    parser.add_argument("--port", type=int, default=settings.port, help=f"default {settings.port}")
    parser.add_argument("--log-file", type=Path, default=None, help="also write logs here")
    parser.add_argument(
        "--log-level", default=settings.log_level, choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--log-format", default=settings.log_format, choices=["console", "json"])
    args = parser.parse_args(argv)

    configure_logging(args.log_level, args.log_format, args.log_file)
    log = structlog.get_logger("reference_services")
    settings = settings.model_copy(update={"host": args.host, "port": args.port})
    if not _is_loopback(args.host) and settings.require_token is None:
        log.warning(
            "listening beyond loopback without REFSVC_REQUIRE_TOKEN: anyone who can reach "
            "this port can call the services and the /admin endpoints",
            host=args.host,
        )
    log.info(
        "reference_services_starting",
        host=args.host,
        port=args.port,
        token_required=settings.require_token is not None,
        faults=settings.fault_config().model_dump(mode="json"),
    )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        log_level=args.log_level.lower(),
    )


if __name__ == "__main__":
    main()
