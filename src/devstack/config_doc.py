"""Writes docs/configuration.md, the table of every setting, from the settings classes
themselves, Temporal's envconfig variables, the dev stack's and the compose file's variables.

    python -m devstack.config_doc            # rewrite docs/configuration.md and the README's tables
    python -m devstack.config_doc --check    # exit 1 if either is out of date

A field without a `description=` gets its meaning from NOTES below, and a client setting
(orchestrator_connection.settings.ClientSettings) the programs that read it from CLIENT_READERS
(tests/unit/test_config_doc.py fails when a setting is missing from the document).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"
README_BEGIN = "<!-- settings:begin -->"
README_END = "<!-- settings:end -->"
COMPOSE = ROOT / "docker-compose.temporal.yml"

# Meanings of fields that carry no `description=`.
NOTES: dict[str, str] = {
    "CAMPAIGN_TASK_QUEUE": "Task queue the worker polls and the CLI and gateway start on.",
    "CAMPAIGN_HTTP_TIMEOUT_SECONDS": "Timeout of an HTTP call outside a step (webhook "
    "deliveries). A step's call waits as long as the step's start_to_close_timeout allows.",
    "CAMPAIGN_HTTP_CONNECT_TIMEOUT_SECONDS": "Connect timeout of one downstream HTTP call.",
    "CAMPAIGN_MAX_CONCURRENT_WORKFLOW_TASKS": "Workflow tasks one worker runs at once.",
    "CAMPAIGN_MAX_CACHED_WORKFLOWS": (
        "Workflows kept in the worker's cache (0: replay each task); each cached campaign "
        "holds about 0.21 MB of worker memory, 0.15 MB without the sandbox (docs/performance.md)."
    ),
    "CAMPAIGN_GRACEFUL_SHUTDOWN_SECONDS": "How long a stopping worker lets activities finish.",
    "CAMPAIGN_LOG_FORMAT": "`json` (one object per line, the SDK core's lines too) or `console`.",
    "CAMPAIGN_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR. The SDK core's own lines follow it, "
    "but at INFO they start at WARNING.",
    "CAMPAIGN_METRICS_HOST": "Interface of the Prometheus endpoint (0.0.0.0 in a container).",
    "CAMPAIGN_WEBHOOK_URL": "Receives a signed JSON event per state change of campaigns started "
    "with notify_transitions (the starter sets it when this is set). See contracts/events.py.",
    "CAMPAIGN_CODEC_PORT": "Port of the codec server.",
    "CAMPAIGN_ENCRYPTION_KEYS": "The workers' keys (the codec server exits without them).",
    "CAMPAIGN_GATEWAY_PORT": "Port of the REST gateway.",
    "REFSVC_PORT": "Port of the reference services.",
    "REFSVC_SLOW_SECONDS": "How long a slow call takes.",
    "REFSVC_THROTTLE_RETRY_AFTER_SECONDS": "Retry-After of a throttled (429) answer.",
    "REFSVC_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR.",
    "REFSVC_LOG_FORMAT": "`json` or `console`.",
}

# Which programs read each client setting (orchestrator_connection.settings.ClientSettings); the
# worker-only ones (Settings) are read by the worker alone. Every client setting needs an entry.
CLIENT_READERS: dict[str, str] = {
    "CAMPAIGN_TASK_QUEUE": "worker, CLI, gateway",
    "CAMPAIGN_ENCRYPTION_KEYS": "worker, CLI, gateway, demo",
    "CAMPAIGN_TRACING": "worker, CLI, gateway, demo",
    "CAMPAIGN_WEBHOOK_URL": "worker, CLI",
    "CAMPAIGN_RETRY_BATCH_RPS": "CLI",
}
APP_SECTION = "## Worker and clients (`CAMPAIGN_`)"
# Read by the `campaign` CLI straight from the environment (not a setting of a settings class).
CLI_ENV: tuple[tuple[str, str, str], ...] = (
    ("CAMPAIGN_DEBUG", "unset", "Set (e.g. `1`): an unexpected error (exit 70) prints its "
     "traceback before its one line."),
    ("CAMPAIGN_REVIEWER", "your login name", "Who `campaign approve`, `reject`, "
     "`request-changes`, `pause` and `resume` say decides (`--as` / `--requested-by` win)."),
)  # fmt: skip

ENVCONFIG: tuple[tuple[str, str], ...] = (
    ("TEMPORAL_ADDRESS", "host:port of the Temporal frontend (default localhost:7233)."),
    ("TEMPORAL_NAMESPACE", "Namespace (default `default`)."),
    ("TEMPORAL_API_KEY", "API key (Temporal Cloud); turns TLS on. Secret."),
    ("TEMPORAL_TLS", "`true` for TLS with the system's trusted CAs."),
    ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CA that signs the server's certificate (PEM file)."),
    ("TEMPORAL_TLS_SERVER_CA_CERT_DATA", "The same, inline PEM."),
    ("TEMPORAL_TLS_SERVER_NAME", "Name to verify in the server's certificate (SNI)."),
    ("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "`true` skips host name verification."),
    ("TEMPORAL_TLS_CLIENT_CERT_PATH", "Client certificate for mTLS (PEM file)."),
    ("TEMPORAL_TLS_CLIENT_CERT_DATA", "The same, inline PEM."),
    ("TEMPORAL_TLS_CLIENT_KEY_PATH", "Private key of the client certificate (PEM file)."),
    ("TEMPORAL_TLS_CLIENT_KEY_DATA", "The same, inline PEM. Secret."),
    ("TEMPORAL_GRPC_META_<NAME>", "Extra gRPC header <name> on every call."),
    ("TEMPORAL_PROFILE", "Profile to load from the TOML config file (default `default`)."),
    ("TEMPORAL_CONFIG_FILE", "Path of the TOML config file (default: the OS config dir's "
     "temporalio/temporal.toml)."),
    ("TEMPORAL_CODEC_ENDPOINT", "Codec server the `temporal` CLI uses to show payloads."),
    ("TEMPORAL_CODEC_AUTH", "Authorization header the CLI sends to the codec server."),
)  # fmt: skip

DEVSTACK: tuple[tuple[str, str, str], ...] = (
    ("DEVSTACK_DIR", ".run", "Pid and log files of `make demo`'s processes, and the dev "
     "server's SQLite file."),
    ("DEVSTACK_TEMPORAL_PORT", "7233", "gRPC port of the demo's dev server."),
    ("DEVSTACK_UI_PORT", "8233", "Web UI port of the demo's dev server."),
    ("DEVSTACK_SERVICES_PORT", "8700", "Port of the demo's reference services."),
)  # fmt: skip

COMPOSE_NOTES: dict[str, str] = {
    "TEMPORAL_VERSION": "temporalio/server and temporalio/admin-tools tag (they must match).",
    "TEMPORAL_UI_VERSION": "temporalio/ui tag.",
    "POSTGRES_VERSION": "postgres tag.",
    "POSTGRES_PASSWORD": "Password of the `temporal` database user (secret).",
    "APP_VERSION": "Tag of the two images built from the Dockerfile: campaign-orchestrator (the "
    "worker) and campaign-orchestrator-services (the reference services, the codec server).",
    "CAMPAIGN_SERVICES_TOKEN": "Required. Token the reference services demand and the worker "
    "sends (secret). E.g. `openssl rand -hex 16`.",
    "TEMPORAL_NAMESPACE": "Namespace created and used by the worker.",
    "TEMPORAL_NAMESPACE_RETENTION": "Retention of closed workflows in that namespace.",
    "TEMPORAL_CODEC_ENDPOINT": "Codec server the Web UI calls from the browser "
    "(http://localhost:8081 with the `encryption` profile); empty: none.",
    "CAMPAIGN_TASK_QUEUE": "Passed to the worker.",
    "CAMPAIGN_TRACING": "Passed to the worker.",
    "CAMPAIGN_ENCRYPTION_KEYS": "Passed to the worker and the codec server.",
    "CAMPAIGN_WEBHOOK_URL": "Passed to the worker.",
    "CAMPAIGN_WEBHOOK_SECRET": "Passed to the worker.",
}


def env_name(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias.upper()
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "(set)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(empty)"
    return str(value).rstrip("/") if "://" in str(value) else str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_rows(cls: type[BaseSettings], skip: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    rows = []
    for name, field in cls.model_fields.items():
        var = env_name(cls, name, field)
        if var in skip:
            continue
        meaning = field.description or NOTES.get(var, "")
        rows.append((var, _default(field), meaning))
    return rows


def compose_variables() -> list[tuple[str, str]]:
    """(name, default) of every ${VAR} the compose file interpolates, in order of appearance."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", COMPOSE.read_text()):
        name, op, arg = match.groups()
        if op in (":?", "?"):
            default = "(required)"
        else:
            default = arg if op in (":-", "-") and arg else "empty"
        found.setdefault(name, default)
    return list(found.items())


