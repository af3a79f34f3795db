"""The REST gateway's /api/v1/schedules, served by `python -m rest_gateway` over the real dev
server, worker and reference services: create, list, describe, trigger a run to LEARN, pause,
backfill two intervals, unpause, delete; bad input refused by field, with nothing created."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import ServiceName, campaign_id_of
from orchestrator_client.campaign_schedules import template_campaign_id
from orchestrator_worker.worker_factory import CampaignWorkers
from tests.integration.test_campaigns_end_to_end import RESULT_TIMEOUT
from tests.integration.test_rest_gateway import API, wait_for
from tests.stack import Admin

pytestmark = pytest.mark.integration
SCHEDULES = "/api/v1/schedules"

BRIEF = {
    "name": "Hourly bakers' flash sale",
    "objective": "Grow newsletter sign-ups",
    "audience": "Home bakers",
    "channels": ["email"],
}
# A full campaign input without campaign_id; fast step retries.
CAMPAIGN = {
    "brief": BRIEF,
    "step_retry": {"initial_interval": "PT0.05S", "maximum_interval": "PT0.5S"},
}


def new_id() -> str:
    return f"rest-{uuid.uuid4().hex[:10]}"


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def describe(http: httpx.AsyncClient, schedule_id: str) -> dict[str, Any]:
    answer = await http.get(f"{SCHEDULES}/{schedule_id}")
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


async def settled_runs(
    http: httpx.AsyncClient, schedule_id: str, scheduled: set[datetime] | None = None
) -> list[dict[str, Any]]:
    """The schedule's runs for the `scheduled` times (or all, at least one), once all ended."""
    runs: list[dict[str, Any]] = []
    for _ in range(RESULT_TIMEOUT * 2):
        recent = (await describe(http, schedule_id))["recent_runs"]
        runs = (
            [r for r in recent if datetime.fromisoformat(r["scheduled_at"]) in scheduled]
            if scheduled
            else recent
        )
        ended = [
            r for r in runs if r["campaign"] and r["campaign"]["execution_status"] != "RUNNING"
        ]
        if len(runs) >= (len(scheduled) if scheduled else 1) and len(ended) == len(runs):
            return runs
        await asyncio.sleep(0.5)
    raise AssertionError(f"{schedule_id}: runs did not end: {runs}")


