"""Determinism: today's CampaignWorkflow replays the committed histories of real runs.

tests/histories/<label>/*.json were recorded by tests/histories/record.py on the dev server:
release-* by the release itself (CHANGELOG.md), v5-schedules and v6-review by the worker of
their commits, with only the paths they added. (The pre-release histories went in 0.2.0 with
the `search-attributes-on-change` patch that each of them carried.) A change to the workflow
that alters the command sequence of any of them, without workflow.patched(...), fails here with
a nondeterminism error. No server needed.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from contracts import STEPS, service_task_queue, workflow_id_for
from orchestrator_worker.worker_factory import workflow_runner
from tests.reliability.graph_variants import (
    PRE_PUBLISH_PAUSE,
    PatchedPauseBeforePublish,
    UnpatchedPauseBeforePublish,
)
from workflows import CampaignWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
SCENARIOS = {
    "happy_path",
    "gate_failure_retry",
    "service_failure_retry",
    "cancellation",
    "start_signal",
    "retry_window_expired",
}
# In every label but the feature ones: a second run of a published campaign, a cancel during
# PUBLISH, and a parked run that continued as new.
GUARANTEE_SCENARIOS = {"already_published", "cancel_during_publish", "parked_continue_as_new"}
# A schedule's run (campaign-<template>-<scheduled time>), and a repeat of its time after it
# published (ALREADY_PUBLISHED at once); recorded alone, under their own label.
SCHEDULE_SCENARIOS = {"scheduled_run", "scheduled_repeat"}
# A person in the loop (labels ending in -review, recorded alone): approval before PUBLISH
# (approved; changes requested then approved; rejected, retried, approved; timed out after a
# reminder, retried, approved) and a pause held at a step boundary until `resume`.
REVIEW_SCENARIOS = {
    "approval_approved",
    "approval_changes_requested",
    "approval_rejected_retried",
    "approval_timeout_retried",
    "pause_resume",
}
# The scenarios whose campaign reached PUBLISH (the step the variants change): every review path
# ends in LEARN.
PUBLISHED = (
    SCENARIOS - {"cancellation", "retry_window_expired"}
    | {"cancel_during_publish", "scheduled_run"}
    | REVIEW_SCENARIOS
)


def scenarios_of(label: str) -> set[str]:
    if label.endswith("-schedules"):
        return SCHEDULE_SCENARIOS
    if label.endswith("-review"):
        return REVIEW_SCENARIOS
    return SCENARIOS | GUARANTEE_SCENARIOS


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*/*.json"))


def load(path: Path) -> WorkflowHistory:
    data = json.loads(path.read_text(encoding="utf-8"))
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == "CampaignWorkflow"
    # The workflow checks its id against the input's campaign_id, as it did when it ran.
    first_input = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    workflow_id = workflow_id_for(first_input["campaign_id"])
    # A schedule's run: Temporal appended the scheduled time, which it also set as an attribute.
    scheduled = started.get("searchAttributes", {}).get("indexedFields", {})
    if at := scheduled.get("TemporalScheduledStartTime"):
        workflow_id += "-" + json.loads(base64.b64decode(at["data"]))
    return WorkflowHistory.from_json(workflow_id, data)


def replayer(workflow: type) -> Replayer:
    return Replayer(
        workflows=[workflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def test_every_representative_run_is_committed_for_every_recorded_version() -> None:
    labels = sorted({p.parent.name for p in history_files()})
    assert labels, f"no histories under {HISTORIES}"
    # The oldest supported: the release's own histories (CHANGELOG.md, 0.2.0: the pre-release
    # ones went with the `search-attributes-on-change` patch).
    assert any(label.startswith("release-") for label in labels)
    for label in labels:
        assert {p.stem for p in (HISTORIES / label).glob("*.json")} == scenarios_of(label), label
    assert any(scenarios_of(label) > SCENARIOS for label in labels)
    assert any(scenarios_of(label) == REVIEW_SCENARIOS for label in labels)


@pytest.mark.parametrize("path", history_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_todays_workflow_replays_the_committed_history(path: Path) -> None:
    result = await replayer(CampaignWorkflow).replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_patched_change_to_the_graph_replays_every_old_history() -> None:
    for path in history_files():
        result = await replayer(PatchedPauseBeforePublish).replay_workflow(load(path))
        assert result.replay_failure is None, path
        events = json.loads(path.read_text(encoding="utf-8"))["events"]
        assert PRE_PUBLISH_PAUSE not in json.dumps(events)  # old runs never took the new path


async def test_the_same_change_without_the_patch_breaks_replay() -> None:
    broken, kept = [], []
    for path in history_files():
        try:
            await replayer(UnpatchedPauseBeforePublish).replay_workflow(load(path))
        except NondeterminismError:
            broken.append(path.stem)
        else:
            kept.append(path.stem)
    assert set(broken) == PUBLISHED, broken
    every = SCENARIOS | GUARANTEE_SCENARIOS | SCHEDULE_SCENARIOS | REVIEW_SCENARIOS
    assert set(kept) == every - PUBLISHED, kept


def scheduled_queues(path: Path) -> set[tuple[str, str]]:
    """(activity type, task queue) of every activity the run scheduled, and its own queue."""
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    own = events[0]["workflowExecutionStartedEventAttributes"]["taskQueue"]["name"]
    return {
        (a["activityType"]["name"], a["taskQueue"]["name"].replace(own, "<own>", 1))
        for e in events
        if (a := e.get("activityTaskScheduledEventAttributes"))
    }


def test_the_service_queues_are_recorded_from_their_patch_on() -> None:
    """Every committed run (from release 0.1.0, after the `service-task-queues` patch)
    scheduled each step on its service's queue."""
    on_service_queues = {
        (step.activity, service_task_queue("<own>", step.service)) for step in STEPS
    }
    for path in history_files():
        assert scheduled_queues(path) <= on_service_queues, path
    happy = HISTORIES / "release-0.1.0" / "happy_path.json"
    assert scheduled_queues(happy) == on_service_queues


