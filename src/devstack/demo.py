"""The demo: three campaigns through the whole graph on the embedded dev server.

One publishes straight away. The second promises "guaranteed" results, so the audit reports a
CRITICAL check and the quality gate parks it in FAILED; an operator's `retry` signal then makes
the content service revise the copy against the audit, and it publishes. The third requires a
compliance officer's approval: it waits in AWAITING_APPROVAL, the officer requests a change,
the content service revises it, and the officer approves the new revision before it publishes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

from temporalio.client import Client, WorkflowHandle

from contracts import (
    STATE_QUERY,
    ApprovalPolicy,
    CampaignBrief,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Channel,
    Decision,
    RetryRequest,
    ReviewRequest,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_ops import (
    campaign_payload,
    retry_campaign,
    review_campaign,
    start_campaign,
)
from orchestrator_client.wording import counted
from orchestrator_connection.temporal_client import connect

STEP_TIMEOUT = 120.0
OFFICER = "compliance@nimbus.example"


def demo_briefs() -> tuple[CampaignBrief, CampaignBrief]:
    clean = CampaignBrief(
        name="Spring launch: Aurora running shoes",
        objective="Drive pre-orders of the Aurora trail shoe among weekend runners",
        audience="Trail runners aged 25-45 in Europe",
        channels=[Channel.EMAIL, Channel.SOCIAL, Channel.BLOG],
        budget=25_000,
        keywords=["trail running", "lightweight", "pre-order"],
    )
    risky = CampaignBrief(
        name="Winter promo: Nimbus savings account",
        objective="Promise guaranteed returns to grow Nimbus savings sign-ups",
        audience="First-time savers aged 20-35",
        channels=[Channel.EMAIL, Channel.SEARCH_ADS],
        budget=40_000,
        keywords=["savings", "interest"],
    )
    return clean, risky


def regulated_brief() -> CampaignBrief:
    return CampaignBrief(
        name="Spring rates: Nimbus fixed saver",
        objective="Announce the Nimbus fixed saver at 3.1% a year to grow deposits",
        audience="Savers aged 30-60 in Europe",
        channels=[Channel.EMAIL, Channel.BLOG],
        budget=30_000,
        keywords=["fixed saver", "interest rate"],
    )


async def _wait_for_state(
    handle: WorkflowHandle[Any, CampaignOutcome], wanted: CampaignState
) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if await handle.query(STATE_QUERY, result_type=CampaignState) is wanted:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{handle.id} did not reach {wanted} within {STEP_TIMEOUT:.0f}s")


async def _wait_for_revision(client: Client, workflow_id: str, revision: int) -> int:
    """Until the campaign waits for a decision on `revision` (audited, gate passed)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        payload = await campaign_payload(client, workflow_id)
        if payload.approval is not None and payload.approval.revision >= revision:
            return payload.approval.revision
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id}: revision {revision} did not reach AWAITING_APPROVAL")


def _line(payload: CampaignPayload) -> str:
    receipt = payload.publish_receipt
    published = f"published as {receipt.publication_id}" if receipt else "not published"
    return (
        f"{payload.state} after "
        f"{counted(payload.retry_count, 'operator retry', 'operator retries')}; {published}; "
        f"{len(payload.execution_log)} log entries"
    )


