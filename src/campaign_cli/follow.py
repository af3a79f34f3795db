"""Following a campaign live (`--wait`): its log entries as they appear, until it ends or parks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from campaign_cli.console import err_console, out
from campaign_cli.rendering import entry_line
from contracts import CampaignState, LogAction

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from contracts import CampaignPayload

QUERY_TIMEOUT = timedelta(seconds=3)  # while following: a worker that polls answers at once


async def follow(
    client: Client, workflow_id: str, *, patience: float, since_last: LogAction | None = None
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
                out.print("  " + entry_line(entry), markup=False)
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
