"""The operator's tools without a server: batch lines, outcome table, Web UI details, queries,
the CLI's help, and the REST API's create body."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus
from typer.testing import CliRunner

from contracts import (
    RETRY_SIGNAL,
    CampaignBrief,
    CampaignPayload,
    CampaignState,
    Channel,
    FailureReason,
    PublishedItem,
    PublishReceipt,
    RetryRequest,
)
from orchestrator_runtime import campaign_ops
from orchestrator_runtime.campaign_batch import BatchReport, LineProblem, Outcome, parse_line
from orchestrator_runtime.campaign_input import CampaignInputError
from orchestrator_runtime.campaign_ops import CampaignError, CampaignStatus, visibility_query
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


def test_the_outcome_table_puts_published_first_then_failures_by_count():
    report = BatchReport(waited=True)
    report.started = {f"campaign-{i}": i for i in range(6)}
    report.settled = {
        "campaign-0": (Outcome.PUBLISHED, None),
        "campaign-1": (Outcome.FAILED, "SERVICE_UNAVAILABLE"),
        "campaign-2": (Outcome.FAILED, "QUALITY_GATE_FAILED"),
        "campaign-3": (Outcome.FAILED, "QUALITY_GATE_FAILED"),
        "campaign-4": (Outcome.CANCELLED, "CANCELLED"),
    }
    report.skipped = {"campaign-9": 9}
    assert report.outcome_counts() == [
        ("published", 1),
        ("failed: QUALITY_GATE_FAILED", 2),
        ("failed: SERVICE_UNAVAILABLE", 1),
        ("cancelled", 1),
        ("still running (not settled in time)", 1),
        ("skipped: already exists", 1),
    ]
    assert report.as_dict()["campaigns"]["campaign-5"]["outcome"] is None


def test_the_json_report_lists_lines_in_file_order_whatever_order_the_starters_finished():
    report = BatchReport()
    report.started = {"campaign-c": 3, "campaign-a": 1}
    report.skipped = {"campaign-e": 5, "campaign-d": 4}
    report.start_errors = [LineProblem(7, "not started: x"), LineProblem(6, "not started: y")]
    report.invalid = [LineProblem(9, "bad"), LineProblem(8, "bad")]
    doc = report.as_dict()
    assert [c["line"] for c in doc["campaigns"].values()] == [1, 3]
    assert [s["line"] for s in doc["skipped"]] == [4, 5]
    assert [e["line"] for e in doc["errors"]] == [6, 7]
    assert [e["line"] for e in doc["invalid"]] == [8, 9]


def _payload(**kw: object) -> CampaignPayload:
    brief = CampaignBrief(name="N", objective="Obj", audience="A", channels=[Channel.EMAIL])
    payload = CampaignPayload(
        campaign_id=uuid.uuid4(), execution_id=uuid.uuid4(), brief=brief, **kw
    )
    payload.add_trace("orchestrator", "campaign_created", {"execution_id": "x"}, at=NOW)
    return payload


def test_current_details_of_a_failed_campaign_say_why_and_how_to_retry():
    p = _payload()
    p.mark_failed(
        FailureReason.QUALITY_GATE_FAILED, "gate closed", step=CampaignState.QUALITY_AUDIT, at=NOW
    )
    p.add_trace("orchestrator", "campaign_failed", {"reason": "QUALITY_GATE_FAILED"}, at=NOW)
    text = current_details(p)
    assert "`FAILED`" in text and "QUALITY_GATE_FAILED" in text and "gate closed" in text
    assert f"campaign retry {p.campaign_id}" in text
    assert f"--workflow-id campaign-{p.campaign_id} --name retry" in text
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
        "WorkflowType = 'CampaignWorkflow' AND CampaignState = 'FAILED' AND "
        "CampaignFailureReason = 'TIMEOUT' AND ExecutionStatus IN ('Running', 'TimedOut') "
        "AND TaskQueue = 'q1'"
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


def test_the_rest_create_body_uses_start_as_its_switch():
    created = CreateCampaignRequest.model_validate({"brief": BRIEF})
    assert created.campaign_input().start_immediately is False
    assert CreateCampaignRequest.model_validate({"brief": BRIEF, "start": True}).campaign_input(
    ).start_immediately is True  # fmt: skip
    with pytest.raises(ValidationError, match="use `start`"):
        CreateCampaignRequest.model_validate({"brief": BRIEF, "start_immediately": True})


class _FakeHandle:
    """A running campaign whose search attribute still says RADAR_SCAN (unit test only)."""

    def __init__(self, state: CampaignState) -> None:
        self.state = state
        self.signals: list[str] = []

    async def query(self, name: str, **kwargs: object) -> CampaignState:
        return self.state

    async def signal(self, name: str, arg: object) -> None:
        self.signals.append(name)


class _FakeClient:
    def __init__(self, handle: _FakeHandle) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> _FakeHandle:
        return self.handle


@pytest.mark.parametrize(
    ("workflow_says", "signalled"), [("FAILED", True), ("STRATEGY_GEN", False)]
)
async def test_retry_asks_the_workflow_when_the_search_attribute_trails_it(
    monkeypatch: pytest.MonkeyPatch, workflow_says: str, signalled: bool
) -> None:
    async def trailing_status(client: object, ref: str) -> CampaignStatus:
        return CampaignStatus(
            workflow_id=ref, run_id=None, execution_status="RUNNING",
            state=CampaignState.RADAR_SCAN, failure_reason=None, retry_count=0,
            start_time=None, close_time=None,
        )  # fmt: skip

    monkeypatch.setattr(campaign_ops, "campaign_status", trailing_status)
    handle = _FakeHandle(CampaignState(workflow_says))
    client = _FakeClient(handle)
    if signalled:
        await campaign_ops.retry_campaign(client, "c-1", RetryRequest())  # type: ignore[arg-type]
        assert handle.signals == [RETRY_SIGNAL]
    else:
        with pytest.raises(CampaignError, match="STRATEGY_GEN, not FAILED"):
            await campaign_ops.retry_campaign(client, "c-1", RetryRequest())  # type: ignore[arg-type]
        assert handle.signals == []