async def test_a_schedule_from_create_to_delete(
    gateway: httpx.AsyncClient, worker: CampaignWorkers, admin: Admin
) -> None:
    http = gateway
    paths = set((await http.get("/openapi.json")).json()["paths"])
    one = f"{SCHEDULES}/{{schedule_id}}"
    assert {SCHEDULES, one, f"{one}/pause", f"{one}/trigger", f"{one}/backfill"} <= paths
    sid = new_id()
    template = f"campaign-{template_campaign_id(sid)}"
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    times = [hour - timedelta(hours=2), hour - timedelta(hours=1)]  # two whole hours ago
    created = await http.post(
        SCHEDULES, json={"schedule_id": sid, "every": "PT1H", "campaign": CAMPAIGN}
    )
    assert created.status_code == 201, created.text
    try:
        assert created.headers["location"] == f"{SCHEDULES}/{sid}"
        assert {k: v for k, v in created.json().items() if k != "links"} == {
            "schedule_id": sid,
            "task_queue": worker.task_queue,
            "template_workflow_id": template,
            "when": "every 1 hour",
        }
        again = await http.post(
            SCHEDULES, json={"schedule_id": sid, "every": 60, "campaign": CAMPAIGN}
        )
        assert again.status_code == 409 and again.json()["error"] == "already_exists"
        assert f"schedule {sid} already exists: nothing was created" in again.json()["detail"]

        listed = (await http.get(SCHEDULES)).json()["schedules"]
        [entry] = [s for s in listed if s["schedule_id"] == sid]
        assert entry["when"] == "every 1 hour" and entry["paused"] is False

        view = await describe(http, sid)
        assert view["overlap"] == "skip" and view["catchup_window_seconds"] == 3600
        assert view["task_queue"] == worker.task_queue and view["template_workflow_id"] == template
        assert view["note"] == view["memo"] and "every 1 hour" in view["memo"]
        assert view["next_runs"] and view["recent_runs"] == []

        # trigger: one run now, a campaign of its own, to LEARN; it publishes once.
        triggered = await http.post(f"{SCHEDULES}/{sid}/trigger", json={})
        assert triggered.status_code == 202, triggered.text
        assert triggered.json()["command"] == "trigger"
        [run] = await settled_runs(http, sid)
        wid = run["workflow_id"]
        assert wid.startswith(f"{template}-") and run["campaign"]["state"] == "LEARN", run
        await wait_for(http, wid, "LEARN", status="COMPLETED")  # the campaign routes take it
        campaign = (await http.get(f"{API}/{wid}")).json()
        run_campaign = uuid.UUID(campaign["campaign_id"])
        assert run_campaign == campaign_id_of(wid) != template_campaign_id(sid)
        assert campaign["payload"]["publish_receipt"] and campaign["name"] == BRIEF["name"]
        assert await admin.effect_count(ServiceName.PUBLISHER, run_campaign) == 1

        paused = await http.post(f"{SCHEDULES}/{sid}/pause", json={"note": "holiday freeze"})
        assert paused.status_code == 200 and paused.json()["command"] == "pause", paused.text
        view = await describe(http, sid)
        assert view["paused"] is True and view["note"] == "holiday freeze"

        # backfill the two whole hours before this one: two campaigns, to LEARN.
        backfill = {"start": at(times[0]), "end": at(times[1])}
        backfilled = await http.post(f"{SCHEDULES}/{sid}/backfill", json=backfill)
        assert backfilled.status_code == 202, backfilled.text
        runs = await settled_runs(http, sid, set(times))
        assert sorted(r["workflow_id"] for r in runs) == [f"{template}-{at(t)}" for t in times]
        ids = {uuid.UUID(r["campaign"]["campaign_id"]) for r in runs}
        assert len(ids | {run_campaign}) == 3, runs  # a campaign id per scheduled time
        for r in runs:
            assert r["campaign"]["state"] == "LEARN", r
            backfilled_id = uuid.UUID(r["campaign"]["campaign_id"])
            assert await admin.effect_count(ServiceName.PUBLISHER, backfilled_id) == 1, r
        assert (await describe(http, sid))["paused"] is True  # a backfill does not unpause

        unpaused = await http.post(f"{SCHEDULES}/{sid}/unpause")
        assert unpaused.status_code == 200, unpaused.text
        view = await describe(http, sid)
        assert view["paused"] is False and view["note"] == view["memo"]  # the note is back
    finally:
        deleted = await http.delete(f"{SCHEDULES}/{sid}")
    assert deleted.status_code == 200 and deleted.json()["command"] == "delete", deleted.text
    for answer in (await http.get(f"{SCHEDULES}/{sid}"), await http.delete(f"{SCHEDULES}/{sid}")):
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
        assert f"no schedule with id {sid}" in answer.json()["detail"]
    assert sid not in {s["schedule_id"] for s in (await http.get(SCHEDULES)).json()["schedules"]}
    gone = await http.get(f"{API}/{template}-{at(times[1])}?payload=false")
    assert gone.status_code == 200 and gone.json()["state"] == "LEARN"  # its campaigns stay


async def test_a_bare_brief_on_a_cron_in_a_time_zone(gateway: httpx.AsyncClient) -> None:
    http, sid = gateway, new_id()
    body = {
        "schedule_id": sid,
        "cron": "0 9 * * MON",
        "time_zone": "Europe/Paris",
        "catchup_window": 600,
        "paused": True,
        "note": "launch week",
        "campaign": BRIEF,
    }
    created = await http.post(SCHEDULES, json=body)
    assert created.status_code == 201, created.text
    try:
        assert created.json()["when"] == "cron '0 9 * * MON' (Europe/Paris)"
        view = await describe(http, sid)
        assert view["paused"] is True and view["note"] == "launch week"
        assert view["catchup_window_seconds"] == 600 and view["next_runs"]
        for moment in view["next_runs"]:  # Mondays, 09:00 in Paris, whatever the offset
            local = datetime.fromisoformat(moment).astimezone(ZoneInfo("Europe/Paris"))
            assert (local.weekday(), local.hour, local.minute) == (0, 9, 0), view["next_runs"]
    finally:
        assert (await http.delete(f"{SCHEDULES}/{sid}")).status_code == 200


