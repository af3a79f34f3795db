"""The reference services: contract, determinism, idempotency, the quality gate, faults, admin."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog.testing
from pydantic import SecretStr, ValidationError

from contracts import (
    ENDPOINTS,
    IDEMPOTENCY_HEADER,
    ProducedContent,
    QualityReport,
    QualityVerdict,
    ServiceName,
    Severity,
)
from reference_services.app import create_app
from reference_services.behaviour import BRAND_GUARDRAILS, UNSUBSTANTIATED_CLAIMS
from reference_services.faults import FaultConfig
from reference_services.settings import ReferenceSettings

BRIEF: dict[str, Any] = {
    "name": "Spring Launch",
    "objective": "Grow trial sign-ups by 20% among new retail teams",
    "audience": "Small business owners in retail",
    "channels": ["email", "social", "blog", "search_ads"],
    "locale": "en-US",
    "budget": 5000,
    "keywords": ["inventory app", "spring sale"],
}
RISKY_BRIEF: dict[str, Any] = {
    **BRIEF,
    "objective": "Grow trial sign-ups with GUARANTEED savings for every new retail team",
}
VOLATILE = {"artifact_id", "produced_at", "published_at", "publication_id"}


@pytest.fixture(autouse=True)
def _no_refsvc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("REFSVC_"):
            monkeypatch.delenv(name)


@asynccontextmanager
async def client_for(
    settings: ReferenceSettings | None = None, faults: FaultConfig | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings or ReferenceSettings(), faults=faults)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://refsvc") as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


def new_key() -> str:
    return f"test:{uuid.uuid4()}"


async def post(
    client: httpx.AsyncClient,
    service: ServiceName,
    body: dict[str, Any],
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    all_headers = {IDEMPOTENCY_HEADER: key or new_key(), **(headers or {})}
    return await client.post(ENDPOINTS[service].path, json=body, headers=all_headers)


async def ok(client: httpx.AsyncClient, service: ServiceName, body: dict[str, Any]) -> Any:
    response = await post(client, service, body)
    assert response.status_code == 200, response.text
    ENDPOINTS[service].response_model.model_validate_json(response.content)
    return response.json()


async def run_pipeline(
    client: httpx.AsyncClient, brief: dict[str, Any], campaign_id: str | None = None
) -> dict[ServiceName, Any]:
    """Every service once, in order, each fed the previous answers (no quality gate here)."""
    cid = campaign_id or str(uuid.uuid4())
    out: dict[ServiceName, Any] = {}
    out[ServiceName.RADAR] = await ok(
        client, ServiceName.RADAR, {"campaign_id": cid, "brief": brief}
    )
    out[ServiceName.STRATEGY] = await ok(
        client,
        ServiceName.STRATEGY,
        {"campaign_id": cid, "brief": brief, "trend_report": out[ServiceName.RADAR]},
    )
    out[ServiceName.CONTENT] = await ok(
        client,
        ServiceName.CONTENT,
        {"campaign_id": cid, "brief": brief, "strategy": out[ServiceName.STRATEGY], "revision": 0},
    )
    out[ServiceName.QUALITY] = await ok(
        client,
        ServiceName.QUALITY,
        {
            "campaign_id": cid,
            "brief": brief,
            "strategy": out[ServiceName.STRATEGY],
            "content": out[ServiceName.CONTENT],
        },
    )
    out[ServiceName.PUBLISHER] = await ok(
        client,
        ServiceName.PUBLISHER,
        {
            "campaign_id": cid,
            "campaign_name": brief["name"],
            "content": out[ServiceName.CONTENT],
            "quality_report_id": out[ServiceName.QUALITY]["artifact_id"],
        },
    )
    out[ServiceName.LEARNING] = await ok(
        client,
        ServiceName.LEARNING,
        {
            "campaign_id": cid,
            "brief": brief,
            "receipt": out[ServiceName.PUBLISHER],
            "quality_report": out[ServiceName.QUALITY],
        },
    )
    return out


async def requests_for(client: httpx.AsyncClient) -> dict[ServiceName, dict[str, Any]]:
    """One valid request body per service (built from real answers)."""
    cid = str(uuid.uuid4())
    answers = await run_pipeline(client, BRIEF, cid)
    return {
        ServiceName.RADAR: {"campaign_id": cid, "brief": BRIEF},
        ServiceName.STRATEGY: {
            "campaign_id": cid,
            "brief": BRIEF,
            "trend_report": answers[ServiceName.RADAR],
        },
        ServiceName.CONTENT: {
            "campaign_id": cid,
            "brief": BRIEF,
            "strategy": answers[ServiceName.STRATEGY],
            "revision": 0,
        },
        ServiceName.QUALITY: {
            "campaign_id": cid,
            "brief": BRIEF,
            "strategy": answers[ServiceName.STRATEGY],
            "content": answers[ServiceName.CONTENT],
        },
        ServiceName.PUBLISHER: {
            "campaign_id": cid,
            "campaign_name": BRIEF["name"],
            "content": answers[ServiceName.CONTENT],
            "quality_report_id": answers[ServiceName.QUALITY]["artifact_id"],
        },
        ServiceName.LEARNING: {
            "campaign_id": cid,
            "brief": BRIEF,
            "receipt": answers[ServiceName.PUBLISHER],
            "quality_report": answers[ServiceName.QUALITY],
        },
    }


def strip_volatile(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: strip_volatile(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [strip_volatile(v) for v in data]
    return data


def copy_text(content: dict[str, Any]) -> list[str]:
    return [
        f"{p['headline']}\n{p['body']}\n{p['call_to_action']}".lower() for p in content["pieces"]
    ]


async def effect_count(
    client: httpx.AsyncClient, service: ServiceName, campaign_id: str | None = None
) -> int:
    params = {"service": service.value}
    if campaign_id:
        params["campaign_id"] = campaign_id
    response = await client.get("/admin/effects/count", params=params)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def set_faults(client: httpx.AsyncClient, **knobs: Any) -> None:
    response = await client.put("/admin/faults", json=knobs)
    assert response.status_code == 200, response.text


# --- contract ----------------------------------------------------------------------------------


async def test_every_endpoint_answers_its_response_model_with_plausible_data(
    client: httpx.AsyncClient,
) -> None:
    out = await run_pipeline(client, BRIEF)

    topics = " ".join(t["topic"].lower() for t in out[ServiceName.RADAR]["trends"])
    assert "inventory app" in topics and "spring sale" in topics
    scores = [t["score"] for t in out[ServiceName.RADAR]["trends"]]
    assert scores == sorted(scores, reverse=True)

    strategy = out[ServiceName.STRATEGY]
    assert strategy["channels"] == BRIEF["channels"]
    assert {"guaranteed", "risk-free", "100%", "miracle", "no risk"} <= set(strategy["guardrails"])
    assert any("5,000.00" in c for c in strategy["constraints"])
    assert any(c.startswith("search_ads: headline <= 30") for c in strategy["constraints"])

    content = out[ServiceName.CONTENT]
    assert [p["channel"] for p in content["pieces"]] == BRIEF["channels"]
    assert content["revision"] == 0
    ads = content["pieces"][3]
    assert len(ads["headline"]) <= 30 and len(ads["body"]) <= 90
    assert all(p["call_to_action"] == "Start your free trial" for p in content["pieces"])

    report = out[ServiceName.QUALITY]
    assert report["verdict"] == "PASS"
    assert report["audited_revision"] == 0
    assert {c["name"] for c in report["checks"]} >= {
        "unsubstantiated_claims",
        "call_to_action",
        "length_limits",
        "keyword_coverage",
        "locale",
    }

    receipt = out[ServiceName.PUBLISHER]
    assert [i["channel"] for i in receipt["items"]] == BRIEF["channels"]
    assert all(i["url"].startswith("https://") for i in receipt["items"])

    summary = out[ServiceName.LEARNING]
    assert 0 < summary["predicted_engagement"] < 1
    assert summary["insights"] and summary["recommendations"]


async def test_same_request_with_different_keys_gives_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    bodies = await requests_for(client)
    for service, body in bodies.items():
        if service is ServiceName.PUBLISHER:
            continue  # publishes once per campaign (next test)
        first = await post(client, service, body)
        second = await post(client, service, body)
        assert first.status_code == second.status_code == 200, service
        assert "Idempotent-Replayed" not in second.headers
        a, b = first.json(), second.json()
        assert a["artifact_id"] != b["artifact_id"], service  # one artifact per operation
        assert strip_volatile(a) == strip_volatile(b), service


async def test_publisher_publishes_a_campaign_once_whatever_the_key_or_body(
    client: httpx.AsyncClient,
) -> None:
    cid = str(uuid.uuid4())  # requests_for published its own campaign already
    body = {**(await requests_for(client))[ServiceName.PUBLISHER], "campaign_id": cid}
    lookup = f"/v1/publisher/publications/{cid}"
    assert (await client.get(lookup)).status_code == 404
    key = new_key()
    first = await post(client, ServiceName.PUBLISHER, body, key)
    assert first.status_code == 200
    found = await client.get(lookup)
    assert found.status_code == 200 and found.content == first.content

    other_body = {**body, "campaign_name": "renamed"}
    for again in (body, other_body):  # a new key, and a new key with another body
        refused = await post(client, ServiceName.PUBLISHER, again)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "already_published"
        assert refused.json()["receipt"] == first.json()
    same_key_other_body = await post(client, ServiceName.PUBLISHER, other_body, key)
    assert same_key_other_body.json()["code"] == "already_published"
    assert (await post(client, ServiceName.PUBLISHER, body, key)).content == first.content
    assert await effect_count(client, ServiceName.PUBLISHER, cid) == 1
    # another campaign publishes
    another = {**body, "campaign_id": str(uuid.uuid4())}
    assert (await post(client, ServiceName.PUBLISHER, another)).status_code == 200


async def test_answers_ignore_campaign_id_but_follow_the_brief(client: httpx.AsyncClient) -> None:
    one = await run_pipeline(client, BRIEF)
    two = await run_pipeline(client, BRIEF)
    assert strip_volatile(one[ServiceName.CONTENT]) == strip_volatile(two[ServiceName.CONTENT])
    other = await run_pipeline(
        client, {**BRIEF, "keywords": ["loyalty card"], "channels": ["social", "email"]}
    )
    assert strip_volatile(other[ServiceName.CONTENT]) != strip_volatile(one[ServiceName.CONTENT])
    assert "loyalty card" in copy_text(other[ServiceName.CONTENT])[0]


async def test_extreme_briefs_still_produce_valid_artifacts(client: httpx.AsyncClient) -> None:
    brief = {
        "name": "N" * 120,
        "objective": ("Increase revenue " * 150)[:2000],
        "audience": "A" * 500,
        "channels": ["search_ads", "blog"],
        "locale": "es",
        "budget": 1e9,
        "keywords": [f"k{i}-" + "x" * 50 for i in range(20)],
    }
    out = await run_pipeline(client, brief)  # validates every answer
    assert out[ServiceName.QUALITY]["verdict"] == "PASS"
    assert out[ServiceName.CONTENT]["pieces"][0]["call_to_action"] == "Compra la colección"
    minimal = {"name": "X", "objective": "Win", "audience": "y", "channels": ["email"]}
    await run_pipeline(client, minimal)


async def test_openapi_documents_every_endpoint_from_the_contract(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    for endpoint in ENDPOINTS.values():
        operation = spec["paths"][endpoint.path]["post"]
        assert operation["summary"] == endpoint.summary
        body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body_ref.endswith("/" + endpoint.request_model.__name__)
        ok_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ok_ref.endswith("/" + endpoint.response_model.__name__)
        assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"]
        (key,) = [p for p in operation["parameters"] if p["name"] == IDEMPOTENCY_HEADER]
        assert key["in"] == "header" and key["required"] is True
        assert {"400", "409", "422", "429", "500", "503"} <= set(operation["responses"])
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "/admin/faults" in spec["paths"]
    assert spec["paths"]["/admin/stats"]["get"]["tags"] == ["admin"]


async def test_invalid_body_is_422_without_effect(client: httpx.AsyncClient) -> None:
    response = await post(
        client, ServiceName.RADAR, {"campaign_id": str(uuid.uuid4()), "brief": {"name": "x"}}
    )
    assert response.status_code == 422
    assert await effect_count(client, ServiceName.RADAR) == 0


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# --- idempotency -------------------------------------------------------------------------------


async def test_same_key_twice_performs_one_effect_and_replays(client: httpx.AsyncClient) -> None:
    body = (await requests_for(client))[ServiceName.PUBLISHER]
    await client.post("/admin/reset")
    key = new_key()
    first = await post(client, ServiceName.PUBLISHER, body, key)
    second = await post(client, ServiceName.PUBLISHER, body, key)
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert await effect_count(client, ServiceName.PUBLISHER, body["campaign_id"]) == 1

    effects = (await client.get("/admin/effects", params={"service": "publisher"})).json()
    assert len(effects) == 1
    assert effects[0]["idempotency_key"] == key
    assert effects[0]["campaign_id"] == body["campaign_id"]
    assert effects[0]["artifact_id"] == first.json()["artifact_id"]
    assert len(effects[0]["request_hash"]) == 64

    stats = (await client.get("/admin/stats")).json()["services"]["publisher"]
    assert stats["calls"] == 2 and stats["effects"] == 1 and stats["replays"] == 1


async def test_same_key_with_another_body_is_422(client: httpx.AsyncClient) -> None:
    cid = str(uuid.uuid4())
    key = new_key()
    first = await post(client, ServiceName.RADAR, {"campaign_id": cid, "brief": BRIEF}, key)
    assert first.status_code == 200
    other = {"campaign_id": cid, "brief": {**BRIEF, "name": "Another campaign"}}
    response = await post(client, ServiceName.RADAR, other, key)
    assert response.status_code == 422
    assert "another request" in response.json()["detail"]
    assert response.json()["code"] == "idempotency_key_reused"
    assert await effect_count(client, ServiceName.RADAR, cid) == 1
    # The key is scoped per service: the same key works for another service.
    body = (await requests_for(client))[ServiceName.LEARNING]
    assert (await post(client, ServiceName.LEARNING, body, key)).status_code == 200


@pytest.mark.parametrize("headers", [{}, {IDEMPOTENCY_HEADER: ""}, {IDEMPOTENCY_HEADER: "k" * 300}])
async def test_missing_or_invalid_key_is_400(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        ENDPOINTS[ServiceName.RADAR].path,
        json={"campaign_id": str(uuid.uuid4()), "brief": BRIEF},
        headers=headers,
    )
    assert response.status_code == 400
    assert IDEMPOTENCY_HEADER in response.json()["detail"]
    assert await effect_count(client, ServiceName.RADAR) == 0
    stats = (await client.get("/admin/stats")).json()["services"]["radar"]
    assert stats["calls"] == 1 and stats["rejected"] == 1


async def test_same_key_while_in_progress_is_409(client: httpx.AsyncClient) -> None:
    cid = str(uuid.uuid4())
    body = {"campaign_id": cid, "brief": BRIEF}
    key = new_key()
    await set_faults(client, slow_rate=1.0, slow_seconds=0.5)
    first = asyncio.create_task(post(client, ServiceName.RADAR, body, key))
    await asyncio.sleep(0.15)
    await set_faults(client)  # no faults for the next calls; the first one is still slow
    second = await post(client, ServiceName.RADAR, body, key)
    assert second.status_code == 409
    assert "in progress" in second.json()["detail"]
    assert second.headers["Retry-After"] == "1"
    assert (await first).status_code == 200
    third = await post(client, ServiceName.RADAR, body, key)
    assert third.status_code == 200 and third.headers["Idempotent-Replayed"] == "true"
    assert await effect_count(client, ServiceName.RADAR, cid) == 1


# --- the quality gate --------------------------------------------------------------------------


async def test_risky_claim_fails_the_audit_and_a_revision_with_feedback_passes(
    client: httpx.AsyncClient,
) -> None:
    cid = str(uuid.uuid4())
    out = await run_pipeline(client, RISKY_BRIEF, cid)
    strategy, draft = out[ServiceName.STRATEGY], out[ServiceName.CONTENT]
    assert all("guaranteed" in text for text in copy_text(draft))
    assert "guaranteed" not in strategy["positioning"].lower()  # the strategy itself is clean

    report = QualityReport.model_validate(out[ServiceName.QUALITY])
    assert report.verdict is QualityVerdict.FAIL
    assert report.audited_revision == 0
    critical = report.critical_checks
    assert len(critical) == len(RISKY_BRIEF["channels"])
    assert {c.name for c in critical} == {"unsubstantiated_claims"}
    assert all('"guaranteed"' in c.message.lower() for c in critical)

    revised = await ok(
        client,
        ServiceName.CONTENT,
        {
            "campaign_id": cid,
            "brief": RISKY_BRIEF,
            "strategy": strategy,
            "revision": 1,
            "feedback": out[ServiceName.QUALITY],
        },
    )
    assert revised["revision"] == 1
    for text in copy_text(revised):
        assert "guaranteed" not in text
        assert not any(g in text for g in ("risk-free", "100%", "miracle", "click here"))
    audit = await ok(
        client,
        ServiceName.QUALITY,
        {"campaign_id": cid, "brief": RISKY_BRIEF, "strategy": strategy, "content": revised},
    )
    second = QualityReport.model_validate(audit)
    assert second.verdict is QualityVerdict.PASS
    assert second.critical_checks == []
    assert second.audited_revision == 1


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        ("objective", "Double leads with a risk-free onboarding offer", "risk-free"),
        ("objective", "Promise 100% satisfaction to new customers", "100%"),
        ("objective", "A miracle formula for busy parents", "miracle"),
        ("objective", "Sell more plans: No risk, cancel anytime", "no risk"),
        ("keywords", ["guaranteed results", "spring"], "guaranteed"),
    ],
)
async def test_every_unsubstantiated_claim_triggers_the_gate(
    client: httpx.AsyncClient, field: str, value: Any, phrase: str
) -> None:
    brief = {**BRIEF, field: value}
    out = await run_pipeline(client, brief)
    assert all(phrase in text for text in copy_text(out[ServiceName.CONTENT]))
    report = QualityReport.model_validate(out[ServiceName.QUALITY])
    assert report.verdict is QualityVerdict.FAIL
    assert any(f'"{phrase}"' in c.message.lower() for c in report.critical_checks)
    revised = await ok(
        client,
        ServiceName.CONTENT,
        {
            "campaign_id": str(uuid.uuid4()),
            "brief": brief,
            "strategy": out[ServiceName.STRATEGY],
            "revision": 1,
            "feedback": out[ServiceName.QUALITY],
        },
    )
    assert all(phrase not in text for text in copy_text(revised))


async def test_revision_removes_phrases_quoted_by_a_foreign_audit(
    client: httpx.AsyncClient,
) -> None:
    out = await run_pipeline(client, BRIEF)
    feedback = {
        **out[ServiceName.QUALITY],
        "verdict": "FAIL",
        "checks": [
            {
                "name": "legal_review",
                "passed": False,
                "severity": "CRITICAL",
                "message": 'Do not say "busywork" or "spring sale".',
            }
        ],
    }
    revised = await ok(
        client,
        ServiceName.CONTENT,
        {
            "campaign_id": str(uuid.uuid4()),
            "brief": BRIEF,
            "strategy": out[ServiceName.STRATEGY],
            "revision": 1,
            "feedback": feedback,
        },
    )
    for text in copy_text(revised):
        assert "busywork" not in text and "spring sale" not in text


async def test_audit_checks_realistic_problems(client: httpx.AsyncClient) -> None:
    out = await run_pipeline(client, BRIEF)
    content = {
        **out[ServiceName.CONTENT],
        "pieces": [
            {
                "channel": "search_ads",
                "headline": "The best inventory app for every single store",
                "body": "TODO: write the body. Click here for cheap plans.",
                "call_to_action": "TBD",
            },
            {
                "channel": "email",
                "headline": "Hello",
                "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
                "call_to_action": "Start your free trial",
            },
        ],
    }
    audit = await ok(
        client,
        ServiceName.QUALITY,
        {
            "campaign_id": str(uuid.uuid4()),
            "brief": BRIEF,
            "strategy": out[ServiceName.STRATEGY],
            "content": content,
        },
    )
    failed = {(c["name"], c["channel"]): c for c in audit["checks"] if not c["passed"]}
    assert audit["verdict"] == "FAIL"
    assert failed[("placeholders", "search_ads")]["severity"] == Severity.CRITICAL
    assert '"TODO"' in failed[("placeholders", "search_ads")]["message"]
    assert failed[("placeholders", "email")]["severity"] == Severity.CRITICAL
    assert failed[("length_limits", "search_ads")]["severity"] == Severity.WARNING
    assert failed[("call_to_action", "search_ads")]["severity"] == Severity.WARNING
    brand = failed[("brand_guardrails", "search_ads")]
    assert brand["severity"] == Severity.WARNING
    assert '"click here"' in brand["message"] and '"cheap"' in brand["message"]
    assert failed[("channel_coverage", None)]["severity"] == Severity.CRITICAL
    assert "social" in failed[("channel_coverage", None)]["message"]
    assert failed[("keyword_coverage", None)]["severity"] == Severity.INFO
    assert ("unsubstantiated_claims", "search_ads") not in failed


async def test_claims_match_whole_words_only(client: httpx.AsyncClient) -> None:
    brief = {**BRIEF, "objective": "Explain our guarantees and the 1100% growth story"}
    out = await run_pipeline(client, brief)
    assert out[ServiceName.QUALITY]["verdict"] == "PASS"
    assert set(UNSUBSTANTIATED_CLAIMS).isdisjoint(BRAND_GUARDRAILS)


# --- faults ------------------------------------------------------------------------------------


async def test_error_after_effect_records_once_and_retry_replays(
    client: httpx.AsyncClient,
) -> None:
    body = (await requests_for(client))[ServiceName.PUBLISHER]
    cid = body["campaign_id"]
    await client.post("/admin/reset")
    await set_faults(client, error_rate=1.0, error_after_effect_share=1.0)
    key = new_key()
    for _ in range(3):
        response = await post(client, ServiceName.PUBLISHER, body, key)
        assert response.status_code in (500, 502, 503)
        assert await effect_count(client, ServiceName.PUBLISHER, cid) == 1

    await set_faults(client)
    retry = await post(client, ServiceName.PUBLISHER, body, key)
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    ENDPOINTS[ServiceName.PUBLISHER].response_model.model_validate_json(retry.content)
    assert await effect_count(client, ServiceName.PUBLISHER, cid) == 1

    stats = (await client.get("/admin/stats")).json()["services"]["publisher"]
    assert stats["injected"] == {"error_after_effect": 3}
    assert stats["calls"] == 4 and stats["effects"] == 1 and stats["replays"] == 3


async def test_error_before_effect_records_nothing(client: httpx.AsyncClient) -> None:
    cid = str(uuid.uuid4())
    body = {"campaign_id": cid, "brief": BRIEF}
    key = new_key()
    await set_faults(client, error_rate=1.0, error_after_effect_share=0.0)
    response = await post(client, ServiceName.RADAR, body, key)
    assert response.status_code in (500, 502, 503)
    assert await effect_count(client, ServiceName.RADAR, cid) == 0
    await set_faults(client)
    retry = await post(client, ServiceName.RADAR, body, key)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert await effect_count(client, ServiceName.RADAR, cid) == 1


async def test_throttle_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, throttle_rate=1.0, throttle_retry_after_seconds=7)
    cid = str(uuid.uuid4())
    response = await post(client, ServiceName.RADAR, {"campaign_id": cid, "brief": BRIEF})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert await effect_count(client, ServiceName.RADAR, cid) == 0


async def test_down_answers_503_only_for_the_chosen_services(client: httpx.AsyncClient) -> None:
    bodies = await requests_for(client)
    await client.post("/admin/reset")
    await set_faults(client, down=True, services=["publisher"])
    assert (
        await post(client, ServiceName.PUBLISHER, bodies[ServiceName.PUBLISHER])
    ).status_code == 503
    assert (await post(client, ServiceName.RADAR, bodies[ServiceName.RADAR])).status_code == 200
    assert await effect_count(client, ServiceName.PUBLISHER) == 0
    await set_faults(client, down=True)
    assert (await post(client, ServiceName.RADAR, bodies[ServiceName.RADAR])).status_code == 503
    stats = (await client.get("/admin/stats")).json()["services"]
    assert stats["publisher"]["injected"] == {"down": 1}
    assert stats["radar"]["statuses"] == {"200": 1, "503": 1}


async def test_malformed_and_wrong_schema_answers(client: httpx.AsyncClient) -> None:
    body = {"campaign_id": str(uuid.uuid4()), "brief": BRIEF}
    await set_faults(client, malformed_rate=1.0)
    response = await post(client, ServiceName.RADAR, body)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)

    await set_faults(client, wrong_schema_rate=1.0)
    response = await post(client, ServiceName.RADAR, body)
    assert response.status_code == 200
    assert isinstance(response.json(), dict)
    with pytest.raises(ValidationError):
        ENDPOINTS[ServiceName.RADAR].response_model.model_validate_json(response.content)


async def test_oversize_pads_content_answers_only(client: httpx.AsyncClient) -> None:
    bodies = await requests_for(client)
    await set_faults(client, oversize_bytes=600_000)
    response = await post(client, ServiceName.CONTENT, bodies[ServiceName.CONTENT])
    assert response.status_code == 200
    assert len(response.content) > 600_000
    content = ProducedContent.model_validate_json(response.content)  # still the right schema
    assert len(content.pieces) == 4
    radar = await post(client, ServiceName.RADAR, bodies[ServiceName.RADAR])
    assert len(radar.content) < 10_000


async def test_latency_is_added(client: httpx.AsyncClient) -> None:
    await set_faults(client, latency_ms=200)
    started = time.perf_counter()
    response = await post(
        client, ServiceName.RADAR, {"campaign_id": str(uuid.uuid4()), "brief": BRIEF}
    )
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_a_latency_profile_slows_each_service_by_its_own(client: httpx.AsyncClient) -> None:
    """Each service at its own pace, whatever `services` says (the profile names them)."""
    bodies = await requests_for(client)
    await set_faults(client, latency_profile_ms={"content": 300}, services=["radar"])
    took = {}
    for service in (ServiceName.RADAR, ServiceName.CONTENT):
        started = time.perf_counter()
        response = await post(client, service, bodies[service])
        assert response.status_code == 200, response.text
        took[service] = time.perf_counter() - started
    assert took[ServiceName.CONTENT] >= 0.3 > took[ServiceName.RADAR]
    calls = (await client.get("/admin/calls", params={"service": "content"})).json()
    assert [c["injected"] for c in calls].count(["latency"]) == 1  # the profiled call only
    bad = await client.put("/admin/faults", json={"latency_profile_ms": {"nosuch": 5}})
    assert bad.status_code == 422


def test_the_profile_comes_from_the_environment_as_pairs_or_json() -> None:
    pairs = FaultConfig.model_validate({"latency_profile_ms": "radar=200, content=3000"})
    as_json = FaultConfig.model_validate({"latency_profile_ms": '{"radar": 200, "content": 3000}'})
    assert pairs.latency_profile_ms == as_json.latency_profile_ms == {
        ServiceName.RADAR: 200, ServiceName.CONTENT: 3000,
    }  # fmt: skip
    for bad in ("radar:200", "radar=fast", "nosuch=1", "radar=-1"):
        with pytest.raises(ValidationError):
            FaultConfig.model_validate({"latency_profile_ms": bad})


async def test_a_services_own_rate_limit_answers_429_beyond_it(
    client: httpx.AsyncClient,
) -> None:
    """Five calls at once against a limit of 2/s: a full bucket lets two through, the other
    three get 429 at once with Retry-After, and nothing happens for them."""
    strategy = (await requests_for(client))[ServiceName.STRATEGY]
    await client.post("/admin/reset")
    await set_faults(client, rate_limit_per_second={"radar": 2}, services=["publisher"])
    bodies = [{"campaign_id": str(uuid.uuid4()), "brief": BRIEF} for _ in range(5)]
    answers = [await post(client, ServiceName.RADAR, body) for body in bodies]
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429]
    assert answers[2].headers["Retry-After"] == "1"
    assert "allows 2 calls per second" in answers[2].json()["detail"]
    assert await effect_count(client, ServiceName.RADAR) == 2
    stats = (await client.get("/admin/stats")).json()["services"]
    assert stats["radar"]["injected"] == {"rate_limited": 3}
    # Other services have no limit; the bucket refills at the rate.
    assert [(await post(client, ServiceName.STRATEGY, strategy)).status_code for _ in "abc"] == [
        200, 200, 200,
    ]  # fmt: skip
    await asyncio.sleep(0.55)
    again = await post(client, ServiceName.RADAR, bodies[2])
    assert again.status_code == 200
    assert FaultConfig.model_validate(
        {"rate_limit_per_second": "publisher=20"}
    ).rate_limit_per_second == {ServiceName.PUBLISHER: 20.0}
    for bad in ({"radar": 0}, {"nosuch": 1}, "publisher:20"):
        with pytest.raises(ValidationError):
            FaultConfig.model_validate({"rate_limit_per_second": bad})


async def test_faults_are_seeded_draws(client: httpx.AsyncClient) -> None:
    body = {"campaign_id": str(uuid.uuid4()), "brief": BRIEF}

    async def statuses() -> list[int]:
        await set_faults(client, error_rate=0.5, error_after_effect_share=0.0, seed=42)
        return [(await post(client, ServiceName.RADAR, body)).status_code for _ in range(20)]

    first, second = await statuses(), await statuses()
    assert first == second
    assert 200 in first and any(s >= 500 for s in first)


async def test_fault_config_is_validated_and_patchable(client: httpx.AsyncClient) -> None:
    bad = await client.put("/admin/faults", json={"error_rate": 0.8, "throttle_rate": 0.5})
    assert bad.status_code == 422
    assert (await client.put("/admin/faults", json={"bogus": 1})).status_code == 422
    assert (await client.put("/admin/faults", json={"error_rate": 2})).status_code == 422
    await set_faults(client, latency_ms=5, services=["content"])
    patched = await client.patch("/admin/faults", json={"error_rate": 0.25})
    assert patched.status_code == 200
    current = (await client.get("/admin/faults")).json()
    assert current["error_rate"] == 0.25 and current["latency_ms"] == 5
    assert current["services"] == ["content"]
    assert (await client.patch("/admin/faults", json={"throttle_rate": 0.9})).status_code == 422


async def test_initial_faults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFSVC_ERROR_RATE", "0.25")
    monkeypatch.setenv("REFSVC_SERVICES", "publisher,content")
    monkeypatch.setenv("REFSVC_SLOW_SECONDS", "1.5")
    async with client_for() as client:
        current = (await client.get("/admin/faults")).json()
        assert current["error_rate"] == 0.25
        assert current["services"] == ["publisher", "content"]
        assert current["slow_seconds"] == 1.5
        await set_faults(client)
        reset = await client.post("/admin/reset", params={"faults": "true"})
        assert reset.json()["faults"]["error_rate"] == 0.25


# --- admin and auth ----------------------------------------------------------------------------


async def test_effect_count_and_reset(client: httpx.AsyncClient) -> None:
    cid = str(uuid.uuid4())
    out = await run_pipeline(client, BRIEF, cid)
    assert await effect_count(client, ServiceName.PUBLISHER, cid) == 1
    assert await effect_count(client, ServiceName.PUBLISHER, str(uuid.uuid4())) == 0
    listed = (await client.get("/admin/effects", params={"campaign_id": cid})).json()
    assert [e["service"] for e in listed] == [s.value for s in ServiceName]
    calls = (await client.get("/admin/calls", params={"service": "publisher", "limit": 1})).json()
    assert calls[0]["outcome"] == "effect" and calls[0]["campaign_id"] == cid
    assert out[ServiceName.PUBLISHER]["publication_id"].startswith("pub_")

    reset = await client.post("/admin/reset")
    assert reset.status_code == 200 and reset.json()["status"] == "reset"
    assert await effect_count(client, ServiceName.PUBLISHER, cid) == 0
    stats = (await client.get("/admin/stats")).json()["services"]
    assert all(s["calls"] == 0 and s["effects"] == 0 for s in stats.values())
    # After a reset a key is new again.
    assert (await client.get("/admin/effects")).json() == []


async def test_token_is_required_when_configured() -> None:
    settings = ReferenceSettings(require_token=SecretStr("s3cret-token"))
    with structlog.testing.capture_logs() as logs:
        async with client_for(settings) as client:
            body = {"campaign_id": str(uuid.uuid4()), "brief": BRIEF}
            missing = await post(client, ServiceName.RADAR, body)
            assert missing.status_code == 401
            assert missing.headers["WWW-Authenticate"] == "Bearer"
            wrong = await post(
                client, ServiceName.RADAR, body, headers={"Authorization": "Bearer nope"}
            )
            assert wrong.status_code == 401
            good = await post(
                client, ServiceName.RADAR, body, headers={"Authorization": "Bearer s3cret-token"}
            )
            assert good.status_code == 200
            assert (await client.get("/admin/stats")).status_code == 401
            authed = await client.get(
                "/admin/stats", headers={"Authorization": "Bearer s3cret-token"}
            )
            assert authed.json()["services"]["radar"]["calls"] == 3
            assert authed.json()["services"]["radar"]["statuses"] == {"401": 2, "200": 1}
            assert (await client.get("/healthz")).status_code == 200
    assert "s3cret-token" not in repr(settings)
    calls = [e for e in logs if e["event"] == "service_call"]
    assert [e["status"] for e in calls] == [401, 401, 200]
    assert all(e["service"] == "radar" and e["idempotency_key"] for e in calls)
    assert "s3cret-token" not in repr(logs)


def test_an_abort_after_a_reset_frees_only_its_own_call() -> None:
    from reference_services.ledger import Ledger

    ledger = Ledger()
    cid = uuid.uuid4()
    first = ledger.begin(ServiceName.PUBLISHER, "k", "h", cid, once_per_campaign=True)
    ledger.reset()
    second = ledger.begin(ServiceName.PUBLISHER, "k", "h", cid, once_per_campaign=True)
    assert first.kind == second.kind == "fresh"
    ledger.abort(ServiceName.PUBLISHER, "k", first.token)  # the call begun before the reset
    assert ledger.begin(ServiceName.PUBLISHER, "other", "h2", cid, once_per_campaign=True).kind == (
        "in_progress"
    )
    ledger.abort(ServiceName.PUBLISHER, "k", second.token)
    again = ledger.begin(ServiceName.PUBLISHER, "other", "h2", cid, once_per_campaign=True)
    assert again.kind == "fresh"


# --- long work: the content service's asynchronous form (content_async_seconds) -----------------


async def test_async_content_answers_202_with_a_status_url_then_the_content(
    client: httpx.AsyncClient,
) -> None:
    cid = str(uuid.uuid4())
    radar = await ok(client, ServiceName.RADAR, {"campaign_id": cid, "brief": BRIEF})
    strategy = await ok(
        client, ServiceName.STRATEGY, {"campaign_id": cid, "brief": BRIEF, "trend_report": radar}
    )
    await set_faults(client, content_async_seconds=0.3)
    body = {"campaign_id": cid, "brief": BRIEF, "strategy": strategy, "revision": 0}
    key = new_key()
    first = await post(client, ServiceName.CONTENT, body, key=key)
    assert first.status_code == 202, first.text
    location = first.headers["Location"]
    assert location.startswith("/v1/content/productions/jobs/") and first.headers["Retry-After"]
    again = await post(client, ServiceName.CONTENT, body, key=key)  # a retry, the same key
    assert (again.status_code, again.headers["Location"]) == (202, location)
    assert (await client.get(location)).status_code == 202
    await asyncio.sleep(0.35)
    done = await client.get(location)
    assert done.status_code == 200, done.text
    content = ProducedContent.model_validate_json(done.content)
    replay = await post(client, ServiceName.CONTENT, body, key=key)
    assert (
        replay.status_code == 200 and ProducedContent.model_validate_json(replay.content) == content
    )
    assert await effect_count(client, ServiceName.CONTENT, cid) == 1
    assert (await client.get("/v1/content/productions/jobs/nope")).status_code == 404


def test_a_bad_setting_stops_the_services_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reference_services.__main__ import main

    monkeypatch.setenv("REFSVC_LATENCY_PROFILE_MS", "radar:200")
    monkeypatch.setenv("REFSVC_ERROR_RATE", "7")
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "error: invalid settings: REFSVC_LATENCY_PROFILE_MS: expected service=ms pairs, e.g. "
        "content=3000,radar=200; REFSVC_ERROR_RATE: Input should be less than or equal to 1\n"
    )
