"""The operator's tools without a server: batch lines, outcome table, Web UI details, queries,
the CLI's help, and the REST API's create body."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner

from contracts import (
    RETRY_UPDATE,
    START_UPDATE,
    CampaignBrief,
    CampaignPayload,
    CampaignState,
    Channel,
    FailureReason,
    LogAction,
    PublishedItem,
    PublishReceipt,
    Refusal,
    RetryAccepted,
    RetryRequest,
    StartRequest,
)
from orchestrator_client import campaign_ops
from orchestrator_client.campaign_batch import parse_line
from orchestrator_client.campaign_errors import CampaignError, CommandRefused, NoWorkerError
from orchestrator_client.campaign_input import CampaignInputError
from orchestrator_client.campaign_lookup import CampaignStatus
from orchestrator_client.campaign_ops import visibility_query
from rest_gateway.app import CreateCampaignRequest
from starter import app
from workflows.current_details import current_details

BRIEF = {
    "name": "Spring",
    "objective": "More pre-orders",
    "audience": "Runners",
    "channels": ["email"],
}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_line_without_id_gets_the_same_id_every_time_whatever_the_key_order():
    again = json.dumps(dict(reversed(list(BRIEF.items()))))
    first, second = parse_line(json.dumps(BRIEF)), parse_line(again.encode())
    assert first.campaign_id == second.campaign_id
    assert first.campaign_id.version == 5
    other = parse_line(json.dumps({**BRIEF, "name": "Autumn"}))
    assert other.campaign_id != first.campaign_id


def test_a_line_with_an_id_keeps_it_and_a_full_input_is_accepted():
    cid = uuid.uuid4()
    line = {"campaign_id": str(cid), "brief": BRIEF, "start_immediately": False}
    parsed = parse_line(json.dumps(line))
    assert parsed.campaign_id == cid and parsed.start_immediately is False


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "not valid JSON at column 2"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b"\xff\xfe", "not UTF-8"),
        (json.dumps({**BRIEF, "channels": ["fax"]}).encode(), "brief.channels.0"),
        (json.dumps({"brief": {**BRIEF, "objective": ""}}).encode(), "brief.objective"),
    ],
)
def test_a_bad_line_says_what_is_wrong(line: bytes, message: str):
    with pytest.raises(CampaignInputError, match=message.replace(".", r"\.")):
        parse_line(line)


def _payload(**kw: object) -> CampaignPayload:
    brief = CampaignBrief(name="N", objective="Obj", audience="A", channels=[Channel.EMAIL])
    payload = CampaignPayload(
        campaign_id=uuid.uuid4(), execution_id=uuid.uuid4(), brief=brief, **kw
    )
    payload.add_trace("orchestrator", LogAction.CAMPAIGN_CREATED, {"execution_id": "x"}, at=NOW)
    return payload


def test_current_details_of_a_failed_campaign_say_why_and_how_to_retry():
    p = _payload()
    p.mark_failed(
        FailureReason.QUALITY_GATE_FAILED, "gate closed", step=CampaignState.QUALITY_AUDIT, at=NOW
    )
    p.add_trace(
        "orchestrator", LogAction.CAMPAIGN_FAILED, {"reason": "QUALITY_GATE_FAILED"}, at=NOW
    )
    text = current_details(p)
    assert "`FAILED`" in text and "QUALITY_GATE_FAILED" in text and "gate closed" in text
    assert f"campaign retry {p.campaign_id}" in text
    assert f"--workflow-id campaign-{p.campaign_id} --name request_retry" in text
    assert "#2 **FAILED** campaign_failed" in text

    p.retry_count = p.max_retries
    assert "No retries left" in current_details(p)
    assert "campaign retry" not in current_details(p)


def test_current_details_of_a_published_campaign_name_the_publication():
    p = _payload(state=CampaignState.LEARN)
    p.publish_receipt = PublishReceipt(
        artifact_id=uuid.uuid4(),
        produced_at=NOW,
        publication_id="pub-42",
        items=[PublishedItem(channel=Channel.EMAIL, url="https://example.invalid/1")],
        published_at=NOW,
    )
    assert "Published as `pub-42`" in current_details(p)


def test_visibility_queries():
    assert visibility_query() == "WorkflowType = 'CampaignWorkflow'"
    assert visibility_query(
        states=[CampaignState.FAILED],
        execution_statuses=[WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.TIMED_OUT],
        failure_reasons=[FailureReason.TIMEOUT],
        task_queue="q1",
    ) == (
        "WorkflowType = 'CampaignWorkflow' AND (CampaignState = 'FAILED' AND NOT "
        "ExecutionStatus = 'Canceled') AND CampaignFailureReason = 'TIMEOUT' AND ExecutionStatus "
        "IN ('Running', 'TimedOut') AND TaskQueue = 'q1'"
    )
    # Cancelled campaigns are CANCELLED, also those cancelled before CANCELLED existed (FAILED).
    assert visibility_query(states=[CampaignState.CANCELLED, CampaignState.LEARN]) == (
        "WorkflowType = 'CampaignWorkflow' AND (CampaignState = 'LEARN' OR "
        "(CampaignState = 'CANCELLED' OR ExecutionStatus = 'Canceled'))"
    )
    with pytest.raises(CampaignError, match="quotes"):
        visibility_query(task_queue="x' OR 1=1 --")


@pytest.mark.parametrize("command", ["start", "batch", "list", "status", "log", "retry", "cancel"])
def test_every_command_has_help_with_examples(command: str):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"campaign {command}" in result.output


def test_the_top_level_help_lists_a_days_work():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for line in ("campaign batch briefs.jsonl", "campaign list --state FAILED", "--all-failed"):
        assert line in result.output


def test_retry_wants_an_id_or_all_failed_not_both():
    for args in (["retry"], ["retry", "--all-failed", str(uuid.uuid4())]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "give a campaign id, or --all-failed" in result.output


def test_start_takes_an_idle_campaigns_id_or_a_brief_not_both():
    result = CliRunner().invoke(app, ["start", str(uuid.uuid4()), "--name", "New"])
    assert result.exit_code == 2
    assert "give an IDLE campaign's id, or a brief for a new one (not both)" in result.output


def test_retry_wait_follows_one_campaign_not_all_failed():
    result = CliRunner().invoke(app, ["retry", "--all-failed", "--wait"])
    assert result.exit_code == 2 and "--wait follows one campaign" in result.output


def test_the_rest_create_body_uses_start_as_its_switch():
    created = CreateCampaignRequest.model_validate({"brief": BRIEF})
    assert created.campaign_input().start_immediately is False
    assert CreateCampaignRequest.model_validate({"brief": BRIEF, "start": True}).campaign_input(
    ).start_immediately is True  # fmt: skip
    with pytest.raises(ValidationError, match="use `start`"):
        CreateCampaignRequest.model_validate({"brief": BRIEF, "start_immediately": True})


class _FakeHandle:
    """A campaign whose `execute_update` gives one canned outcome (unit test only)."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome
        self.updates: list[str] = []

    async def execute_update(self, name: str, arg: object, **kwargs: object) -> object:
        self.updates.append(name)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _FakeClient:
    namespace = "default"
    service_client = SimpleNamespace(config=SimpleNamespace(target_host="127.0.0.1:7233"))

    def __init__(self, handle: _FakeHandle) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> _FakeHandle:
        return self.handle


