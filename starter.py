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

Connection settings come from Temporal's envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE) or --address/--namespace.

Exit codes: 0 ok (LEARN for --wait); 1 campaign FAILED (or cancelled); 2 invalid input or
settings; 3 unknown campaign, or the campaign refuses the command (the reason and its code are
printed); 4 Temporal unreachable; 5 no worker: none polls the campaign's task queue, or none
answered in time; 70 an unexpected error (one line; CAMPAIGN_DEBUG=1 shows the traceback).
Every error names the Temporal server and namespace it asked.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from contracts import CampaignState, Channel, FailureReason
from orchestrator_client.batch_window import DEFAULT_MAX_IN_FLIGHT
from orchestrator_client.wording import counted
from orchestrator_connection.process_exit import exit_code, exit_without_finalizing

if TYPE_CHECKING:  # the rest loads in the commands that use it: `campaign --help` stays fast
    from temporalio.client import (
        Client,
        WorkflowExecutionStatus,
        WorkflowHandle,
    )
    from temporalio.service import RPCError

    from contracts import (
        CampaignPayload,
        RetryAccepted,
        StartAccepted,
        TraceEntry,
    )
    from orchestrator_client.campaign_batch import BatchReport, LineProblem
    from orchestrator_client.campaign_lookup import CampaignStatus, Visibility
    from orchestrator_client.campaign_ops import BulkRetryResult
    from orchestrator_connection.settings import ClientSettings

EXIT_FAILED, EXIT_INPUT, EXIT_CAMPAIGN, EXIT_UNREACHABLE, EXIT_NO_WORKER = 1, 2, 3, 4, 5
EXIT_BUG = 70  # EX_SOFTWARE

app = typer.Typer(
    name="campaign",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")
C = TypeVar("C")  # what a command runs on: a Client, or the Visibility of a status read


def _one_of(choices: type[StrEnum]) -> str:
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
        help=f"Why it failed, {_one_of(FailureReason)}; repeat for several",
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


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _run(work: Callable[[Client], Awaitable[T]], address: str | None, namespace: str | None) -> T:
    """Connect a client, run, and turn every expected error into one clear line and an exit
    code; every line after the connection names the server and namespace it asked."""
    from orchestrator_client.campaign_ops import target
    from orchestrator_connection.temporal_client import cli_runtime, connect

    async def connected() -> tuple[Client, str]:
        client = await connect(target_host=address, namespace=namespace, runtime=cli_runtime())
        return client, target(client)

    return _run_on(connected, work)


def _run_light(
    work: Callable[[Visibility], Awaitable[T]], address: str | None, namespace: str | None
) -> T:
    """`_run` with the service client alone (a status read: no `temporalio.client` to load)."""
    from orchestrator_client.campaign_lookup import connect_visibility
    from orchestrator_connection.temporal_client import cli_runtime

    async def connected() -> tuple[Visibility, str]:
        temporal = await connect_visibility(
            target_host=address, namespace=namespace, runtime=cli_runtime()
        )
        return temporal, temporal.where

    return _run_on(connected, work)


def _run_on(
    connected: Callable[[], Awaitable[tuple[C, str]]], work: Callable[[C], Awaitable[T]]
) -> T:
    from temporalio.service import RPCError

    from orchestrator_client.campaign_errors import (
        CampaignConflictError,
        CampaignError,
        NoWorkerError,
        UnknownCampaignError,
    )
    from orchestrator_connection.config_errors import SettingsError
    from orchestrator_connection.temporal_client import (
        ConnectionConfigError,
        TemporalUnavailableError,
    )

    asked: list[str] = []

    async def main() -> T:
        temporal, where = await connected()
        asked.append(where)
        return await work(temporal)

    def where(message: str) -> str:
        return message if not asked or asked[0] in message else f"{message} ({asked[0]})"

    try:
        return asyncio.run(main())
    except ConnectionConfigError as err:  # a bad TLS file, encryption key or tracing setup
        raise _fail(str(err), EXIT_INPUT) from None
    except TemporalUnavailableError as err:
        raise _fail(str(err), EXIT_UNREACHABLE) from None
    except SettingsError as err:
        raise _fail(str(err), EXIT_INPUT) from None
    except UnknownCampaignError as err:
        raise _fail(where(str(err)), EXIT_CAMPAIGN) from None
    except CampaignConflictError as err:  # refused commands too: the reason and its code
        raise _fail(where(str(err)), EXIT_CAMPAIGN) from None
    except NoWorkerError as err:
        raise _fail(where(str(err)), EXIT_NO_WORKER) from None
    except CampaignError as err:
        raise _fail(where(str(err)), EXIT_INPUT) from None
    except RPCError as err:
        message, code = rpc_failure(err)
        raise _fail(where(message), code) from None


def rpc_failure(err: RPCError) -> tuple[str, int]:
    """A call the server refused or could not answer, as one line and an exit code."""
    from temporalio.service import RPCStatusCode

    if err.status == RPCStatusCode.NOT_FOUND and "amespace" in err.message:
        return f"{err.message.rstrip('.')}: check --namespace / TEMPORAL_NAMESPACE", EXIT_INPUT
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.PERMISSION_DENIED):
        return f"Temporal refused the call: {err.message}", EXIT_INPUT
    return f"Temporal did not answer ({err.status.name}: {err.message})", EXIT_UNREACHABLE


