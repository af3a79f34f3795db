"""`campaign batch`: start every campaign of a JSONL file, show progress, then the outcomes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from campaign_cli.connection import client_settings, run
from campaign_cli.console import EXIT_FAILED, EXIT_INPUT, fail
from campaign_cli.options import AddressOpt, JsonOpt, NamespaceOpt
from campaign_cli.progress import BatchProgress
from campaign_cli.rendering import print_batch
from orchestrator_client.batch_window import DEFAULT_MAX_IN_FLIGHT

if TYPE_CHECKING:
    from temporalio.client import Client

    from orchestrator_client.campaign_batch import BatchReport


def batch(
    file: Annotated[
        Path, typer.Argument(help="JSONL: one campaign (or bare brief) per line", dir_okay=False)
    ],
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-j", help="Start calls in flight at once", min=1, max=512),
    ] = 32,
    max_in_flight: Annotated[
        int,
        typer.Option(
            help="While following: campaigns started and not yet settled, at most (0: no bound)",
            min=0,
        ),
    ] = DEFAULT_MAX_IN_FLIGHT,
    task_queue: Annotated[str | None, typer.Option(help="Default: CAMPAIGN_TASK_QUEUE")] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the campaigns to their outcome")
    ] = True,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for outcomes after the last start (and, with a full "
            "--max-in-flight window, for one campaign to settle)",
            min=1,
        ),
    ] = 1800.0,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Start every campaign in a JSONL file; show progress, then a table of outcomes.

    \b
    Examples:
      campaign batch briefs.jsonl                    start, follow, print the outcome table
      campaign batch briefs.jsonl -j 64 --no-wait    only start them, 64 start calls at a time
      campaign batch briefs.jsonl --max-in-flight 200   at most 200 campaigns running at once
      campaign batch briefs.jsonl --json > report.json

    \b
    Each line is a full campaign input or a bare brief, for example:
      {"name": "Spring", "objective": "Pre-orders", "audience": "Runners", "channels": ["email"]}
    or, with a brand (its share of each service, fair against other brands) and a priority:
      {"brand": "acme", "priority": 2, "brief": {"name": "Spring", ...}}

    Safe to re-run: a line without campaign_id gets an id derived from its content, and a
    campaign whose id already has a workflow is not started again: the table counts it by how
    it ended ("existing: published"), and with --wait follows it if it still runs. Identical
    lines are one campaign. A bad line is reported with its number and the others go on.
    While following, the next line starts only when fewer than --max-in-flight campaigns are
    running (parked in FAILED counts as settled), which bounds the workers' memory and each
    campaign's wait without slowing the batch. With no worker polling the task queue it warns
    at once and keeps waiting; if Temporal stops answering it retries for up to --timeout,
    then prints the report of what stands. Exit code: 2 if any line was invalid or not started,
    else 1 if any campaign (started or existing) failed, was cancelled or did not settle in
    time, 4 if Temporal stopped answering, else 0 (also for --no-wait when every line started).
    """
    from orchestrator_client.campaign_batch import Batch

    try:
        raw_lines = list(enumerate(file.read_bytes().splitlines(), start=1))
    except OSError as err:
        raise fail(f"cannot read {file}: {err.strerror}", EXIT_INPUT) from None
    queue = task_queue or client_settings().task_queue
    began = time.monotonic()

    async def work(client: Client) -> BatchReport:
        with BatchProgress(following=wait, disable=as_json) as progress:
            batch = Batch(
                client,
                task_queue=queue,
                concurrency=concurrency,
                max_in_flight=max_in_flight or None,
                wait=wait,
                wait_timeout=timeout,
                on_change=progress.on_change,
                on_problem=progress.on_problem,
                on_warning=progress.on_warning,
            )
            batch.read(raw_lines)
            try:
                await batch.run()
            finally:  # stopped, interrupted or done: what was started is always reported
                progress.stop()
                print_batch(batch.report, file, time.monotonic() - began, as_json)
        return batch.report

    report = run(work, address, namespace)
    if report.invalid or report.start_errors:
        raise typer.Exit(EXIT_INPUT)
    if not report.all_fine():
        raise typer.Exit(EXIT_FAILED)
