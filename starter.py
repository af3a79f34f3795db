"""campaign: the operator's CLI for campaign-orchestrator.

Start campaigns, follow them, inspect them and retry failed ones. Connection settings come from
Temporal's envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
TEMPORAL_PROFILE) or --address/--namespace.

Exit codes: 0 ok (LEARN for --wait); 1 campaign FAILED; 2 invalid input; 3 unknown campaign or
not retryable; 4 Temporal unreachable.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from temporalio.client import Client

from contracts import (
    PAYLOAD_QUERY,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Channel,
    RetryRequest,
    TraceEntry,
)
from orchestrator_runtime.campaign_input import (
    CampaignInputError,
    campaign_input_from_dict,
    campaign_input_from_file,
)
from orchestrator_runtime.campaign_ops import (
    CampaignError,
    NotRetryableError,
    UnknownCampaignError,
    campaign_payload,
    campaign_status,
    retry_campaign,
    start_campaign,
    workflow_id_from_ref,
)
from orchestrator_runtime.settings import Settings
from orchestrator_runtime.temporal_client import TemporalUnavailableError, connect

EXIT_FAILED, EXIT_INPUT, EXIT_CAMPAIGN, EXIT_UNREACHABLE = 1, 2, 3, 4

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


AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Temporal host:port (default: envconfig, else localhost:7233)"),
]
NamespaceOpt = Annotated[
    str | None, typer.Option("--namespace", help="Temporal namespace (default: envconfig)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
CampaignArg = Annotated[str, typer.Argument(help="Campaign id (UUID) or workflow id")]


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _run(work: Callable[[Client], Awaitable[T]], address: str | None, namespace: str | None) -> T:
    """Connect, run, and turn every expected error into one clear line and an exit code."""

    async def main() -> T:
        client = await connect(target_host=address, namespace=namespace)
        return await work(client)

    try:
        return asyncio.run(main())
    except TemporalUnavailableError as err:
        raise _fail(str(err), EXIT_UNREACHABLE) from None
    except UnknownCampaignError as err:
        raise _fail(str(err), EXIT_CAMPAIGN) from None
    except NotRetryableError as err:
        raise _fail(str(err), EXIT_CAMPAIGN) from None
    except CampaignError as err:
        raise _fail(str(err), EXIT_INPUT) from None


def _check_ref(campaign: str) -> str:
    try:
        return workflow_id_from_ref(campaign)
    except CampaignError as err:
        raise _fail(str(err), EXIT_INPUT) from None


def _entry_line(entry: TraceEntry) -> str:
    details = ", ".join(f"{k}={v}" for k, v in entry.details.items() if v not in (None, ""))
    return f"{entry.at:%H:%M:%S}  #{entry.seq:<3} {entry.state:<13} {entry.action}" + (
        f"  ({details})" if details else ""
    )


async def _follow(client: Client, workflow_id: str) -> CampaignPayload:
    """Print log entries as they appear, until the campaign closes or parks in FAILED."""
    handle = client.get_workflow_handle(workflow_id, result_type=CampaignOutcome)
    closed = asyncio.ensure_future(handle.result())
    seen = 0
    try:
        while True:
            was_closed = closed.done()
            payload: CampaignPayload = await handle.query(
                PAYLOAD_QUERY, result_type=CampaignPayload
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


@app.command()
def start(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="JSON file: a full campaign input, or just a brief", dir_okay=False
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Campaign name")] = None,
    objective: Annotated[str | None, typer.Option(help="What the campaign must achieve")] = None,
    audience: Annotated[str | None, typer.Option(help="Who it speaks to")] = None,
    channel: Annotated[
        list[Channel] | None, typer.Option("--channel", "-c", help="Repeat for each channel")
    ] = None,
    locale: Annotated[str | None, typer.Option(help="e.g. en-US")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget, >= 0")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", "-k", help="Repeatable")] = None,
    campaign_id: Annotated[str | None, typer.Option(help="UUID; generated when omitted")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Operator retries allowed")] = None,
    task_queue: Annotated[str | None, typer.Option(help="Default: CAMPAIGN_TASK_QUEUE")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the campaign live to its end")
    ] = False,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Start a campaign from flags and/or a JSON file; prints its workflow id."""
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
        k: v for k, v in dict(campaign_id=campaign_id, max_retries=max_retries).items() if v
    }
    overrides: dict[str, Any] = {**top, "brief": brief} if brief else top
    try:
        campaign = (
            campaign_input_from_file(file, overrides)
            if file
            else campaign_input_from_dict({}, overrides)
        )
    except CampaignInputError as err:
        raise _fail(f"invalid campaign: {err}", EXIT_INPUT) from None
    queue = task_queue or Settings().task_queue

    async def work(client: Client) -> CampaignPayload | None:
        handle = await start_campaign(client, campaign, task_queue=queue)
        if as_json and not wait:
            out.print_json(json.dumps({"workflow_id": handle.id, "run_id": handle.result_run_id}))
        elif not as_json:
            out.print(f"started {handle.id}", markup=False)
        return await _follow(client, handle.id) if wait else None

    payload = _run(work, address, namespace)
    if payload is not None:
        _print_outcome(payload, as_json)
        if payload.state is not CampaignState.LEARN:
            raise typer.Exit(EXIT_FAILED)