def _settings() -> ClientSettings:
    from orchestrator_connection.settings import SettingsError, load_client_settings

    try:
        return load_client_settings()
    except SettingsError as err:
        raise _fail(str(err), EXIT_INPUT) from None


def _check_ref(campaign: str) -> str:
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_lookup import workflow_id_from_ref

    try:
        return workflow_id_from_ref(campaign)
    except CampaignError as err:
        raise _fail(str(err), EXIT_INPUT) from None


def _entry_line(entry: TraceEntry) -> str:
    details = ", ".join(f"{k}={v}" for k, v in entry.details.items() if v not in (None, ""))
    return f"{entry.at:%H:%M:%S}  #{entry.seq:<3} {entry.state:<13} {entry.action}" + (
        f"  ({details})" if details else ""
    )


async def _follow(
    client: Client, workflow_id: str, *, patience: float, since_last: str | None = None
) -> CampaignPayload:
    """Print log entries as they appear, until the campaign closes or parks in FAILED. With
    `since_last`, begin at the last entry with that action (after a retry: what followed it).
    With no worker polling, say so at once and keep waiting for one, up to `patience` seconds."""
    from contracts import CampaignOutcome
    from orchestrator_client.campaign_errors import (
        CampaignError,
        CampaignWedgedError,
        NoWorkerError,
    )
    from orchestrator_client.campaign_ops import campaign_status, no_worker, worker_polling

    handle = client.get_workflow_handle(workflow_id, result_type=CampaignOutcome)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    queue = (await campaign_status(client, workflow_id)).task_queue or ""
    closed = asyncio.ensure_future(handle.result())
    seen: int | None = None if since_last else 0
    warned = False
    if queue and not await worker_polling(client, queue):
        none = no_worker(client, queue, f"{workflow_id} waits until one starts")
        err_console.print(f"warning: {none}; waiting up to {patience:g}s", markup=False)
        warned = True
        while not await worker_polling(client, queue):
            if loop.time() > deadline:
                raise none
            await asyncio.sleep(1.0)
    try:
        while True:
            was_closed = closed.done()
            try:
                payload = await _answer(client, handle, queue)
            except NoWorkerError as none:
                if isinstance(none, CampaignWedgedError) or loop.time() > deadline:
                    raise
                if not warned:
                    err_console.print(f"warning: {none}; waiting up to {patience:g}s", markup=False)
                    warned = True
                await asyncio.sleep(1.0)
                continue
            if loop.time() > deadline and not was_closed:
                raise CampaignError(
                    f"{workflow_id} is still {payload.state} after {patience:g}s (--timeout): "
                    f"follow it with `campaign log {workflow_id}`"
                )
            if seen is None:
                seen = max(
                    (i for i, e in enumerate(payload.execution_log) if e.action == since_last),
                    default=0,
                )
            for entry in payload.execution_log[seen:]:
                out.print("  " + _entry_line(entry), markup=False)
            seen = len(payload.execution_log)
            if was_closed or payload.state is CampaignState.FAILED:
                return payload
            await asyncio.wait({closed}, timeout=0.25)
    finally:
        if closed.done() and not closed.cancelled():
            closed.exception()  # retrieved: the payload already says how it ended
        closed.cancel()