async def run_demo(client: Client, task_queue: str, ui_url: str | None) -> list[CampaignPayload]:
    clean, risky = demo_briefs()
    results: list[CampaignPayload] = []

    print(f"\n1) '{clean.name}': a clean brief")
    first = await start_campaign(
        client, CampaignInput(campaign_id=uuid4(), brief=clean), task_queue=task_queue
    )
    print(f"   started {first.id}")
    await asyncio.wait_for(first.result(), STEP_TIMEOUT)
    results.append(await campaign_payload(client, first.id))
    print(f"   -> {_line(results[-1])}")

    print(f"\n2) '{risky.name}': the brief promises 'guaranteed' returns")
    second = await start_campaign(
        client, CampaignInput(campaign_id=uuid4(), brief=risky), task_queue=task_queue
    )
    print(f"   started {second.id}")
    await _wait_for_state(second, CampaignState.FAILED)
    parked = await campaign_payload(client, second.id)
    assert parked.failure is not None
    print(f"   -> parked in FAILED: {parked.failure.reason}: {parked.failure.message}")
    answer = await retry_campaign(
        client, second.id, RetryRequest(requested_by="demo", reason="copy revised by the audit")
    )
    print(
        f"   operator asks for a retry (the `request_retry` update): accepted, retry "
        f"{answer.retry_count} of {answer.retry_count + answer.retries_left}, resumes at "
        f"{answer.resume_at} ..."
    )
    await asyncio.wait_for(second.result(), STEP_TIMEOUT)
    results.append(await campaign_payload(client, second.id))
    print(f"   -> {_line(results[-1])}")

    regulated = regulated_brief()
    print(f"\n3) '{regulated.name}': regulated, so a compliance officer approves it first")
    third = await start_campaign(
        client,
        CampaignInput(
            campaign_id=uuid4(), brief=regulated, approval=ApprovalPolicy(approvers=[OFFICER])
        ),
        task_queue=task_queue,
    )
    print(f"   started {third.id} (approval required, by {OFFICER})")
    await _wait_for_state(third, CampaignState.AWAITING_APPROVAL)
    waiting = await campaign_payload(client, third.id)
    assert waiting.approval is not None
    print(
        f"   -> waits in AWAITING_APPROVAL for revision {waiting.approval.revision} "
        f"(`campaign list --approver {OFFICER}` lists it)"
    )
    comment = 'say "3.1% a year, fixed for 12 months", and no "guaranteed"'
    review = await review_campaign(
        client,
        third.id,
        Decision.REQUEST_CHANGES,
        ReviewRequest(reviewer=OFFICER, revision=waiting.approval.revision, comment=comment),
    )
    print(
        f"   the officer requests changes (`campaign request-changes {third.id} -m ...`): "
        f"back to {review.next_state}"
    )
    revised = await _wait_for_revision(client, third.id, waiting.approval.revision + 1)
    review = await review_campaign(
        client,
        third.id,
        Decision.APPROVE,
        ReviewRequest(reviewer=OFFICER, revision=revised, comment="compliant now"),
    )
    print(
        f"   revision {revised} audited and waiting; the officer approves it "
        f"(`campaign approve {third.id} --revision {revised}`): on to {review.next_state} ..."
    )
    await asyncio.wait_for(third.result(), STEP_TIMEOUT)
    results.append(await campaign_payload(client, third.id))
    print(f"   -> {_line(results[-1])}")

    print("\nOutcomes")
    for handle, payload in zip((first, second, third), results, strict=True):
        print(
            f"   {handle.id}  {payload.state:<6} retries={payload.retry_count}  "
            f"{payload.brief.name}"
        )
    if ui_url:
        print(f"\nTemporal Web UI: {ui_url}/namespaces/default/workflows")
        for handle in (first, second, third):
            print(f"   {ui_url}/namespaces/default/workflows/{handle.id}")
    return results


async def main_async(stack: DevStack) -> int:
    c = stack.config
    client = await connect(target_host=c.temporal_address, namespace="default")
    results = await run_demo(client, c.task_queue, c.ui_url)
    ok = all(p.state is CampaignState.LEARN for p in results)
    last = f"campaign-{results[-1].campaign_id}"
    print(
        "\nFrom the terminal:\n"
        f"   .venv/bin/temporal workflow list --address {c.temporal_address}\n"
        f"   .venv/bin/temporal workflow query --address {c.temporal_address} "
        f"--workflow-id {last} --type payload\n"
        f"   .venv/bin/campaign status {last} --address {c.temporal_address}\n"
        f"   .venv/bin/campaign log {last} --address {c.temporal_address}\n"
        f"   (or export TEMPORAL_ADDRESS={c.temporal_address} once)\n"
        f"\nThe stack keeps running (logs in {c.run_dir}/); stop it with `make stop`."
    )
    return 0 if ok else 1
