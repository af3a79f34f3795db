"""The operator's commands: start, status, retry, log, list, cancel (batch: batch_command.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from campaign_cli.connection import check_ref, client_settings, run, run_light
from campaign_cli.console import EXIT_FAILED, EXIT_INPUT, err_console, fail, out
from campaign_cli.follow import follow
from campaign_cli.options import (
    AddressOpt,
    CampaignArg,
    ExecutionStatus,
    FailureReasonsOpt,
    JsonOpt,
    NamespaceOpt,
    WaitTimeoutOpt,
    one_of,
)
from campaign_cli.rendering import (
    bulk_line,
    entry_line,
    exit_with_outcome,
    print_campaigns,
    print_retry,
    print_start,
    print_status,
)
from contracts import CampaignState, Channel, FailureReason, LogAction

CANCEL_WAIT_SECONDS = 60.0  # cancel --wait: how long to wait for the workflow to end

if TYPE_CHECKING:
    from temporalio.client import Client

    from contracts import CampaignPayload, RetryAccepted, StartAccepted
    from orchestrator_client.campaign_lookup import CampaignStatus, Visibility


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
            help=f"{one_of(Channel)}; repeat for each channel",
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
    brand: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Brand or tenant: shares each service fairly with other brands"
        ),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option(metavar="1-5", help="1 goes first, 5 last; default 3"),
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
      campaign start -f brief.json --brand acme --priority 1     an urgent launch for acme

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
                 max_retries, brand, priority, task_queue]  # fmt: skip
        if any(v is not None for v in given):
            raise fail(
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
        for k, v in dict(
            campaign_id=campaign_id, max_retries=max_retries, brand=brand, priority=priority
        ).items()
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
        raise fail(f"invalid campaign: {err}", EXIT_INPUT) from None
    settings = client_settings()
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
        return await follow(client, handle.id, patience=timeout) if wait else None

    exit_with_outcome(run(work, address, namespace), as_json)


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

    check_ref(campaign)
    request = StartRequest()

    async def work(client: Client) -> tuple[StartAccepted, CampaignPayload | None]:
        answer = await send_start(client, campaign, request)
        wid = workflow_id_from_ref(campaign)
        print_start(answer, wid, as_json and not wait)
        return answer, (await follow(client, wid, patience=timeout) if wait else None)

    _, payload = run(work, address, namespace)
    exit_with_outcome(payload, as_json, workflow_id_from_ref(campaign))


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
    from orchestrator_client.campaign_lookup import (
        describe_campaign,
        inactive_versions_only,
        step_waiting_for_worker,
        worker_polling,
    )

    check_ref(campaign)

    async def work(temporal: Visibility) -> tuple[CampaignStatus, str | None]:
        st = await describe_campaign(temporal, campaign)
        if not st.running or not st.task_queue:
            return st, None
        # Running: say so when nothing can move it on.
        if not await worker_polling(temporal, st.task_queue):
            return st, f"waiting for a worker: none polls task queue '{st.task_queue}'"
        if inactive := await inactive_versions_only(temporal, st.task_queue, st.pinned_build):
            return st, f"waiting for a worker: {inactive}"
        if st.state is None:
            return st, "not picked up by a worker yet"
        return st, await step_waiting_for_worker(temporal, st.task_queue, st.state)

    st, note = run_light(work, address, namespace)
    print_status(st, note, as_json)


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
        raise fail("give a campaign id, or --all-failed (not both)", EXIT_INPUT)
    if campaign is not None:
        check_ref(campaign)

        async def one(client: Client) -> tuple[RetryAccepted, CampaignPayload | None]:
            answer = await retry_campaign(client, campaign, request)
            wid = workflow_id_from_ref(campaign)
            print_retry(answer, wid, as_json and not wait)
            return answer, (
                await follow(client, wid, patience=timeout, since_last=LogAction.RETRY_ACCEPTED)
                if wait
                else None
            )

        _, payload = run(one, address, namespace)
        exit_with_outcome(payload, as_json, workflow_id_from_ref(campaign))
        return
    if wait:
        raise fail("--wait follows one campaign: give its id, not --all-failed", EXIT_INPUT)
    per_second = rate if rate is not None else client_settings().retry_batch_rps
    result = run(
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
        out.print(bulk_line(result), markup=False)
    if result.note:
        err_console.print(f"note: {result.note}", markup=False)
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


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

    check_ref(campaign)
    payload = run(lambda client: campaign_payload(client, campaign), address, namespace)
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in payload.execution_log]))
        return
    for entry in payload.execution_log:
        out.print(entry_line(entry), markup=False)


def list_campaigns_command(
    state: Annotated[
        list[CampaignState] | None,
        typer.Option(
            "--state",
            "-s",
            metavar="STATE",
            case_sensitive=False,
            help=f"Campaign state, {one_of(CampaignState)}; repeat for several",
        ),
    ] = None,
    status: Annotated[
        list[ExecutionStatus] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            case_sensitive=False,
            help=f"Temporal execution status, {one_of(ExecutionStatus)}; repeat for several",
        ),
    ] = None,
    failure_reason: FailureReasonsOpt = None,
    task_queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only campaigns on this task queue")
    ] = None,
    approver: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only those waiting for a decision NAME may make"),
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Only those held by a pause")] = False,
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
      campaign list --approver ana                   waiting for a decision ana may make
      campaign list --paused                         held by a pause

    The visibility query is printed on stderr: paste it into the Web UI's workflow list filter
    or `temporal workflow list --query` to see the same campaigns there. Needs no worker.
    """
    from orchestrator_client.campaign_ops import list_campaigns

    query = _visibility_query_or_exit(state, status, failure_reason, task_queue, approver, paused)
    found = run(lambda client: list_campaigns(client, query, limit=limit), address, namespace)
    print_campaigns(found, query, limit, as_json)


def _visibility_query_or_exit(
    state: list[CampaignState] | None,
    status: list[ExecutionStatus] | None,
    failure_reason: list[FailureReason] | None,
    task_queue: str | None,
    approver: str | None = None,
    paused: bool = False,
) -> str:
    from orchestrator_client.campaign_errors import CampaignError
    from orchestrator_client.campaign_ops import visibility_query

    try:
        return visibility_query(
            states=state or (),
            execution_statuses=[s.temporal for s in status or ()],
            failure_reasons=failure_reason or (),
            task_queue=task_queue,
            approver=approver,
            paused=paused,
        )
    except CampaignError as err:
        raise fail(str(err), EXIT_INPUT) from None


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

    check_ref(campaign)

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

    st = run(work, address, namespace)
    if as_json:
        out.print_json(json.dumps(st.as_dict()))
    elif wait:
        out.print(f"{st.workflow_id} ended: {st.execution_status.lower()}", markup=False)
    else:
        out.print(f"cancel requested for {st.workflow_id}", markup=False)