async def _answer(client: Client, handle: WorkflowHandle[Any, Any], queue: str) -> CampaignPayload:
    """The payload by query; NoWorkerError at once when no worker polls `queue`."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from contracts import PAYLOAD_QUERY, CampaignPayload
    from orchestrator_client.campaign_errors import CampaignWedgedError
    from orchestrator_client.campaign_ops import no_answer, no_worker, wedged_reason

    try:
        payload: CampaignPayload = await handle.query(
            PAYLOAD_QUERY, result_type=CampaignPayload, rpc_timeout=QUERY_TIMEOUT
        )
        return payload
    except RPCError as err:
        if not no_answer(err):
            raise
    except WorkflowQueryFailedError as err:
        raise CampaignWedgedError(f"the worker cannot answer for {handle.id}: {err}") from None
    if wedged := await wedged_reason(client, handle.id):
        raise CampaignWedgedError(f"the worker cannot answer for {handle.id}: {wedged}")
    raise no_worker(client, queue, f"nothing can run {handle.id}")


QUERY_TIMEOUT = timedelta(seconds=3)  # while following: a worker that polls answers at once


@app.command()
def start(
    campaign: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]", help="An existing campaign waiting in IDLE: start it (no brief options)"
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="JSON file: a full campaign input, or just a brief",
            dir_okay=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="Campaign name")] = None,
    objective: Annotated[
        str | None, typer.Option(metavar="TEXT", help="What the campaign must achieve")
    ] = None,
    audience: Annotated[str | None, typer.Option(metavar="TEXT", help="Who it speaks to")] = None,
    channel: Annotated[
        list[Channel] | None,
        typer.Option(
            "--channel",
            "-c",
            metavar="CHANNEL",
            case_sensitive=False,
            help=f"{_one_of(Channel)}; repeat for each channel",
        ),
    ] = None,
    locale: Annotated[str | None, typer.Option(metavar="LOCALE", help="e.g. en-US")] = None,
    budget: Annotated[float | None, typer.Option(metavar="AMOUNT", help="Budget, >= 0")] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", "-k", metavar="WORD", help="Repeat for each keyword"),
    ] = None,
    campaign_id: Annotated[
        str | None, typer.Option(metavar="UUID", help="UUID; generated when omitted")
    ] = None,
    max_retries: Annotated[
        int | None, typer.Option(metavar="N", help="Operator retries allowed")
    ] = None,
    task_queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="Default: CAMPAIGN_TASK_QUEUE")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the campaign live to its end")
    ] = False,
    timeout: WaitTimeoutOpt = 3600.0,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Start a campaign from flags and/or a JSON file; prints its workflow id.

    \b
    Examples:
      campaign start -f brief.json --wait
      campaign start --name "Spring launch" --objective "Pre-orders of the Aurora shoe" \\
          --audience "Trail runners" -c email -c social --budget 25000 --wait
      campaign start -f brief.json --name "Copy with a new name" --json

    The file holds a full campaign input ({"campaign_id": ..., "brief": {...}, ...}) or just a
    brief; flags override its fields. With --wait the exit code is 0 for LEARN, 1 for FAILED.

    \b
    A campaign created with "start_immediately": false waits in IDLE; start it by its id:
      campaign start <id> --wait           the `request_start` update: the workflow answers
    It prints the workflow's answer, or, with exit code 3, why it refused (ALREADY_STARTED,
    CANCELLED, CAMPAIGN_ENDED).
    """
    from orchestrator_client.campaign_input import (
        CampaignInputError,
        campaign_input_from_dict,
        campaign_input_from_file,
    )
    from orchestrator_client.campaign_ops import start_campaign

    if campaign is not None:
        given = [file, name, objective, audience, channel, locale, budget, keyword, campaign_id,
                 max_retries, task_queue]  # fmt: skip
        if any(v is not None for v in given):
            raise _fail(
                "give an IDLE campaign's id, or a brief for a new one (not both)", EXIT_INPUT
            )
        _start_existing(campaign, wait, timeout, as_json, address, namespace)
        return
    brief = {
        k: v
        for k, v in dict(
            name=name,
            objective=objective,
            audience=audience,
            channels=channel,
            locale=locale,
            budget=budget,
            keywords=keyword,
        ).items()
        if v is not None
    }
    top: dict[str, Any] = {
        k: v
        for k, v in dict(campaign_id=campaign_id, max_retries=max_retries).items()
        if v is not None  # --max-retries 0 counts
    }
    overrides: dict[str, Any] = {**top, "brief": brief} if brief else top
    try:
        new = (
            campaign_input_from_file(file, overrides)
            if file
            else campaign_input_from_dict({}, overrides)
        )
    except CampaignInputError as err:
        raise _fail(f"invalid campaign: {err}", EXIT_INPUT) from None
    settings = _settings()
    queue = task_queue or settings.task_queue
    if settings.webhook_url is not None and "notify_transitions" not in new.model_fields_set:
        # The workers deliver state-change events to their CAMPAIGN_WEBHOOK_URL.
        new = new.model_copy(update={"notify_transitions": True})

    async def work(client: Client) -> CampaignPayload | None:
        handle = await start_campaign(client, new, task_queue=queue)
        if as_json and not wait:
            out.print_json(json.dumps({"workflow_id": handle.id, "run_id": handle.result_run_id}))
        elif not as_json:
            out.print(f"started {handle.id}", markup=False)
        return await _follow(client, handle.id, patience=timeout) if wait else None

    _exit_with_outcome(_run(work, address, namespace), as_json)


