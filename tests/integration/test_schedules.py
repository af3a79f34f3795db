"""`campaign schedule` on the real dev server, with the real worker and reference services:
create, trigger, pause, backfill two intervals, a repeated backfill of the same times, delete.

Each run is a campaign of its own (campaign-<template>-<scheduled time>); a repeat of a time is
the same campaign, so it publishes nothing more."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts import ServiceName, campaign_id_of
from devstack.stack import DevStack
from orchestrator_client.campaign_schedules import template_campaign_id
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_operator_cli import cli
from tests.stack import Admin

pytestmark = pytest.mark.integration
SETTLE_TIMEOUT = 90.0


BRIEF = {
    "name": "Weekly bakers' newsletter",
    "objective": "Grow newsletter sign-ups",
    "audience": "Home bakers",
    "channels": ["email"],
}


def brief_file(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / f"brief{len(extra)}.json"
    path.write_text(json.dumps({**extra, **BRIEF}))
    return path


async def describe(stack: DevStack, schedule_id: str) -> dict[str, Any]:
    code, out, err = await cli(stack, "schedule", "describe", schedule_id, "--json")
    assert code == 0, out + err
    view: dict[str, Any] = json.loads(out)
    return view


async def settled_runs(stack: DevStack, schedule_id: str, count: int) -> list[dict[str, Any]]:
    """The schedule's recent runs, once there are `count` and none of them runs any more."""
    runs: list[dict[str, Any]] = []
    for _ in range(int(SETTLE_TIMEOUT * 2)):
        runs = (await describe(stack, schedule_id))["recent_runs"]
        done = [r for r in runs if r["campaign"] and r["campaign"]["execution_status"] != "RUNNING"]
        if len(runs) >= count and len(done) == len(runs):
            return runs
        await asyncio.sleep(0.5)
    raise AssertionError(f"{schedule_id}: runs did not settle: {runs}")


