"""What every program of the distribution sets up when it starts, importing nothing of the
project: its logging (logs.py: structlog over the standard library) and the check that the
extra it needs is installed (extras.py), and the one line naming a bad setting
(settings_errors.py). The worker, the CLI's neighbours (gateway, codec
server, dev stack, bench) and the reference services, which stand in for downstream services
and depend on nothing of the orchestrator's, all build on it."""