CID = uuid.uuid4()


def _status(execution_status: str, state: CampaignState | None) -> CampaignStatus:
    return CampaignStatus(
        workflow_id=f"campaign-{CID}", run_id=None, execution_status=execution_status,
        state=state, failure_reason=None, retry_count=1, start_time=None, close_time=None,
        task_queue="campaigns",
    )  # fmt: skip


@pytest.fixture
def running_with_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake campaign is running (FAILED) and a worker polls its queue, unless a test says
    otherwise."""

    async def running(client: object, ref: str) -> CampaignStatus:
        return _status("RUNNING", CampaignState.FAILED)

    async def polling(client: object, task_queue: str) -> bool:
        return True

    async def not_wedged(client: object, workflow_id: str) -> None:
        return None

    monkeypatch.setattr(campaign_ops, "campaign_status", running)
    monkeypatch.setattr(campaign_ops, "worker_polling", polling)
    monkeypatch.setattr(campaign_ops, "wedged_reason", not_wedged)


@pytest.mark.usefixtures("running_with_a_worker")
async def test_retry_returns_the_workflows_answer_from_the_update() -> None:
    answer = RetryAccepted(
        campaign_id=CID, retry_count=1, retries_left=2, resume_at=CampaignState.CONTENT_PROD,
        retried_failure=FailureReason.QUALITY_GATE_FAILED,
    )  # fmt: skip
    handle = _FakeHandle(answer)
    got = await campaign_ops.retry_campaign(_FakeClient(handle), str(CID), RetryRequest())  # type: ignore[arg-type]
    assert got == answer and handle.updates == [RETRY_UPDATE]


@pytest.mark.usefixtures("running_with_a_worker")
async def test_a_refusal_carries_the_workflows_code_and_reason() -> None:
    refusal = ApplicationError("campaign is LEARN, not FAILED: nothing to retry", type="NOT_FAILED")
    handle = _FakeHandle(WorkflowUpdateFailedError(refusal))
    with pytest.raises(CommandRefused) as refused:
        await campaign_ops.retry_campaign(_FakeClient(handle), str(CID), RetryRequest())  # type: ignore[arg-type]
    assert refused.value.refusal is Refusal.NOT_FAILED
    assert refused.value.reason == "campaign is LEARN, not FAILED: nothing to retry"
    assert str(refused.value) == (
        f"campaign campaign-{CID} refused the retry: campaign is LEARN, not FAILED: nothing to "
        "retry (NOT_FAILED)"
    )


@pytest.mark.usefixtures("running_with_a_worker")
async def test_an_update_to_a_closed_campaign_is_refused_with_its_close_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statuses = iter(
        [_status("RUNNING", CampaignState.IDLE), _status("COMPLETED", CampaignState.LEARN)]
    )

    async def closes_meanwhile(client: object, ref: str) -> CampaignStatus:
        return next(statuses)

    monkeypatch.setattr(campaign_ops, "campaign_status", closes_meanwhile)
    gone = RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
    handle = _FakeHandle(gone)
    with pytest.raises(CommandRefused) as refused:
        await campaign_ops.send_start(_FakeClient(handle), str(CID), StartRequest())  # type: ignore[arg-type]
    assert handle.updates == [START_UPDATE]
    assert refused.value.refusal is Refusal.CAMPAIGN_ENDED
    assert "has ended (COMPLETED, state LEARN): it published, and publishes once; start a new " \
        "campaign id" in str(refused.value)  # fmt: skip


@pytest.mark.usefixtures("running_with_a_worker")
async def test_an_update_to_a_closed_campaign_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    async def cancelled(client: object, ref: str) -> CampaignStatus:
        return _status("CANCELED", CampaignState.CANCELLED)

    monkeypatch.setattr(campaign_ops, "campaign_status", cancelled)
    handle = _FakeHandle(AssertionError("not sent"))
    with pytest.raises(CommandRefused) as refused:
        await campaign_ops.retry_campaign(_FakeClient(handle), str(CID), RetryRequest())  # type: ignore[arg-type]
    assert handle.updates == [] and refused.value.refusal is Refusal.CAMPAIGN_ENDED
    assert "(CANCELED, state CANCELLED): start it again" in str(refused.value)


@pytest.mark.usefixtures("running_with_a_worker")
async def test_no_worker_polling_is_said_at_once_with_the_queue_and_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def none(client: object, task_queue: str) -> bool:
        return False

    monkeypatch.setattr(campaign_ops, "worker_polling", none)
    handle = _FakeHandle(AssertionError("not sent"))
    with pytest.raises(NoWorkerError) as error:
        await campaign_ops.retry_campaign(_FakeClient(handle), str(CID), RetryRequest())  # type: ignore[arg-type]
    assert handle.updates == []
    assert str(error.value).startswith(
        "no worker is polling task queue 'campaigns' (Temporal at 127.0.0.1:7233, namespace "
        f"default): nothing can answer the retry of campaign-{CID}"
    )


@pytest.mark.usefixtures("running_with_a_worker")
async def test_no_worker_answering_is_one_clear_error_not_a_hang() -> None:
    handle = _FakeHandle(WorkflowUpdateRPCTimeoutOrCancelledError())
    with pytest.raises(NoWorkerError, match="no worker answered the retry"):
        await campaign_ops.retry_campaign(_FakeClient(handle), str(CID), RetryRequest())  # type: ignore[arg-type]
