"""`campaign batch`'s progress on stderr: two bars (started, settled) with a note each."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from campaign_cli.console import err_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from orchestrator_client.campaign_batch import BatchReport, LineProblem


class BatchProgress:
    """The batch's callbacks (`on_change`, `on_problem`, `on_warning`) drawn as progress bars;
    off for --json. `stop()` clears the bars before the report is printed."""

    def __init__(self, *, following: bool, disable: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress: Progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=disable,
        )
        self._starting: TaskID = self._progress.add_task("started", total=None, note="")
        self._settling: TaskID = self._progress.add_task(
            "settled", total=None, note="", visible=following
        )

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._progress.stop()

    def on_change(self, report: BatchReport) -> None:
        counts = {
            "existing": len(report.existing),
            "duplicate": len(report.duplicates),
            "bad": len(report.invalid) + len(report.start_errors),
        }
        self._progress.update(
            self._starting,
            total=report.valid,
            completed=report.attempted,
            note=", ".join(f"{n} {what}" for what, n in counts.items() if n),
        )
        failed = sum(1 for o, _ in report.settled.values() if o.value != "published")
        note = f"{failed} not published" if failed else ""
        if report.unavailable:
            note = "Temporal does not answer: retrying"
        elif report.no_worker and len(report.settled) < report.followed:
            note = "no worker polling: waiting" + (f", {note}" if note else "")
        self._progress.update(
            self._settling, total=report.followed, completed=len(report.settled), note=note
        )

    def on_problem(self, problem: LineProblem) -> None:
        self._progress.console.print(f"line {problem.line}: {problem.message}", markup=False)

    def on_warning(self, message: str) -> None:
        self._progress.console.print(f"warning: {message}", markup=False)