def _start_existing(
    campaign: str,
    wait: bool,
    timeout: float,
    as_json: bool,
    address: str | None,
    namespace: str | None,
) -> None:
    from contracts import StartRequest
    from orchestrator_client.campaign_lookup import workflow_id_from_ref
    from orchestrator_client.campaign_ops import send_start

    _check_ref(campaign)
    request = StartRequest()

    async def work(client: Client) -> tuple[StartAccepted, CampaignPayload | None]:
        answer = await send_start(client, campaign, request)
        _print_start(answer, as_json and not wait)
        wid = workflow_id_from_ref(campaign)
        return answer, (await _follow(client, wid, patience=timeout) if wait else None)

    _, payload = _run(work, address, namespace)
    _exit_with_outcome(payload, as_json)


def _print_start(answer: StartAccepted, as_json: bool) -> None:
    if as_json:
        out.print_json(answer.model_dump_json())
    else:
        out.print(
            f"start accepted: campaign-{answer.campaign_id}, starts at {answer.starts_at}",
            markup=False,
        )


def _exit_with_outcome(payload: CampaignPayload | None, as_json: bool) -> None:
    """After --wait: print how it ended; exit 0 for LEARN, 1 otherwise."""
    if payload is None:
        return
    _print_outcome(payload, as_json)
    if payload.state is not CampaignState.LEARN:
        raise typer.Exit(EXIT_FAILED)


