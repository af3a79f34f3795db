"""The table of steps (contracts.STEPS) is the one list of steps: the graph's order, the
activities a worker registers, the worker's per-service settings, the metric labels and the
reference services' routes all come from it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from activities import CampaignActivities, ServiceClient
from contracts import PIPELINE, STEP_FOR_STATE, STEPS, CampaignState, ServiceName, Step
from orchestrator_connection.settings import Settings
from orchestrator_worker.observability import _step_of
from reference_services.app import create_app


def test_the_public_activity_types_and_endpoints_stay() -> None:
    """What running campaigns' histories and the service teams depend on (README, "The public
    names"; docs/service-contract.md): a changed row here breaks them."""
    assert [(s.state.value, s.service.value, s.activity, s.path) for s in STEPS] == [
        ("RADAR_SCAN", "radar", "radar_scan", "/v1/radar/scans"),
        ("STRATEGY_GEN", "strategy", "generate_strategy", "/v1/strategy/briefs"),
        ("CONTENT_PROD", "content", "produce_content", "/v1/content/productions"),
        ("QUALITY_AUDIT", "quality", "audit_quality", "/v1/quality/audits"),
        ("PUBLISH", "publisher", "publish_campaign", "/v1/publisher/publications"),
        ("LEARN", "learning", "learn_from_campaign", "/v1/learning/summaries"),
    ]


def test_the_table_is_the_graph_in_order_one_step_per_service() -> None:
    assert PIPELINE == tuple(step.state for step in STEPS)
    assert PIPELINE[0] is CampaignState.RADAR_SCAN and PIPELINE[-1] is CampaignState.LEARN
    assert sorted(step.service for step in STEPS) == sorted(ServiceName)
    assert len({step.activity for step in STEPS}) == len({step.path for step in STEPS}) == 6


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.activity)
def test_each_row_reaches_every_place_that_needs_it(step: Step[Any, Any]) -> None:
    services = ServiceClient(httpx.AsyncClient(), {s: "http://127.0.0.1:1" for s in ServiceName})
    activities = CampaignActivities(services)
    assert activities.step(step.state).__name__ == step.activity
    assert activities.step(step.state) in activities.all()
    assert STEP_FOR_STATE[step.state] is step
    assert {f"{step.service.value}_url", f"{step.service.value}_token"} <= set(
        Settings.model_fields
    )
    assert _step_of(step.activity) == step.state.value  # the metric label
    paths = create_app().openapi()["paths"]
    assert "post" in paths[step.path]