async def test_bad_input_is_refused_by_field_and_nothing_is_created(
    gateway: httpx.AsyncClient,
) -> None:
    http, sid = gateway, new_id()
    good: dict[str, Any] = {"schedule_id": sid, "every": "P1D", "campaign": CAMPAIGN}
    cases: list[tuple[dict[str, Any], list[str | int], str]] = [
        ({"every": None}, ["body"], "give a cron expression or an interval"),
        ({"cron": "0 9 * * MON"}, ["body"], "give a cron expression or an interval"),
        (
            {"campaign": {**CAMPAIGN, "campaign_id": str(uuid.uuid4())}},
            ["body", "campaign", "campaign_id"],
            "leave it out: each run's campaign id comes from the schedule and its time",
        ),
        (
            {"campaign": {**BRIEF, "campaign_id": str(uuid.uuid4())}},
            ["body", "campaign", "campaign_id"],
            "leave it out",
        ),
        (
            {"every": None, "cron": "0 9 * * MON", "time_zone": "Mars/Olympus"},
            ["body", "time_zone"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            {"every": None, "cron": "0 9 * * MON", "time_zone": "America"},  # a directory
            ["body", "time_zone"],
            "unknown time zone 'America'",
        ),
        ({"every": None, "cron": "0 9 * *"}, ["body", "cron"], "is not a cron expression"),
        (
            {"every": None, "cron": "61 9 * * MON"},  # 5 fields, but Temporal refuses it
            ["body", "cron"],
            "Minute is not in range",
        ),
        ({"every": 30}, ["body", "every"], "greater than or equal to 1 minute"),
        ({"every": "every day"}, ["body", "every"], "valid timedelta"),
        ({"catchup_window": 5}, ["body", "catchup_window"], "10 seconds"),
        ({"overlap": "terminate_other"}, ["body", "overlap"], "'skip', 'buffer_one'"),
        ({"schedule_id": "no spaces"}, ["body", "schedule_id"], "letters, digits"),
        (
            {"campaign": {"brief": {**BRIEF, "objective": ""}}},
            ["body", "campaign", "brief", "objective"],
            "at least 3 characters",
        ),
    ]
    for change, loc, expected in cases:
        answer = await http.post(SCHEDULES, json={**good, **change})
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"] == "invalid", answer.text
        problems = {tuple(p["loc"]): p["msg"] for p in answer.json()["detail"]}
        assert expected in problems.get(tuple(loc), ""), (change, problems)
    assert (await http.get(f"{SCHEDULES}/{sid}")).status_code == 404  # nothing was created
    assert sid not in {s["schedule_id"] for s in (await http.get(SCHEDULES)).json()["schedules"]}

    window = {"start": "2026-11-09T08:00:00Z", "end": "2026-11-02T08:00:00Z"}
    reversed_window = await http.post(f"{SCHEDULES}/{sid}/backfill", json=window)
    assert reversed_window.status_code == 422, reversed_window.text
    [problem] = reversed_window.json()["detail"]
    assert problem["loc"] == ["body", "end"] and "is before the start" in problem["msg"]
    bad_time = await http.post(
        f"{SCHEDULES}/{sid}/backfill", json={**window, "start": "last monday"}
    )
    assert bad_time.status_code == 422 and "not an ISO 8601 time" in bad_time.text
    bad_id = await http.get(f"{SCHEDULES}/-leading-dash")
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == [
        "path",
        "schedule_id",
    ]

    # Every command on an unknown schedule: 404, naming it.
    commands: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "", None),
        ("POST", "/pause", None),
        ("POST", "/unpause", {"note": "back"}),
        ("POST", "/trigger", {"overlap": "allow_all"}),
        ("POST", "/backfill", {**window, "end": "2026-11-10"}),
        ("DELETE", "", None),
    ]
    for unknown in (sid, f"namespace-{sid}"):  # not taken for a missing namespace
        for method, tail, json in commands:
            answer = await http.request(method, f"{SCHEDULES}/{unknown}{tail}", json=json)
            assert answer.status_code == 404, (method, tail, answer.text)
            assert f"no schedule with id {unknown}" in answer.json()["detail"]
