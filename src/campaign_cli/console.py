"""Where the CLI writes, its exit codes, and the one-line error every failure ends in."""

from __future__ import annotations

import typer
from rich.console import Console

EXIT_FAILED, EXIT_INPUT, EXIT_CAMPAIGN, EXIT_UNREACHABLE, EXIT_NO_WORKER = 1, 2, 3, 4, 5


EXIT_BUG = 70  # EX_SOFTWARE


out = Console(highlight=False, soft_wrap=True)


err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code)
