"""The REST gateway, served by its one command (`python -m rest_gateway`), over the real dev
server, worker and reference services: every endpoint, and each error status with its reason."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.test_campaigns_end_to_end import RESULT_TIMEOUT
from tests.stack import Admin

pytestmark = pytest.mark.integration
API = "/api/v1/campaigns"


def body(objective: str = "Grow newsletter sign-ups", **extra: Any) -> dict[str, Any]:
    return {
        "brief": {
            "name": "REST launch",
            "objective": objective,
            "audience": "Home bakers",
            "channels": ["email"],
        },
        "step_retry": {"initial_interval": "PT0.05S", "maximum_interval": "PT0.5S"},
        **extra,
    }


async def wait_for(
    http: httpx.AsyncClient, campaign_id: str, state: str, status: str | None = None
) -> dict[str, Any]:
    """Until the campaign is in `state` (and its execution in `status`: LEARN is the state from
    the moment the learning step starts, before the workflow completes)."""
    for _ in range(RESULT_TIMEOUT * 10):
        view: dict[str, Any] = (await http.get(f"{API}/{campaign_id}?payload=false")).json()
        if view["state"] == state and status in (None, view["execution_status"]):
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"{campaign_id} never reached {state}")


async def test_create_waits_in_idle_until_start_then_retry_publishes(
    gateway: httpx.AsyncClient, admin: Admin
):
    http = gateway
    docs, spec = await http.get("/docs"), (await http.get("/openapi.json")).json()
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {f"{API}", f"{API}/{{campaign}}", f"{API}/{{campaign}}/retry"} <= set(spec["paths"])
    retry_doc = spec["paths"][f"{API}/{{campaign}}/retry"]["post"]
    assert retry_doc["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RetryAccepted"
    }
    assert "no_retries_left" in retry_doc["description"] and "504" in retry_doc["responses"]

    created = await http.post(API, json=body("Promise guaranteed results to every baker"))
    assert created.status_code == 201, created.text
    cid = created.json()["campaign_id"]
    assert created.headers["location"] == f"{API}/{cid}" and created.json()["started"] is False

    view = await wait_for(http, cid, "IDLE")
    assert view["execution_status"] == "RUNNING"
    got = (await http.get(f"{API}/{cid}")).json()
    assert got["payload"]["state"] == "IDLE" and got["payload"]["brief"]["name"] == "REST launch"

    refused = await http.post(f"{API}/{cid}/retry", json={"requested_by": "it"})
    assert refused.status_code == 409 and refused.json()["error"] == "not_failed"
    assert "campaign is IDLE, not FAILED: nothing to retry" in refused.json()["detail"]

    started = await http.post(f"{API}/{cid}/start", json={"requested_by": "it"})
    assert started.status_code == 200, started.text
    assert started.json() == {"campaign_id": cid, "starts_at": "RADAR_SCAN"}
    again = await http.post(f"{API}/{cid}/start")  # the workflow refuses a second start
    assert again.status_code == 409 and again.json()["error"] == "already_started"
    assert "already started" in again.json()["detail"]
    await wait_for(http, cid, "FAILED")  # the quality gate closes on "guaranteed"

    failed = (await http.get(f"{API}/{cid}")).json()
    assert failed["failure_reason"] == "QUALITY_GATE_FAILED"
    assert failed["payload"]["failure"]["step"] == "QUALITY_AUDIT"
    listed = (await http.get(API, params={"state": "FAILED", "limit": 1000})).json()
    assert cid in {c["campaign_id"] for c in listed["campaigns"]}
    assert "CampaignState = 'FAILED'" in listed["query"]

    retried = await http.post(f"{API}/{cid}/retry", json={"requested_by": "it", "reason": "fix"})
    assert retried.status_code == 200, retried.text
    assert retried.json() == {
        "campaign_id": cid,
        "retry_count": 1,
        "retries_left": 2,
        "resume_at": "CONTENT_PROD",
        "retried_failure": "QUALITY_GATE_FAILED",
    }
    done = await wait_for(http, cid, "LEARN", status="COMPLETED")
    assert done["retry_count"] == 1
    final = (await http.get(f"{API}/{cid}")).json()
    assert final["execution_status"] == "COMPLETED" and final["payload"]["publish_receipt"]
    for command in ("start", "retry"):
        closed = await http.post(f"{API}/{cid}/{command}")
        assert closed.status_code == 409 and closed.json()["error"] == "campaign_ended"
        detail = closed.json()["detail"]
        assert "has ended (COMPLETED, state LEARN): it published, and publishes once" in detail


async def test_start_true_cancel_and_the_error_statuses(gateway: httpx.AsyncClient, admin: Admin):
    http = gateway
    cid = str(uuid.uuid4())
    now = await http.post(API, json=body(campaign_id=cid, start=True))
    assert now.status_code == 201 and now.json()["started"] is True
    await wait_for(http, cid, "LEARN")

    duplicate = await http.post(API, json=body(campaign_id=cid))
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "already_exists"

    unknown = await http.get(f"{API}/{uuid.uuid4()}")
    assert unknown.status_code == 404 and "no campaign" in unknown.json()["detail"]
    for path in (f"{API}/{uuid.uuid4()}/retry", f"{API}/{uuid.uuid4()}/start"):
        assert (await http.post(path)).status_code == 404
    bad_ref = await http.get(f"{API}/not-a-campaign")
    assert bad_ref.status_code == 422 and "not a campaign id" in bad_ref.json()["detail"]

    invalid = await http.post(
        API, json={"brief": {"name": "x", "objective": "", "channels": ["fax"]}}
    )
    assert invalid.status_code == 422
    fields = {tuple(e["loc"]) for e in invalid.json()["detail"]}
    assert {
        ("body", "brief", "objective"),
        ("body", "brief", "audience"),
        ("body", "brief", "channels", 0),
    } <= fields

    idle = (await http.post(API, json=body())).json()["campaign_id"]
    await wait_for(http, idle, "IDLE")
    cancelled = await http.post(f"{API}/{idle}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    for _ in range(RESULT_TIMEOUT * 10):
        view = (await http.get(f"{API}/{idle}?payload=false")).json()
        if view["execution_status"] == "CANCELED":
            break
        await asyncio.sleep(0.1)
    assert view["execution_status"] == "CANCELED"
    twice = await http.post(f"{API}/{idle}/cancel")
    assert twice.status_code == 409 and twice.json()["error"] == "closed"