def _print_outcome(payload: CampaignPayload, as_json: bool) -> None:
    if as_json:
        out.print_json(payload.model_dump_json(exclude={"execution_log"}))
        return
    if payload.state is CampaignState.LEARN:
        receipt = payload.publish_receipt
        out.print(
            f"LEARN: published{' as ' + receipt.publication_id if receipt else ''} "
            f"after {payload.retry_count} operator retries",
            markup=False,
        )
    elif payload.failure:
        out.print(
            f"FAILED at {payload.failure.step}: {payload.failure.reason}: "
            f"{payload.failure.message}",
            markup=False,
        )
        if payload.can_retry():
            out.print(
                f"retry with: campaign retry {payload.campaign_id} "
                f"({payload.max_retries - payload.retry_count} retries left)",
                markup=False,
            )


@app.command()
def status(
    campaign: CampaignArg,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Show a campaign's state (from Temporal visibility: needs no worker)."""
    _check_ref(campaign)
    st = _run(lambda client: campaign_status(client, campaign), address, namespace)
    data = {
        "workflow_id": st.workflow_id,
        "execution_status": st.execution_status,
        "state": st.state.value if st.state else None,
        "failure_reason": st.failure_reason,
        "retry_count": st.retry_count,
        "start_time": st.start_time.isoformat() if st.start_time else None,
        "close_time": st.close_time.isoformat() if st.close_time else None,
    }
    if as_json:
        out.print_json(json.dumps(data))
        return
    reason = f"  reason={st.failure_reason}" if st.failure_reason else ""
    out.print(
        f"{st.workflow_id}  {st.state or '?'}  ({st.execution_status.lower()})  "
        f"retries={st.retry_count if st.retry_count is not None else '?'}{reason}",
        markup=False,
    )


@app.command()
def retry(
    campaign: CampaignArg,
    reason: Annotated[str, typer.Option(help="Why, for the execution log")] = "",
    requested_by: Annotated[
        str, typer.Option("--by", help="Who, for the execution log")
    ] = "operator",
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Retry a FAILED campaign from the step that failed (sends the `retry` signal)."""
    request = RetryRequest(requested_by=requested_by, reason=reason)
    _check_ref(campaign)
    st = _run(lambda client: retry_campaign(client, campaign, request), address, namespace)
    out.print(f"retry signalled to {st.workflow_id}", markup=False)


@app.command()
def log(
    campaign: CampaignArg,
    as_json: JsonOpt = False,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
) -> None:
    """Print a campaign's execution log as a timeline (needs a running worker)."""
    _check_ref(campaign)
    payload = _run(lambda client: campaign_payload(client, campaign), address, namespace)
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in payload.execution_log]))
        return
    for entry in payload.execution_log:
        out.print(_entry_line(entry), markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(app())