def day(n: int) -> datetime:
    """Midnight UTC, n days from today."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=n)


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_schedule_from_create_to_delete(
    client: Client, worker: CampaignWorkers, admin: Admin, stack: DevStack, tmp_path: Path
) -> None:
    sid = f"it-{uuid.uuid4().hex[:10]}"
    template = template_campaign_id(sid)
    # Daily, at 00:00 UTC: nothing falls due while the test runs, but for its trigger/backfills.
    code, out, err = await cli(
        stack, "schedule", "create", sid, "-f", str(brief_file(tmp_path)), "--every", "1d",
        "--task-queue", worker.task_queue,
    )  # fmt: skip
    assert code == 0, out + err
    assert f"campaign-{template}-<scheduled time>" in out
    try:
        code, out, err = await cli(stack, "schedule", "list")
        assert code == 0 and sid in out and "every 1 day" in out, out + err

        view = await describe(stack, sid)
        assert view["overlap"] == "skip" and view["catchup_window_seconds"] == 3600
        assert view["memo"].startswith('Campaign "Weekly bakers\' newsletter" (email')
        assert view["note"] == view["memo"]  # what the Web UI's schedule page shows
        assert view["template_workflow_id"] == f"campaign-{template}"
        assert view["next_runs"][0] == day(1).isoformat()

        # trigger: one run now, to LEARN.
        code, out, err = await cli(stack, "schedule", "trigger", sid)
        assert code == 0, out + err
        [run] = await settled_runs(stack, sid, 1)
        assert run["campaign"]["state"] == "LEARN", run
        triggered = uuid.UUID(run["campaign"]["campaign_id"])
        assert triggered == campaign_id_of(run["workflow_id"]) != template
        assert await admin.effect_count(ServiceName.PUBLISHER, triggered) == 1
        code, out, err = await cli(stack, "status", run["workflow_id"])
        assert code == 0 and "LEARN" in out, out + err

        # pause: no more due runs; the describe says so, with the note.
        code, out, err = await cli(stack, "schedule", "pause", sid, "--note", "holiday freeze")
        assert code == 0, out + err
        view = await describe(stack, sid)
        assert view["paused"] is True and view["note"] == "holiday freeze"

        # backfill two intervals (the two midnights before today): two campaigns, to LEARN.
        window = ("--start", at(day(-2)), "--end", at(day(-1)))
        code, out, err = await cli(stack, "schedule", "backfill", sid, *window)
        assert code == 0, out + err
        runs = await settled_runs(stack, sid, 3)
        backfilled = {r["scheduled_at"]: r for r in runs[1:]}
        assert sorted(backfilled) == [day(-2).isoformat(), day(-1).isoformat()], runs
        ids = set()
        for when, r in backfilled.items():
            assert r["workflow_id"] == f"campaign-{template}-{at(datetime.fromisoformat(when))}"
            assert r["campaign"]["state"] == "LEARN", r
            ids.add(uuid.UUID(r["campaign"]["campaign_id"]))
        assert len(ids | {triggered}) == 3  # a campaign id per scheduled time
        calls_before = len(await admin.calls())

        # The same backfill again: the same two campaigns, which published: the repeats end at
        # once as ALREADY_PUBLISHED, and no step service is called.
        code, out, err = await cli(stack, "schedule", "backfill", sid, *window)
        assert code == 0, out + err
        runs = await settled_runs(stack, sid, 5)
        repeats = runs[3:]
        assert [r["workflow_id"] for r in repeats] == [r["workflow_id"] for r in runs[1:3]]
        for r in repeats:
            assert r["campaign"]["state"] == "FAILED", r
            assert r["campaign"]["failure_reason"] == "ALREADY_PUBLISHED", r
        for campaign_id in ids:
            assert await admin.effect_count(ServiceName.PUBLISHER, campaign_id) == 1
        new_calls = (await admin.calls())[calls_before:]
        assert [c for c in new_calls if uuid.UUID(c["campaign_id"]) in ids] == [], new_calls

        code, out, err = await cli(stack, "schedule", "unpause", sid)
        assert code == 0, out + err
        view = await describe(stack, sid)
        assert view["paused"] is False and view["note"] == view["memo"]  # the note is back
    finally:
        code, out, err = await cli(stack, "schedule", "delete", sid)
    assert code == 0, out + err
    code, out, err = await cli(stack, "schedule", "describe", sid)
    assert code == 3 and f"no schedule with id {sid}" in err, out + err
    code, out, err = await cli(stack, "schedule", "list")
    assert sid not in out
    # The campaigns it started are still there.
    code, out, err = await cli(stack, "status", f"campaign-{template}-{at(day(-1))}")
    assert code == 0, out + err


async def test_bad_schedules_are_refused_with_one_line_and_nothing_is_created(
    stack: DevStack, worker: CampaignWorkers, tmp_path: Path
) -> None:
    sid = f"it-{uuid.uuid4().hex[:10]}"
    brief = str(brief_file(tmp_path))
    with_id = brief_file(tmp_path, campaign_id=str(uuid.uuid4()))
    cases: list[tuple[list[str], str]] = [
        (["-f", brief], "give --cron or --every"),
        (["-f", brief, "--cron", "0 9 * * MON", "--every", "1d"], "give --cron or --every"),
        (["-f", brief, "--cron", "0 9 * *"], "cron: '0 9 * *' is not a cron expression"),
        (["-f", brief, "--cron", "0 9 * * MON", "--time-zone", "Mars/Olympus"], "time_zone"),
        (["-f", brief, "--every", "7x"], "--every: '7x' is not an interval"),
        (["-f", brief, "--every", "30s"], "every"),
        (["-f", brief, "--every", "1d", "--overlap", "terminate_other"], "terminate would kill"),
        (["-f", brief, "--every", "1d", "--catchup-window", "5s"], "catchup_window"),
        (["-f", str(with_id), "--every", "1d"], "campaign_id: leave it out"),
        (["-f", str(tmp_path / "missing.json"), "--every", "1d"], "cannot read"),
    ]
    for args, expected in cases:
        code, out, err = await cli(stack, "schedule", "create", sid, *args)
        assert code == 2, (args, out, err)
        assert expected in err and len(err.strip().splitlines()) == 1, (args, err)
    code, out, err = await cli(
        stack, "schedule", "create", "no spaces", "-f", brief, "--every", "1d"
    )
    assert code == 2 and "schedule_id" in err, err
    code, out, err = await cli(stack, "schedule", "describe", sid)
    assert code == 3, out + err  # nothing was created
    for command in ("pause", "unpause", "trigger", "delete"):
        code, out, err = await cli(stack, "schedule", command, sid)
        assert code == 3 and f"no schedule with id {sid}" in err, (command, out, err)
