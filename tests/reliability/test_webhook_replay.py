"""Campaigns started with notify_transitions before the webhook outbox still replay.

tests/histories/webhooks/<label>/*.json were recorded by the worker of that commit (before the
outbox: the campaign ran `notify_transition` itself). They sit one level deeper than
test_replay.py's histories, which must cover every scenario per label. No server needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.workflow import NondeterminismError

from tests.reliability.test_replay import HISTORIES, load, replayer
from tests.reliability.webhook_variants import UnpatchedOutbox
from workflows import CampaignWorkflow
from workflows.observer import WEBHOOK_OUTBOX

PRE_OUTBOX = sorted((HISTORIES / "webhooks").glob("*/*.json"))


def scheduled(path: Path) -> list[str]:
    events = json.loads(path.read_text(encoding="utf-8"))["events"]
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    ]


def test_there_is_a_pre_outbox_history_that_notified() -> None:
    assert PRE_OUTBOX
    for path in PRE_OUTBOX:
        assert "notify_transition" in scheduled(path), path
        assert "enqueue_transition" not in scheduled(path), path
        assert WEBHOOK_OUTBOX not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("path", PRE_OUTBOX, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_todays_workflow_replays_a_pre_outbox_campaign(path: Path) -> None:
    result = await replayer(CampaignWorkflow).replay_workflow(load(path))
    assert result.replay_failure is None


@pytest.mark.parametrize("path", PRE_OUTBOX, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_the_outbox_without_its_patch_breaks_replay(path: Path) -> None:
    with pytest.raises(NondeterminismError):
        await replayer(UnpatchedOutbox).replay_workflow(load(path))
