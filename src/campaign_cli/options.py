"""The options several commands share, and the choices they take."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from contracts import FailureReason

if TYPE_CHECKING:
    from temporalio.client import WorkflowExecutionStatus


def one_of(choices: type[StrEnum]) -> str:
    return "one of " + ", ".join(c.value for c in choices) + " (any case)"


AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        metavar="HOST:PORT",
        help="Temporal server (default: envconfig, else localhost:7233)",
    ),
]


NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", metavar="NAME", help="Temporal namespace (default: envconfig)"),
]


FailureReasonsOpt = Annotated[
    list[FailureReason] | None,
    typer.Option(
        "--failure-reason",
        metavar="REASON",
        case_sensitive=False,
        help=f"Why it failed, {one_of(FailureReason)}; repeat for several",
    ),
]


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


CampaignArg = Annotated[str, typer.Argument(metavar="ID", help="Campaign id (UUID) or workflow id")]


WaitTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="With --wait: give up following after this many seconds",
        min=1,
    ),
]


class ExecutionStatus(StrEnum):
    """Temporal's execution status, as `list --status` takes it."""

    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"
    terminated = "terminated"
    timed_out = "timed_out"

    @property
    def temporal(self) -> WorkflowExecutionStatus:
        from temporalio.client import WorkflowExecutionStatus

        return WorkflowExecutionStatus[self.name.upper()]
