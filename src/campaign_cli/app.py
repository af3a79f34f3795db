"""campaign: the operator's CLI for campaign-orchestrator.

Start campaigns (one, or a thousand from a JSONL file), follow them, find the failed ones, see
why, retry or cancel them. `campaign COMMAND --help` shows examples for each command.

\b
A day's work:
  campaign start -f brief.json --wait        start one, follow it live to its end
  campaign batch briefs.jsonl                start many, progress bar, outcome table
  campaign list --state FAILED               which campaigns are parked in FAILED
  campaign log <id>                          why: the execution log as a timeline
  campaign retry <id>                        resume one from the step that failed
  campaign retry --all-failed                resume every FAILED one (one batch signal)
  campaign start <id>                        start one created with start_immediately false
  campaign cancel <id>                       stop one
  campaign pause <id> / resume <id>          hold one at its next step, let it go on
  campaign list --approver ana               what waits for ana's approval
  campaign approve <id> --revision N / reject <id> -m ... / request-changes <id> -m ...
  campaign schedule create <sid> -f brief.json --cron "0 9 * * MON"   a campaign every Monday

Connection settings come from Temporal's envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE) or --address/--namespace.

Exit codes: 0 ok (LEARN for --wait); 1 campaign FAILED (or cancelled); 2 invalid input or
settings; 3 unknown campaign or schedule, a schedule id taken, or the campaign refuses the
command (the reason and its code are printed); 4 Temporal unreachable; 5 no worker: none
polls the campaign's task queue, or none answered in time; 70 an unexpected error (one line;
CAMPAIGN_DEBUG=1 shows the traceback).
Every error names the Temporal server and namespace it asked.
"""

from __future__ import annotations

import os
import traceback
from typing import NoReturn

import typer

from campaign_cli import batch_command, commands, review_commands, schedule_command
from campaign_cli.console import EXIT_BUG, err_console
from orchestrator_connection.process_exit import exit_code, exit_without_finalizing

app = typer.Typer(
    name="campaign",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.command()(commands.start)
app.command()(commands.status)
app.command()(commands.retry)
app.command()(commands.log)
app.command("list")(commands.list_campaigns_command)
app.command()(commands.cancel)
app.command()(batch_command.batch)
app.command()(review_commands.approve)
app.command()(review_commands.reject)
app.command("request-changes")(review_commands.request_changes)
app.command()(review_commands.pause)
app.command()(review_commands.resume)
app.add_typer(schedule_command.app, name="schedule")


def main() -> NoReturn:
    """The console script and `python -m starter` (see orchestrator_connection.process_exit)."""
    try:
        app()
        code = 0
    except SystemExit as exit:
        code = exit_code(exit)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        code = 130
    except Exception as bug:  # one line, never a traceback (unless asked for)
        if os.environ.get("CAMPAIGN_DEBUG"):
            traceback.print_exc()
        message = " ".join(str(bug).split())[:300]
        err_console.print(
            f"error: unexpected {type(bug).__name__}: {message} (CAMPAIGN_DEBUG=1 shows where)",
            markup=False,
        )
        code = EXIT_BUG
    exit_without_finalizing(code)