def _retries_left(n: int) -> str:
    return f"{counted(n, 'retry', 'retries')} left"


def _print_outcome(payload: CampaignPayload, as_json: bool) -> None:
    if as_json:
        out.print_json(payload.model_dump_json(exclude={"execution_log"}))
        return
    if payload.state is CampaignState.LEARN:
        receipt = payload.publish_receipt
        out.print(
            f"LEARN: published{' as ' + receipt.publication_id if receipt else ''} "
            f"after {counted(payload.retry_count, 'operator retry', 'operator retries')}",
            markup=False,
        )
    elif payload.failure:
        out.print(
            f"{payload.state} at {payload.failure.step}: {payload.failure.reason}: "
            f"{payload.failure.message}",
            markup=False,
        )
        if payload.can_retry():
            out.print(
                f"retry with: campaign retry {payload.campaign_id} "
                f"({_retries_left(payload.max_retries - payload.retry_count)})",
                markup=False,
            )
        elif payload.state is CampaignState.FAILED and not payload.failure.reason.ends_the_run:
            out.print(
                f"no retries left (max_retries {payload.max_retries}): it ends as failed when "
                "its retry window closes",
                markup=False,
            )


@app.command()
def status(
    campaign: CampaignArg,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Show a campaign's state (from Temporal visibility: needs no worker).

    \b
    Examples:
      campaign status 3f2a...e9            by campaign id
      campaign status campaign-3f2a...e9   by workflow id
      campaign status <id> --json | jq -r .state
    """
    from orchestrator_client.campaign_lookup import describe_campaign, worker_polling

    _check_ref(campaign)

    async def work(temporal: Visibility) -> tuple[CampaignStatus, str | None]:
        st = await describe_campaign(temporal, campaign)
        if not st.running or not st.task_queue:
            return st, None
        # Running: say so when nothing can move it on.
        if not await worker_polling(temporal, st.task_queue):
            return st, f"waiting for a worker: none polls task queue '{st.task_queue}'"
        return st, "not picked up by a worker yet" if st.state is None else None

    st, note = _run_light(work, address, namespace)
    if as_json:
        out.print_json(json.dumps({**st.as_dict(), "note": note}))
        return
    reason = f"  reason={st.failure_reason}" if st.failure_reason else ""
    retries = f"  retries={st.retry_count}" if st.retry_count is not None else ""
    out.print(
        f"{st.workflow_id}  {st.state or '-'}  ({st.execution_status.lower()})"
        f"{retries}{reason}{'  (' + note + ')' if note else ''}",
        markup=False,
    )


@app.command()
def retry(
    campaign: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Campaign id (UUID) or workflow id")
    ] = None,
    all_failed: Annotated[
        bool,
        typer.Option("--all-failed", help="Every running campaign parked in FAILED, at once"),
    ] = False,
    failure_reason: FailureReasonsOpt = None,
    task_queue: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="With --all-failed: only campaigns on this task queue"),
    ] = None,
    one_by_one: Annotated[
        bool,
        typer.Option(
            "--one-by-one",
            help="With --all-failed: the `request_retry` update to each, no batch operation",
        ),
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            metavar="PER_SECOND",
            help="With --all-failed: retries per second (default CAMPAIGN_RETRY_BATCH_RPS, 50)",
            min=0.01,
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="With <id>: follow the campaign live to its end")
    ] = False,
    timeout: WaitTimeoutOpt = 3600.0,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why, for the execution log")] = "",
    requested_by: Annotated[
        str, typer.Option("--by", metavar="WHO", help="Who, for the execution log")
    ] = "operator",
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Retry FAILED campaigns from the step that failed; prints what the workflows answered.

    \b
    Examples:
      campaign retry <id> --reason "copy revised"
      campaign retry <id> --wait                 then follow it live to its end
      campaign retry --all-failed
      campaign retry --all-failed --failure-reason SERVICE_UNAVAILABLE --rate 10

    \b
    retry <id> sends the `request_retry` update and prints the workflow's answer, e.g.
      retry accepted: campaign-..., retry 1 of 3, resumes at CONTENT_PROD (QUALITY_GATE_FAILED)
    or exits 3 with its reason and code: NOT_FAILED, RETRY_PENDING, NO_RETRIES_LEFT,
    RETRY_WINDOW_OVER, CANCELLED, CAMPAIGN_ENDED. With --wait the exit code is that of
    `start --wait`: 0 for LEARN, 1 for FAILED.

    --all-failed chooses its campaigns with the visibility query that `campaign list --state
    FAILED --status running` shows, and sends one server-side batch `retry` signal to all of
    them, then reads each campaign's log and counts what it answered. Where the server has no
    batch operations (or with --one-by-one) it sends each the update instead, and says so.
    """
    from contracts import RetryRequest
    from orchestrator_client.campaign_lookup import workflow_id_from_ref
    from orchestrator_client.campaign_ops import retry_all_failed, retry_campaign

    request = RetryRequest(requested_by=requested_by, reason=reason)
    if all_failed == (campaign is not None):
        raise _fail("give a campaign id, or --all-failed (not both)", EXIT_INPUT)
    if campaign is not None:
        _check_ref(campaign)

        async def one(client: Client) -> tuple[RetryAccepted, CampaignPayload | None]:
            answer = await retry_campaign(client, campaign, request)
            _print_retry(answer, as_json and not wait)
            wid = workflow_id_from_ref(campaign)
            return answer, (
                await _follow(client, wid, patience=timeout, since_last="retry_accepted")
                if wait
                else None
            )

        _, payload = _run(one, address, namespace)
        _exit_with_outcome(payload, as_json)
        return
    if wait:
        raise _fail("--wait follows one campaign: give its id, not --all-failed", EXIT_INPUT)
    per_second = rate if rate is not None else _settings().retry_batch_rps
    result = _run(
        lambda client: retry_all_failed(
            client,
            request,
            task_queue=task_queue,
            failure_reasons=failure_reason or (),
            one_by_one=one_by_one,
            rate=per_second,
        ),
        address,
        namespace,
    )
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
    elif result.matched == 0:
        reasons = " or ".join(failure_reason or ())
        which = " ".join(
            ([f"with reason {reasons}"] if reasons else [])
            + ([f"on task queue {task_queue}"] if task_queue else [])
        )
        out.print(
            f"no running campaign is parked in FAILED{' ' + which if which else ''}: "
            "nothing to retry",
            markup=False,
        )
    else:
        out.print(_bulk_line(result), markup=False)
    if result.note:
        err_console.print(f"note: {result.note}", markup=False)
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


def _print_retry(answer: RetryAccepted, as_json: bool) -> None:
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    out.print(
        f"retry accepted: campaign-{answer.campaign_id}, retry {answer.retry_count} of "
        f"{answer.retry_count + answer.retries_left}, resumes at {answer.resume_at} "
        f"({answer.retried_failure})",
        markup=False,
    )


def _bulk_line(result: BulkRetryResult) -> str:
    """e.g. retry signal sent to 3 of 3 FAILED campaigns (...): 2 accepted, 1 refused (...)"""
    if result.method == "batch":
        how = f"retry signal sent to {result.signalled} of {result.matched} FAILED campaigns "
        how += f"(batch operation {result.job_id}, max_operations_per_second {result.rate:g})"
    else:
        how = f"request_retry sent to {result.signalled} of {result.matched} FAILED campaigns "
        how += f"(one update each, at most {result.rate:g}/s)"
    refused = sum(result.refused.values())
    why = ", ".join(f"{code}: {n}" for code, n in sorted(result.refused.items()))
    answers = f"{result.accepted} accepted, {refused} refused" + (f" ({why})" if why else "")
    if result.unanswered:
        answers += f", {result.unanswered} not answered yet (see `campaign log <id>`)"
    return how + ": " + answers + (f"; {result.failed} not delivered" if result.failed else "")


@app.command()
def log(
    campaign: CampaignArg,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Print a campaign's execution log as a timeline (needs a running worker).

    \b
    Examples:
      campaign log <id>                    when, which step, what happened, and why it failed
      campaign log <id> --json             every entry with all its details
    """
    from orchestrator_client.campaign_ops import campaign_payload

    _check_ref(campaign)
    payload = _run(lambda client: campaign_payload(client, campaign), address, namespace)
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in payload.execution_log]))
        return
    for entry in payload.execution_log:
        out.print(_entry_line(entry), markup=False)


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


def _status_line(st: CampaignStatus) -> str:
    started = f"{st.start_time:%Y-%m-%d %H:%M:%S}" if st.start_time else "?"
    retries = st.retry_count if st.retry_count is not None else "?"
    name = st.name or "-"
    name = name if len(name) <= 24 else name[:23] + "…"
    return (
        f"{st.workflow_id:<45} {name:<24} {st.state or '-':<13} "
        f"{st.execution_status.lower():<10} {st.failure_reason or '-':<24} {retries!s:>7}  "
        f"{started}"
    )


@app.command("list")
def list_campaigns_command(
    state: Annotated[
        list[CampaignState] | None,
        typer.Option(
            "--state",
            "-s",
            metavar="STATE",
            case_sensitive=False,
            help=f"Campaign state, {_one_of(CampaignState)}; repeat for several",
        ),
    ] = None,
    status: Annotated[
        list[ExecutionStatus] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            case_sensitive=False,
            help=f"Temporal execution status, {_one_of(ExecutionStatus)}; repeat for several",
        ),
    ] = None,
    failure_reason: FailureReasonsOpt = None,
    task_queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only campaigns on this task queue")
    ] = None,
    limit: Annotated[
        int, typer.Option(metavar="N", help="At most this many, newest first", min=1)
    ] = 50,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """List campaigns by state, failure reason and execution status (Temporal visibility).

    \b
    Examples:
      campaign list --state FAILED                   parked in FAILED, waiting for a retry
      campaign list --state FAILED --failure-reason QUALITY_GATE_FAILED
      campaign list --status running                 everything still in flight
      campaign list --status failed                  ended as failed (retry window closed)
      campaign list --state LEARN --limit 500 --json

    The visibility query is printed on stderr: paste it into the Web UI's workflow list filter
    or `temporal workflow list --query` to see the same campaigns there. Needs no worker.
    """
    from orchestrator_client.campaign_ops import list_campaigns

    query = _visibility_query_or_exit(state, status, failure_reason, task_queue)
    found = _run(lambda client: list_campaigns(client, query, limit=limit), address, namespace)
    if as_json:
        out.print_json(json.dumps([st.as_dict() for st in found]))
        return
    err_console.print(f"query: {query}", markup=False)
    if not found:
        out.print("no campaigns match", markup=False)
        return
    header = (
        f"{'WORKFLOW ID':<45} {'NAME':<24} {'STATE':<13} {'STATUS':<10} {'FAILURE REASON':<24} "
        "RETRIES"
    )
    out.print(header + "  STARTED (UTC)", markup=False)
    for st in found:
        out.print(_status_line(st), markup=False)
    more = " (the limit; use --limit for more)" if len(found) == limit else ""
    out.print(f"{counted(len(found), 'campaign')}{more}", markup=False)


def _visibility_query_or_exit(
    state: list[CampaignState] | None,
    status: list[ExecutionStatus] | None,
    failure_reason: list[FailureReason] | None,
    task_queue: str | None,
) -> str:
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_ops import visibility_query

    try:
        return visibility_query(
            states=state or (),
            execution_statuses=[s.temporal for s in status or ()],
            failure_reasons=failure_reason or (),
            task_queue=task_queue,
        )
    except CampaignError as err:
        raise _fail(str(err), EXIT_INPUT) from None


@app.command()
def cancel(
    campaign: CampaignArg,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the workflow has ended")] = False,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Cancel a campaign: it logs `campaign_cancelled` and its workflow ends as cancelled.

    \b
    Examples:
      campaign cancel <id>
      campaign cancel <id> --wait          return once the workflow has ended

    The campaign stops at once; an HTTP call already in flight may still complete at its
    service. A published campaign cannot be cancelled: it has ended.
    """
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_ops import campaign_status, cancel_campaign

    _check_ref(campaign)

    async def work(client: Client) -> CampaignStatus:
        st = await cancel_campaign(client, campaign)
        if not wait:
            return st
        for _ in range(int(CANCEL_WAIT_SECONDS / 0.2)):
            st = await campaign_status(client, campaign)
            if not st.running:
                return st
            await asyncio.sleep(0.2)
        raise CampaignError(
            f"{st.workflow_id} has not ended {CANCEL_WAIT_SECONDS:.0f}s after cancel"
        )

    st = _run(work, address, namespace)
    if as_json:
        out.print_json(json.dumps(st.as_dict()))
    elif wait:
        out.print(f"{st.workflow_id} ended: {st.execution_status.lower()}", markup=False)
    else:
        out.print(f"cancel requested for {st.workflow_id}", markup=False)


CANCEL_WAIT_SECONDS = 60.0


@app.command()
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
        raise _fail(f"cannot read {file}: {err.strerror}", EXIT_INPUT) from None
    queue = task_queue or _settings().task_queue
    began = time.monotonic()

    async def work(client: Client) -> BatchReport:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json,
        ) as progress:
            starting = progress.add_task("started", total=None, note="")
            settling = progress.add_task("settled", total=None, note="", visible=wait)

            def on_change(report: BatchReport) -> None:
                counts = {
                    "existing": len(report.existing),
                    "duplicate": len(report.duplicates),
                    "bad": len(report.invalid) + len(report.start_errors),
                }
                progress.update(
                    starting,
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
                progress.update(
                    settling, total=report.followed, completed=len(report.settled), note=note
                )

            def on_problem(problem: LineProblem) -> None:
                progress.console.print(f"line {problem.line}: {problem.message}", markup=False)

            def on_warning(message: str) -> None:
                progress.console.print(f"warning: {message}", markup=False)

            batch = Batch(
                client,
                task_queue=queue,
                concurrency=concurrency,
                max_in_flight=max_in_flight or None,
                wait=wait,
                wait_timeout=timeout,
                on_change=on_change,
                on_problem=on_problem,
                on_warning=on_warning,
            )
            batch.read(raw_lines)
            try:
                await batch.run()
            finally:  # stopped, interrupted or done: what was started is always reported
                progress.stop()
                _print_batch(batch.report, file, time.monotonic() - began, as_json)
        return batch.report

    report = _run(work, address, namespace)
    if report.invalid or report.start_errors:
        raise typer.Exit(EXIT_INPUT)
    if not report.all_fine():
        raise typer.Exit(EXIT_FAILED)


def _print_batch(report: BatchReport, file: Path, elapsed: float, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        out.print_json(json.dumps({**report.as_dict(), "elapsed_seconds": round(elapsed, 2)}))
        return
    for problem in report.duplicates:
        err_console.print(f"line {problem.line}: skipped, {problem.message}", markup=False)
    title = (
        f"{file.name}: {counted(report.valid, 'campaign')} ({counted(report.lines, 'line')}) "
        f"in {elapsed:.1f}s"
    )
    table = Table(title=title, caption="\n".join(report.notes()) or None)
    table.add_column("outcome")
    table.add_column("campaigns", justify="right")
    for label, count in report.outcome_counts():
        table.add_row(label, str(count))
    out.print(table)


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


if __name__ == "__main__":
    main()