def _payload_value(payload: dict[str, Any]) -> Any:
    """A search attribute's value as upserted (JSON; None when unset: binary/null, no data)."""
    data = payload.get("data")
    return json.loads(base64.b64decode(data)) if data else None


def review_markers(path: Path) -> dict[str, Any]:
    """What a run of a review path shows in its history: the updates accepted (in order), the
    failure reasons and approvers it set, CampaignPaused as set, the timers that fired (by
    summary), the revisions produced and publications scheduled, and how it closed."""
    events: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["events"]
    upserts = [
        {k: _payload_value(v) for k, v in a["searchAttributes"]["indexedFields"].items()}
        for e in events
        if (a := e.get("upsertWorkflowSearchAttributesEventAttributes"))
    ]
    timer_summaries = {
        e["eventId"]: _payload_value(e.get("userMetadata", {}).get("summary", {}))
        for e in events
        if e["eventType"] == "EVENT_TYPE_TIMER_STARTED"
    }
    activities = [
        a["activityType"]["name"]
        for e in events
        if (a := e.get("activityTaskScheduledEventAttributes"))
    ]
    return {
        "updates": [
            a["acceptedRequest"]["input"]["name"]
            for e in events
            if (a := e.get("workflowExecutionUpdateAcceptedEventAttributes"))
        ],
        "failure_reasons": [
            u["CampaignFailureReason"] for u in upserts if u.get("CampaignFailureReason")
        ],
        "approvers": [u["CampaignApprovers"] for u in upserts if u.get("CampaignApprovers")],
        "paused": [u["CampaignPaused"] for u in upserts if "CampaignPaused" in u],
        "timers_fired": [
            timer_summaries[a["startedEventId"]]
            for e in events
            if (a := e.get("timerFiredEventAttributes"))
        ],
        "revisions": activities.count("produce_content"),
        "publications": activities.count("publish_campaign"),
        "closed": events[-1]["eventType"],
    }


COMPLETED = "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
# Each review path, as its recorded history must show it (see review_markers).
REVIEW_MARKERS: dict[str, dict[str, Any]] = {
    "approval_approved": {
        "updates": ["approve"],
        "failure_reasons": [],
        "approvers": [["ana"]],
        "paused": [],
        "timers_fired": [],
        "revisions": 1,
        "publications": 1,
        "closed": COMPLETED,
    },
    "approval_changes_requested": {
        "updates": ["request_changes", "approve"],
        "failure_reasons": [],
        "approvers": [["ana"], ["ana"]],  # revision 0, then the revised one
        "paused": [],
        "timers_fired": [],
        "revisions": 2,
        "publications": 1,
        "closed": COMPLETED,
    },
    "approval_rejected_retried": {
        "updates": ["reject", "request_retry", "approve"],
        "failure_reasons": ["APPROVAL_REJECTED"],
        "approvers": [["ana"], ["ana"]],
        "paused": [],
        "timers_fired": [],
        "revisions": 2,  # the retry resumes at CONTENT_PROD
        "publications": 1,
        "closed": COMPLETED,
    },
    "approval_timeout_retried": {
        "updates": ["request_retry", "approve"],
        "failure_reasons": ["APPROVAL_TIMEOUT"],
        "approvers": [["ana"], ["ana"]],
        "paused": [],
        "timers_fired": ["approval reminder", "approval deadline"],
        "revisions": 1,  # the retry asks again about the same revision
        "publications": 1,
        "closed": COMPLETED,
    },
    "pause_resume": {
        "updates": ["pause", "resume"],
        "failure_reasons": [],
        "approvers": [],
        "paused": [True, False],  # held at a step boundary, then resumed
        "timers_fired": [],
        "revisions": 1,
        "publications": 1,
        "closed": COMPLETED,
    },
}


def review_files() -> list[Path]:
    return [p for p in history_files() if p.parent.name.endswith("-review")]


@pytest.mark.parametrize("path", review_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_review_history_shows_the_markers_of_its_path(path: Path) -> None:
    """A recorder scenario that drifted (an update refused instead of accepted, a reminder
    that never fired, a pause never held) must not pass as a recording of its path."""
    assert set(REVIEW_MARKERS) == REVIEW_SCENARIOS
    assert review_markers(path) == REVIEW_MARKERS[path.stem]
