"""The batch's report and its run against a fake Temporal: the outcome table, which outcomes
make the exit code 1, campaigns that existed before, no worker, and Temporal going away
(retried within the timeout; past it the report still holds what was started)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from contracts import CampaignState
from orchestrator_client import campaign_batch
from orchestrator_client.campaign_batch import (
    Batch,
    BatchReport,
    LineProblem,
    Outcome,
    TemporalGoneError,
)
from orchestrator_client.campaign_errors import CampaignExistsError
from orchestrator_client.campaign_lookup import CampaignStatus


def test_the_outcome_table_puts_published_first_then_failures_by_count_then_what_existed():
    report = BatchReport(waited=True)
    report.started = {f"campaign-{i}": i for i in range(6)}
    report.existing = {"campaign-7": 7, "campaign-8": 8, "campaign-9": 9}
    report.settled = {
        "campaign-0": (Outcome.PUBLISHED, None),
        "campaign-1": (Outcome.FAILED, "SERVICE_UNAVAILABLE"),
        "campaign-2": (Outcome.FAILED, "QUALITY_GATE_FAILED"),
        "campaign-3": (Outcome.FAILED, "QUALITY_GATE_FAILED"),
        "campaign-4": (Outcome.CANCELLED, "CANCELLED"),
        "campaign-7": (Outcome.PUBLISHED, None),
        "campaign-8": (Outcome.FAILED, "QUALITY_GATE_FAILED"),
    }
    assert report.outcome_counts() == [
        ("published", 1),
        ("failed: QUALITY_GATE_FAILED", 2),
        ("failed: SERVICE_UNAVAILABLE", 1),
        ("cancelled", 1),
        ("still running (not settled in time)", 1),
        ("existing: published", 1),
        ("existing: failed: QUALITY_GATE_FAILED", 1),
        ("existing: still running (not settled in time)", 1),
    ]
    doc = report.as_dict()
    assert doc["campaigns"]["campaign-5"]["outcome"] is None
    assert doc["existing"][1] == {
        "line": 8,
        "workflow_id": "campaign-8",
        "outcome": "failed",
        "failure_reason": "QUALITY_GATE_FAILED",
    }


def test_the_json_report_lists_lines_in_file_order_whatever_order_the_starters_finished():
    report = BatchReport()
    report.started = {"campaign-c": 3, "campaign-a": 1}
    report.existing = {"campaign-e": 5, "campaign-d": 4}
    report.start_errors = [LineProblem(7, "not started: x"), LineProblem(6, "not started: y")]
    report.invalid = [LineProblem(9, "bad"), LineProblem(8, "bad")]
    doc = report.as_dict()
    assert [c["line"] for c in doc["campaigns"].values()] == [1, 3]
    assert [s["line"] for s in doc["existing"]] == [4, 5]
    assert [e["line"] for e in doc["errors"]] == [6, 7]
    assert [e["line"] for e in doc["invalid"]] == [8, 9]


@pytest.mark.parametrize(
    ("waited", "settled", "fine"),
    [
        (False, None, True),  # --no-wait: started, not followed
        (True, None, False),  # followed and not settled in time
        (True, (Outcome.PUBLISHED, None), True),
        (True, (Outcome.WAITING_FOR_START, None), True),
        (True, (Outcome.FAILED, "QUALITY_GATE_FAILED"), False),
        (True, (Outcome.CANCELLED, "CANCELLED"), False),
        (True, (Outcome.TERMINATED, None), False),
    ],
)
@pytest.mark.parametrize("existing", [False, True])
def test_which_outcomes_make_the_batch_exit_1(
    waited: bool, settled: tuple[Outcome, str | None] | None, fine: bool, existing: bool
):
    report = BatchReport(waited=waited)
    (report.existing if existing else report.started)["campaign-1"] = 1
    if settled:
        report.settled["campaign-1"] = settled
    assert report.all_fine() is fine
    label = report.outcome_counts()[-1][0]
    assert label.startswith("existing: ") is existing, report.outcome_counts()


def test_a_no_wait_batch_of_existing_campaigns_shows_no_zero_published_row():
    report = BatchReport(waited=False)
    report.existing = {"campaign-1": 1}
    report.settled = {"campaign-1": (Outcome.PUBLISHED, None)}
    assert report.outcome_counts() == [("existing: published", 1)]
    assert report.all_fine()


# ---- a run against a fake Temporal -----------------------------------------------------------

# Only what error messages read (target()); every call goes to the fake.
CLIENT: Any = SimpleNamespace(
    namespace="default", service_client=SimpleNamespace(config=SimpleNamespace(target_host="fake"))
)
UNAVAILABLE = RPCError("tcp connect error", RPCStatusCode.UNAVAILABLE, b"")


class FakeTemporal:
    """Campaigns by workflow id; a started one publishes after one poll. `down` calls fail with
    UNAVAILABLE first; `lost_answers` start calls go through but their answer is lost."""

    def __init__(self, *, down: int = 0, lost_answers: int = 0, worker: bool = True) -> None:
        self.campaigns: dict[str, CampaignStatus] = {}
        self.down, self.lost_answers, self.worker = down, lost_answers, worker
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.down > 0:
            self.down -= 1
            raise UNAVAILABLE

    async def start_campaign(self, client: Any, campaign: Any, **_: Any) -> None:
        self._call()
        workflow_id = f"campaign-{campaign.campaign_id}"
        if workflow_id in self.campaigns:
            raise CampaignExistsError(f"{workflow_id} already exists")
        self.campaigns[workflow_id] = CampaignStatus(
            workflow_id, "run", "RUNNING", CampaignState.RADAR_SCAN, None, 0,
            datetime.now(UTC), None,
        )  # fmt: skip
        if self.lost_answers > 0:
            self.lost_answers -= 1
            raise UNAVAILABLE

    async def count_campaigns(self, client: Any, query: str) -> int:
        return len(await self.list_campaigns(client, query))

    async def list_campaigns(self, client: Any, query: str, **_: Any) -> list[CampaignStatus]:
        self._call()
        self._advance()
        rows = list(self.campaigns.values())
        if "ExecutionStatus != 'Running'" in query:
            return [r for r in rows if not r.running]
        if "ExecutionStatus = 'Running'" in query:
            return [r for r in rows if r.running and r.state is CampaignState.FAILED]
        return [r for r in rows if r.workflow_id in query]

    async def campaign_status(self, client: Any, workflow_id: str) -> CampaignStatus:
        self._call()
        return self.campaigns[workflow_id]

    async def worker_polling(self, client: Any, task_queue: str) -> bool:
        return self.worker

    def _advance(self) -> None:
        if not self.worker:
            return
        for workflow_id, status in self.campaigns.items():
            if status.running:
                now = datetime.now(UTC)
                self.campaigns[workflow_id] = replace(
                    status, execution_status="COMPLETED", state=CampaignState.LEARN, close_time=now
                )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTemporal:
    temporal = FakeTemporal()
    for name in ("start_campaign", "count_campaigns", "list_campaigns", "campaign_status"):
        monkeypatch.setattr(campaign_batch, name, getattr(temporal, name))
    monkeypatch.setattr(campaign_batch, "worker_polling", temporal.worker_polling)
    return temporal


def lines(n: int) -> list[tuple[int, str]]:
    brief = {"objective": "Grow sign-ups", "audience": "Bakers", "channels": ["email"]}
    return [(i, json.dumps({"name": f"Line {i}", **brief})) for i in range(1, n + 1)]


async def run(fake: FakeTemporal, n: int, **options: Any) -> tuple[Batch, list[str]]:
    warnings: list[str] = []
    batch = Batch(
        CLIENT,
        task_queue="q",
        poll_interval=0.01,
        on_warning=warnings.append,
        **options,
    )
    batch.read(lines(n))
    await asyncio.wait_for(batch.run(), 30)
    return batch, warnings


async def test_a_short_outage_is_waited_out_and_said_once(fake: FakeTemporal):
    fake.down = 3
    batch, warnings = await run(fake, 4, concurrency=1)
    assert batch.report.outcome_counts() == [("published", 4)]
    assert warnings[0].startswith("Temporal did not answer (UNAVAILABLE: tcp connect error; ")
    assert warnings[-1] == "Temporal answers again (Temporal at fake, namespace default)"
    assert batch.report.unavailable is None


async def test_a_start_whose_answer_was_lost_counts_as_started_not_existing(fake: FakeTemporal):
    fake.lost_answers = 1
    batch, _ = await run(fake, 2, concurrency=1)
    assert len(batch.report.started) == 2 and not batch.report.existing
    assert batch.report.outcome_counts() == [("published", 2)]


async def test_a_rerun_starts_nothing_and_reports_how_each_existing_one_ended(
    fake: FakeTemporal,
):
    await run(fake, 3)
    first = next(iter(fake.campaigns))
    fake.campaigns[first] = replace(
        fake.campaigns[first], execution_status="RUNNING", state=CampaignState.FAILED,
        failure_reason="QUALITY_GATE_FAILED", close_time=None,
    )  # fmt: skip
    fake.worker = False  # nothing moves: what the re-run shows comes from the lookup
    for wait in (True, False):
        batch, _ = await run(fake, 3, wait=wait, wait_timeout=1)
        assert not batch.report.started
        assert batch.report.outcome_counts() == [
            ("existing: published", 2),
            ("existing: failed: QUALITY_GATE_FAILED", 1),
        ]
        assert not batch.report.all_fine()


async def test_no_worker_is_warned_at_once_and_noted_in_the_report(fake: FakeTemporal):
    fake.worker = False
    batch, warnings = await run(fake, 2, wait_timeout=0.2)
    assert warnings and warnings[0].startswith("no worker is polling task queue 'q' ")
    assert batch.report.no_worker
    assert batch.report.notes() == [
        "no worker was polling task queue 'q' at the end: 2 campaigns wait for one"
    ]
    assert batch.report.outcome_counts()[-1] == ("still running (not settled in time)", 2)


async def test_temporal_gone_past_the_timeout_stops_with_the_report_of_what_stands(
    fake: FakeTemporal, monkeypatch: pytest.MonkeyPatch
):
    batch = Batch(CLIENT, task_queue="q", poll_interval=0.01, wait_timeout=0.3)
    batch.read(lines(3))
    fake.worker = False
    real_list = fake.list_campaigns

    async def list_then_gone(client: Any, query: str, **kw: Any) -> list[CampaignStatus]:
        if len(fake.campaigns) == 3:
            fake.down = 10**6  # every call from now on fails
        return await real_list(client, query, **kw)

    monkeypatch.setattr(campaign_batch, "list_campaigns", list_then_gone)
    with pytest.raises(TemporalGoneError, match=r"Temporal did not answer .*UNAVAILABLE"):
        await asyncio.wait_for(batch.run(), 30)
    doc = json.loads(json.dumps(batch.report.as_dict()))  # the report stands, and is JSON
    assert doc["started"] == 3
    assert doc["notes"][-1].startswith("Temporal did not answer")
