"""A person in the loop over the real dev server, the real worker and the real reference
services: approval before PUBLISH (`campaign approve|reject|request-changes`, the `temporal` CLI's
`workflow update execute`, the REST gateway), `campaign list --approver/--paused`, pause and
resume at a step boundary, and an approve and a reject sent at once.

Each test has its own task queue (the `worker` fixture) and filters by it where it lists, so
campaigns of other tests on the same server do not count."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from contracts import (
    PAYLOAD_QUERY,
    ApprovalPolicy,
    CampaignInput,
    CampaignOutcome,
    CampaignPayload,
    CampaignState,
    Decision,
    Refusal,
    ReviewAccepted,
    ReviewRequest,
    ServiceName,
)
from devstack.stack import DevStack
from orchestrator_client.campaign_errors import CommandRefused
from orchestrator_client.campaign_ops import review_campaign, start_campaign
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_campaigns_end_to_end import (
    FAST_RETRIES,
    RESULT_TIMEOUT,
    campaign,
    wait_for_state,
)
from tests.integration.test_operator_cli import cli
from tests.integration.test_rest_gateway import API, body, wait_for
from tests.stack import Admin, temporal

pytestmark = pytest.mark.integration
T = TypeVar("T")
Handle = WorkflowHandle[Any, CampaignOutcome]


def needs_approval(*approvers: str, **kw: Any) -> CampaignInput:
    """A clean campaign (its audit passes) that waits for a decision by one of `approvers`
    (none: anyone) before it publishes."""
    return campaign(approval=ApprovalPolicy(approvers=list(approvers)), **kw)


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """`check`'s first answer that is not None (polled for up to RESULT_TIMEOUT seconds)."""
    for _ in range(RESULT_TIMEOUT * 10):
        if (found := await check()) is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def payload_of(handle: Handle) -> CampaignPayload:
    payload: CampaignPayload = await handle.query(PAYLOAD_QUERY, result_type=CampaignPayload)
    return payload


async def awaiting(handle: Handle, revision: int) -> CampaignPayload:
    """Once it waits in AWAITING_APPROVAL for a decision on `revision`."""

    async def check() -> CampaignPayload | None:
        p = await payload_of(handle)
        waiting = p.state is CampaignState.AWAITING_APPROVAL and p.approval is not None
        return p if waiting and p.approval and p.approval.revision == revision else None

    return await eventually(check, f"{handle.id} awaits approval of revision {revision}")


async def listed(stack: DevStack, *args: str) -> set[str]:
    """The workflow ids `campaign list ... --json` prints."""
    code, out, err = await cli(stack, "list", *args, "--json")
    assert code == 0, out + err
    return {c["workflow_id"] for c in json.loads(out)}


async def listed_as(stack: DevStack, wanted: set[str], *args: str) -> None:
    """Until `campaign list ...` prints exactly these (visibility is eventually consistent)."""
    last: set[str] = set()

    async def check() -> bool | None:
        nonlocal last
        last = await listed(stack, *args)
        return True if last == wanted else None

    try:
        await eventually(check, f"`campaign list {' '.join(args)}` lists {wanted}")
    except AssertionError:
        raise AssertionError(f"listed {last}, wanted {wanted}") from None


async def status_line(stack: DevStack, workflow_id: str, *expected: str) -> str:
    """`campaign status`'s line, once it has every one of `expected`."""
    text = ""

    async def check() -> str | None:
        nonlocal text
        code, out, err = await cli(stack, "status", workflow_id)
        assert code == 0, out + err
        text = out
        return out if all(e in out for e in expected) else None

    try:
        return await eventually(check, f"status shows {expected}")
    except AssertionError:
        raise AssertionError(f"`campaign status` printed {text!r}, wanted {expected}") from None


async def quality_calls(admin: Admin, c: CampaignInput) -> int:
    return sum(
        1
        for call in await admin.calls()
        if call["service"] == ServiceName.QUALITY.value
        and call["campaign_id"] == str(c.campaign_id)
    )


async def terminate(*handles: Handle) -> None:
    for h in handles:
        if (await h.describe()).status is WorkflowExecutionStatus.RUNNING:
            await h.terminate("test done")


# ---- the campaign CLI ---------------------------------------------------------------------------