def table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) if c else "" for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [(f"`{var}`", f"`{default}`", meaning) for var, default, meaning in rows]


def _readers(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    missing = [var for var, _, _ in rows if var not in CLIENT_READERS]
    if missing:
        raise KeyError(f"add {', '.join(missing)} to devstack.config_doc.CLIENT_READERS")
    return [(f"`{var}`", f"`{d}`", CLIENT_READERS[var], m) for var, d, m in rows]


def render() -> str:
    from orchestrator_connection.codec_server import CodecServerSettings
    from orchestrator_connection.settings import ClientSettings, Settings
    from reference_services.faults import FaultConfig
    from reference_services.settings import ReferenceSettings
    from rest_gateway.settings import GatewaySettings

    header = ("Variable", "Default", "Meaning")
    fault_vars = {f"REFSVC_{name}".upper() for name in FaultConfig.model_fields}
    refsvc = settings_rows(ReferenceSettings)
    client_rows = settings_rows(ClientSettings)
    worker_rows = settings_rows(Settings, skip={var for var, _, _ in client_rows})
    parts = [
        "# Configuration",
        "",
        "Every setting, by program. Generated by `python -m devstack.config_doc` from the "
        "settings classes (do not edit by hand). All come from the environment; the CAMPAIGN_ "
        "ones also from a `.env` file in the working directory. An empty variable counts as "
        "unset. Secrets (tokens, keys, passwords) are never logged.",
        "",
        "## Temporal connection (worker, starter CLI, demo, REST gateway)",
        "",
        "Temporal's own envconfig: environment variables, or a profile of a TOML file "
        "(`TEMPORAL_PROFILE`). The starter's `--address`/`--namespace` flags override them.",
        "",
        table(("Variable", "Meaning"), [(f"`{v}`", m) for v, m in ENVCONFIG]),
        "",
        APP_SECTION,
        "",
        "The worker (`campaign-worker`) checks every setting of the first two tables and does "
        "not start when one is invalid: one line naming the variable, exit code 2 (4 when it "
        "cannot reach Temporal). The clients (the "
        "`campaign` CLI, the REST gateway and the demo) read and check only the first table's, "
        "so a setting of the worker's alone cannot stop them.",
        "",
        "Read by the clients too:",
        "",
        table(("Variable", "Default", "Read by", "Meaning"), _readers(client_rows)),
        "",
        "Read by the worker only:",
        "",
        table(header, _code(worker_rows)),
        "",
        "The `campaign` CLI also reads:",
        "",
        table(header, _code(list(CLI_ENV))),
        "",
        "## Codec server (`python -m orchestrator_connection.codec_server`)",
        "",
        table(header, _code(settings_rows(CodecServerSettings))),
        "",
        "## REST gateway (`python -m rest_gateway`)",
        "",
        table(header, _code(settings_rows(GatewaySettings))),
        "",
        "## Reference services (`python -m reference_services`)",
        "",
        table(header, _code([r for r in refsvc if r[0] not in fault_vars])),
        "",
        "Fault injection (the initial config; `PUT /admin/faults` replaces it at run time):",
        "",
        table(header, _code([r for r in refsvc if r[0] in fault_vars])),
        "",
        "## Dev stack (`make demo`, `python -m devstack`)",
        "",
        table(header, [(f"`{v}`", f"`{d}`", m) for v, d, m in DEVSTACK]),
        "",
        "## docker-compose.temporal.yml",
        "",
        "Variables the compose file reads from the shell or a `.env` file next to it.",
        "",
        table(
            header,
            [(f"`{v}`", f"`{d}`", COMPOSE_NOTES.get(v, "")) for v, d in compose_variables()],
        ),
        "",
    ]
    return "\n".join(parts)


def render_readme(readme: str) -> str:
    """The README with the settings tables (every program's, not Temporal's envconfig, which the
    README names) between its markers, headings shown as bold lines."""
    doc = render()
    start = doc.index(APP_SECTION)
    lines = []
    for line in doc[start:].splitlines():
        lines.append(f"**{line.removeprefix('## ')}**" if line.startswith("## ") else line)
    block = "\n".join(lines).strip()
    head, found, rest = readme.partition(README_BEGIN)
    _, found_end, tail = rest.partition(README_END)
    if not (found and found_end):
        raise ValueError(f"README.md lacks the markers {README_BEGIN} ... {README_END}")
    return f"{head}{README_BEGIN}\n{block}\n{README_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.config_doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is outdated")
    args = parser.parse_args(argv)
    wanted = {DOC: render(), README: render_readme(README.read_text())}
    if args.check:
        stale = [
            path for path, text in wanted.items() if not path.exists() or path.read_text() != text
        ]
        for path in stale:
            print(f"{path} is out of date: run `python -m devstack.config_doc`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in wanted.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