async def test_cli_lists_what_waits_for_an_approver_refuses_then_requests_changes_and_approves(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    q = worker.task_queue
    c, anyone = needs_approval("ana"), needs_approval()
    handle = await start_campaign(client, c, task_queue=q)
    open_to_all = await start_campaign(client, anyone, task_queue=q)
    try:
        await awaiting(handle, 0)
        await awaiting(open_to_all, 0)

        # What waits for ana: hers and the one anyone may decide; for bob only the latter.
        await listed_as(stack, {handle.id, open_to_all.id}, "--approver", "ana", "--task-queue", q)
        await listed_as(stack, {open_to_all.id}, "--approver", "bob", "--task-queue", q)
        line = await status_line(stack, handle.id, "AWAITING_APPROVAL", "approvers=ana")
        assert line.startswith(f"{handle.id}  AWAITING_APPROVAL  (running)"), line
        await status_line(stack, open_to_all.id, "AWAITING_APPROVAL", "approvers=*")

        code, out, err = await cli(
            stack, "approve", str(c.campaign_id), "--as", "bob", "--revision", "0"
        )
        assert code == 3, out + err
        assert (
            f"error: campaign {handle.id} refused the approve: 'bob' is not an approver of this "
            "campaign (ana) (NOT_AN_APPROVER)" in err
        ), err

        code, out, err = await cli(stack, "request-changes", str(c.campaign_id), "--as", "ana")
        assert code == 3, out + err
        assert "request_changes needs a comment: say what to change (COMMENT_REQUIRED)" in err, err

        comment = 'drop "guaranteed"'
        code, out, err = await cli(
            stack, "request-changes", str(c.campaign_id), "--as", "ana", "-m", comment
        )
        assert code == 0, out + err
        assert out.strip() == (
            f"request_changes accepted: {handle.id}, revision 0, by ana: back to CONTENT_PROD "
            "for a new revision"
        ), out

        # A new revision, audited, then waiting again; the comment went with it.
        payload = await awaiting(handle, 1)
        assert payload.content is not None and payload.content.revision == 1
        assert [(r.decision, r.reviewer, r.revision, r.comment) for r in payload.reviews] == [
            (Decision.REQUEST_CHANGES, "ana", 0, comment)
        ]
        await status_line(stack, handle.id, "AWAITING_APPROVAL", "approvers=ana")

        code, out, err = await cli(
            stack, "approve", str(c.campaign_id), "--as", "ana", "--revision", "0"
        )
        assert code == 3, out + err
        assert (
            "revision 0 is not the one audited and waiting for a decision (1) (WRONG_REVISION)"
            in err
        ), err

        # An approval names the revision read: without it, the CLI says which one waits.
        code, out, err = await cli(stack, "approve", str(c.campaign_id), "--as", "ana")
        assert code == 2, out + err
        assert "approve needs --revision, the revision you reviewed; it waits for a " in err
        assert f"`campaign approve {c.campaign_id} --revision 1`" in err, err

        code, out, err = await cli(
            stack, "approve", str(c.campaign_id), "--as", "ana", "--revision", "1"
        )
        assert code == 0, out + err
        assert out.strip() == (
            f"approve accepted: {handle.id}, revision 1, by ana: it publishes now"
        ), out

        outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert outcome.state is CampaignState.LEARN, outcome.failure
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
        actions = [e.action for e in (await payload_of(handle)).execution_log]
        assert actions.count("approval_requested") == 2, actions
        assert "changes_requested" in actions and "approved" in actions, actions
        # Decided: no longer listed for ana (the search attribute is unset).
        await listed_as(stack, {open_to_all.id}, "--approver", "ana", "--task-queue", q)
    finally:
        await terminate(handle, open_to_all)


async def test_cli_reject_fails_the_campaign_and_retry_revises_it_for_a_new_decision(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    c = needs_approval("ana")
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    try:
        await awaiting(handle, 0)
        code, out, err = await cli(
            stack, "reject", str(c.campaign_id), "--as", "ana", "-m", "promises returns"
        )
        assert code == 0, out + err
        assert out.strip() == (
            f"reject accepted: {handle.id}, revision 0, by ana: it parks in FAILED "
            "(APPROVAL_REJECTED): `campaign retry` revises it"
        ), out

        line = await status_line(stack, handle.id, "FAILED", "reason=APPROVAL_REJECTED")
        assert "approvers=" not in line, line
        payload = await payload_of(handle)
        assert payload.failure is not None
        assert payload.failure.message == "rejected by ana: promises returns"
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0

        code, out, err = await cli(stack, "retry", str(c.campaign_id))
        assert code == 0, out + err

        await awaiting(handle, 1)
        code, out, err = await cli(
            stack, "approve", str(c.campaign_id), "--as", "ana", "--revision", "1"
        )
        assert code == 0, out + err
        assert f"approve accepted: {handle.id}, revision 1, by ana" in out, out

        outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert outcome.state is CampaignState.LEARN, outcome.failure
        assert outcome.retry_count == 1
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    finally:
        await terminate(handle)


# ---- the temporal CLI ---------------------------------------------------------------------------


async def test_temporal_cli_update_execute_approves_and_prints_a_refusal(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    c = needs_approval("ana")
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    try:
        await awaiting(handle, 0)

        def update(*input_json: str) -> tuple[int, str]:
            done = temporal(
                stack, "workflow", "update", "execute", "--workflow-id", handle.id,
                "--name", "approve", *input_json,
            )  # fmt: skip
            return done.returncode, done.stdout + done.stderr

        code, text = await asyncio.to_thread(
            update, "--input", '{"reviewer": "bob", "revision": 0}'
        )
        assert code != 0, text
        assert (
            "unable to update workflow: 'bob' is not an approver of this campaign (ana) "
            "(type: NOT_AN_APPROVER" in text
        ), text

        code, text = await asyncio.to_thread(update)  # no input at all
        assert code != 0, text
        assert (
            'unable to update workflow: a decision needs {"reviewer": ..., "revision": ..., '
            '"comment": ...} (type: INVALID_REQUEST' in text
        ), text

        code, text = await asyncio.to_thread(
            update, "--input", '{"reviewer": "ana", "revision": 0}'
        )
        assert code == 0, text
        assert (
            f"map[campaign_id:{c.campaign_id} decision:approve next_state:PUBLISH reviewer:ana "
            "revision:0]" in text
        ), text

        outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert outcome.state is CampaignState.LEARN, outcome.failure
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    finally:
        await terminate(handle)


# ---- the REST gateway ---------------------------------------------------------------------------


async def rest_listed(http: httpx.AsyncClient, **params: str) -> set[str]:
    answer = await http.get(API, params={**params, "limit": "1000"})
    assert answer.status_code == 200, answer.text
    return {c["campaign_id"] for c in answer.json()["campaigns"]}


async def test_rest_review_routes_and_the_approver_filter(gateway: httpx.AsyncClient, admin: Admin):
    http = gateway
    created = await http.post(API, json=body(start=True, approval={"approvers": ["ana"]}))
    assert created.status_code == 201, created.text
    cid = created.json()["campaign_id"]
    view = await wait_for(http, cid, "AWAITING_APPROVAL")
    assert view["approvers"] == ["ana"] and view["paused"] is False

    refused = await http.post(f"{API}/{cid}/approve", json={"reviewer": "bob", "revision": 0})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "not_an_approver"
    assert "'bob' is not an approver of this campaign (ana)" in refused.json()["detail"]

    comment = 'drop "guaranteed"'
    changes = await http.post(
        f"{API}/{cid}/request-changes", json={"reviewer": "ana", "revision": 0, "comment": comment}
    )
    assert changes.status_code == 200, changes.text
    assert changes.json() == {
        "campaign_id": cid,
        "decision": "request_changes",
        "reviewer": "ana",
        "revision": 0,
        "next_state": "CONTENT_PROD",
    }

    async def waiting_on_revision_1() -> dict[str, Any] | None:
        got: dict[str, Any] = (await http.get(f"{API}/{cid}")).json()
        approval = got["payload"].get("approval")
        return got if approval and approval["revision"] == 1 else None

    got = await eventually(waiting_on_revision_1, "revision 1 waits for a decision")
    assert got["payload"]["reviews"][0]["comment"] == comment

    async def listed_for_ana() -> bool | None:
        return True if cid in await rest_listed(http, approver="ana") else None

    await eventually(listed_for_ana, "GET ?approver=ana lists it")
    assert cid not in await rest_listed(http, approver="bob")

    approved = await http.post(f"{API}/{cid}/approve", json={"reviewer": "ana", "revision": 1})
    assert approved.status_code == 200, approved.text
    assert approved.json()["next_state"] == "PUBLISH"
    done = await wait_for(http, cid, "LEARN", status="COMPLETED")
    assert done["approvers"] is None
    assert await admin.effect_count(ServiceName.PUBLISHER, uuid.UUID(cid)) == 1

    again = await http.post(f"{API}/{cid}/approve", json={"reviewer": "ana", "revision": 1})
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "campaign_ended"
    assert "it published, and publishes once" in again.json()["detail"]

    bad = await http.post(f"{API}/{cid}/reject", json={"reviewer": "ana", "revision": -1})
    assert bad.status_code == 422, bad.text  # refused by field before anything is asked


async def test_rest_pause_holds_at_a_step_boundary_until_resume(
    gateway: httpx.AsyncClient, admin: Admin
):
    """Paused in IDLE, then started: it holds before its first step, RADAR_SCAN, until resumed."""
    http = gateway
    cid = (await http.post(API, json=body())).json()["campaign_id"]
    await wait_for(http, cid, "IDLE")

    paused = await http.post(f"{API}/{cid}/pause", json={"requested_by": "lee", "reason": "legal"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    started = await http.post(f"{API}/{cid}/start")
    assert started.status_code == 200, started.text

    async def held() -> dict[str, Any] | None:
        view: dict[str, Any] = (await http.get(f"{API}/{cid}")).json()
        return view if view["paused"] else None

    view = await eventually(held, "GET shows it paused")
    assert view["state"] == "RADAR_SCAN" and view["execution_status"] == "RUNNING"
    pause = view["payload"]["paused"]
    assert (pause["requested_by"], pause["reason"], pause["held_before"]) == (
        "lee",
        "legal",
        "RADAR_SCAN",
    )
    assert not [c for c in await admin.calls() if c["campaign_id"] == cid]  # held: no call

    async def listed_paused() -> bool | None:
        return True if cid in await rest_listed(http, paused="true") else None

    await eventually(listed_paused, "GET ?paused=true lists it")

    twice = await http.post(f"{API}/{cid}/pause")
    assert twice.status_code == 409, twice.text
    assert twice.json()["error"] == "already_paused"
    assert "paused by lee already" in twice.json()["detail"]

    resumed = await http.post(f"{API}/{cid}/resume")  # no body
    assert resumed.status_code == 200, resumed.text
    assert resumed.json() == {
        "campaign_id": cid,
        "paused": False,
        "detail": "goes on with RADAR_SCAN",
    }
    done = await wait_for(http, cid, "LEARN", status="COMPLETED")
    assert done["paused"] is False
    assert await admin.effect_count(ServiceName.PUBLISHER, uuid.UUID(cid)) == 1
    ended = await http.post(f"{API}/{cid}/resume")
    assert ended.status_code == 409 and ended.json()["error"] == "campaign_ended", ended.text


# ---- pause and resume with the CLI ------------------------------------------------------------


async def test_cli_pause_lets_the_slow_step_finish_and_holds_before_the_next(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    q = worker.task_queue
    content_step = FAST_RETRIES.model_copy(
        update={"start_to_close_timeout": timedelta(seconds=20), "maximum_attempts": 1}
    )
    c = campaign(step_retry_overrides={CampaignState.CONTENT_PROD: content_step})
    await admin.faults(latency_ms=3000, services=[ServiceName.CONTENT.value])
    handle = await start_campaign(client, c, task_queue=q)
    try:
        await wait_for_state(client, handle.id, CampaignState.CONTENT_PROD)
        code, out, err = await cli(
            stack, "pause", str(c.campaign_id), "--reason", "legal check", "--requested-by", "lee"
        )
        assert code == 0, out + err
        assert out.strip() == (
            f"paused: {handle.id}: holds before its next step (now CONTENT_PROD); a step in "
            "flight finishes"
        ), out

        async def held() -> CampaignPayload | None:
            p = await payload_of(handle)
            return p if p.paused is not None and p.paused.held_before is not None else None

        payload = await eventually(held, "it holds at a step boundary")
        assert payload.paused is not None
        assert payload.paused.held_before is CampaignState.QUALITY_AUDIT
        # held in the next step's state, before its call
        assert payload.state is CampaignState.QUALITY_AUDIT and payload.content is not None
        assert await admin.effect_count(ServiceName.CONTENT, c.campaign_id) == 1  # it finished

        line = await status_line(stack, handle.id, "PAUSED")
        assert line.startswith(f"{handle.id}  QUALITY_AUDIT  (running)"), line
        await listed_as(stack, {handle.id}, "--paused", "--task-queue", q)
        await asyncio.sleep(1)  # held a while longer: still nothing asked of the next service
        assert await quality_calls(admin, c) == 0
        await admin.faults()

        code, out, err = await cli(stack, "resume", str(c.campaign_id), "--requested-by", "lee")
        assert code == 0, out + err
        assert out.strip() == f"resumed: {handle.id}: goes on with QUALITY_AUDIT", out

        outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert outcome.state is CampaignState.LEARN, outcome.failure
        assert await quality_calls(admin, c) == 1
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
        log = (await payload_of(handle)).execution_log
        # Asked during CONTENT_PROD; that step completed; held; resumed; then QUALITY_AUDIT.
        seen = [
            (e.action, e.state)
            for e in log
            if e.action in ("pause_requested", "campaign_paused", "campaign_resumed")
            or (e.action == "step_completed" and e.state is CampaignState.CONTENT_PROD)
            or (e.action == "step_started" and e.state is CampaignState.QUALITY_AUDIT)
        ]
        assert seen == [
            ("pause_requested", CampaignState.CONTENT_PROD),
            ("step_completed", CampaignState.CONTENT_PROD),
            ("campaign_paused", CampaignState.QUALITY_AUDIT),
            ("campaign_resumed", CampaignState.QUALITY_AUDIT),
            ("step_started", CampaignState.QUALITY_AUDIT),
        ], seen
        held_entry = next(e for e in log if e.action == "campaign_paused")
        assert held_entry.details["before"] == "QUALITY_AUDIT"
        assert held_entry.details["requested_by"] == "lee"
        await listed_as(stack, set(), "--paused", "--task-queue", q)
    finally:
        await admin.faults()
        await terminate(handle)


# ---- concurrency ------------------------------------------------------------------------------


async def test_an_approve_and_a_reject_sent_at_once_one_wins_the_other_is_refused(
    client: Client, worker: CampaignWorkers, admin: Admin
):
    """The loser is refused ALREADY_DECIDED, naming the winner, whether it reaches the worker in
    the winner's workflow task or in a later one (the usual case for two clients): the slow
    publisher keeps an approved campaign running, so a third, later decision is asked too."""
    c = needs_approval("ana", "ben")
    await admin.faults(latency_ms=2000, services=[ServiceName.PUBLISHER.value])
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    try:
        await awaiting(handle, 0)
        approve = ReviewRequest(reviewer="ana", revision=0)
        reject = ReviewRequest(reviewer="ben", revision=0, comment="not for savings products")
        answers = await asyncio.gather(
            review_campaign(client, handle.id, Decision.APPROVE, approve),
            review_campaign(client, handle.id, Decision.REJECT, reject),
            return_exceptions=True,
        )
        accepted = [a for a in answers if isinstance(a, ReviewAccepted)]
        refused = [a for a in answers if isinstance(a, CommandRefused)]
        assert len(accepted) == 1 and len(refused) == 1, answers
        winner = accepted[0]
        decided = f"{winner.reviewer} already decided {winner.decision} on revision 0"
        assert refused[0].refusal is Refusal.ALREADY_DECIDED, refused[0]
        assert decided in str(refused[0]), refused[0]

        with pytest.raises(CommandRefused) as late:
            await review_campaign(client, handle.id, Decision.APPROVE, approve)
        assert late.value.refusal is Refusal.ALREADY_DECIDED, late.value
        assert decided in str(late.value), late.value

        payload = await payload_of(handle)
        assert [(r.reviewer, r.decision) for r in payload.reviews] == [
            (winner.reviewer, winner.decision)
        ]
        if winner.decision is Decision.APPROVE:
            outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
            assert outcome.state is CampaignState.LEARN, outcome.failure
            assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
        else:
            await wait_for_state(client, handle.id, CampaignState.FAILED)
            assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0
    finally:
        await admin.faults()
        await terminate(handle)


async def test_a_pause_while_awaiting_approval_holds_before_publish_once_approved(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack
):
    c = needs_approval("ana")
    handle = await start_campaign(client, c, task_queue=worker.task_queue)
    try:
        await awaiting(handle, 0)
        code, out, err = await cli(stack, "pause", str(c.campaign_id), "--requested-by", "lee")
        assert code == 0, out + err
        assert "(now AWAITING_APPROVAL)" in out, out
        code, out, err = await cli(
            stack, "approve", str(c.campaign_id), "--as", "ana", "--revision", "0"
        )
        assert code == 0, out + err

        async def held() -> CampaignPayload | None:
            p = await payload_of(handle)
            return p if p.paused is not None and p.paused.held_before is not None else None

        payload = await eventually(held, "it holds once approved")
        assert payload.paused is not None and payload.paused.held_before is CampaignState.PUBLISH
        await status_line(stack, handle.id, "PAUSED")
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 0

        code, out, err = await cli(stack, "resume", str(c.campaign_id))
        assert code == 0, out + err
        assert out.strip() == f"resumed: {handle.id}: goes on with PUBLISH", out
        outcome = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
        assert outcome.state is CampaignState.LEARN, outcome.failure
        assert await admin.effect_count(ServiceName.PUBLISHER, c.campaign_id) == 1
    finally:
        await terminate(handle)
