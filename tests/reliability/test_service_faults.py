"""Service faults: many campaigns while the services fail, throttle and stall.

The reference services answer 20% of calls with 500/502/503 (half of them after doing the work,
so only the answer is lost), 5% with 429 + Retry-After, and make 5% of calls slower than the
activity can wait: for half the campaigns the step's start_to_close_timeout (1 s) expires first,
for the other half the worker's HTTP timeout (1.5 s). Every campaign must reach LEARN, and the
services' own record must show exactly one side effect per campaign and service: one publish.
"""

from __future__ import annotations

import time

import pytest
from temporalio.client import Client

from contracts import CampaignState, ServiceName
from devstack.stack import DevStack
from tests.reliability.support import (
    FULL,
    campaign,
    duplicate_effects,
    injected_totals,
    log_problems,
    outcomes,
    payloads,
    publishes_by_campaign,
    record_figures,
    retries,
    retries_seen,
    size,
    start_all,
    status_totals,
    worker_process,
)
from tests.stack import Admin

# Full sizes take longer than pytest's default 300 s limit (pyproject) on a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900 if FULL else 300)]

CAMPAIGNS = size(ci=60, full=200)
HTTP_TIMEOUT = 1.5
SLOW_SECONDS = 2.0
FAULTS = dict(
    error_rate=0.20,
    error_after_effect_share=0.5,
    throttle_rate=0.05,
    throttle_retry_after_seconds=1,
    slow_rate=0.05,
    slow_seconds=SLOW_SECONDS,
    seed=4,
)


async def test_every_campaign_publishes_exactly_once_under_service_faults(
    client: Client, stack: DevStack, admin: Admin
) -> None:
    async with worker_process(
        stack, "worker-faults", "faults", env={"CAMPAIGN_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT)}
    ) as worker:
        # Half the campaigns give a step 1 s (the activity times out before the slow answer), half
        # 5 s (the HTTP call times out first). 30 attempts: giving up would need 30 faults in a row.
        campaigns = [
            campaign(i, step_retry=retries(attempts=30, start_to_close=1.0 if i % 2 else 5.0))
            for i in range(CAMPAIGNS)
        ]
        await admin.faults(**FAULTS)
        started = time.monotonic()
        handles = await start_all(client, campaigns, worker.task_queue)
        results = await outcomes(client, handles, within=240 + CAMPAIGNS)
        elapsed = time.monotonic() - started
        await admin.faults()

        not_learned = [h.id for h, o in zip(handles, results, strict=True) if o.state != "LEARN"]
        assert not not_learned, f"lost campaigns: {not_learned}"
        effects = await admin.effects()
        duplicates = duplicate_effects(effects, campaigns)
        assert not duplicates, duplicates
        publishes = publishes_by_campaign(effects)
        assert all(publishes[str(c.campaign_id)] == 1 for c in campaigns)
        # Each campaign's receipt is the one publication the publisher recorded.
        published = {
            e["campaign_id"]: e["artifact_id"] for e in effects if e["service"] == "publisher"
        }
        for c, o in zip(campaigns, results, strict=True):
            assert o.state is CampaignState.LEARN and o.retry_count == 0
            assert o.publish_receipt is not None
            assert str(o.publish_receipt.artifact_id) == published[str(c.campaign_id)]

        logs = await payloads(client, [h.id for h in handles])
        problems = [p for payload in logs for p in log_problems(payload)]
        assert not problems, problems[:10]

        stats = await admin.stats()
        injected = injected_totals(stats)
        assert injected.get("error_after_effect", 0) > 0 and injected.get("throttle", 0) > 0
        assert injected.get("slow", 0) > 0
        record_figures(
            "service faults",
            campaigns=CAMPAIGNS,
            reached_learn=len(results),
            faults_injected=injected,
            answers_by_status=status_totals(stats),
            retries_seen=retries_seen(await admin.calls(), campaigns),
            in_progress_409=sum(s["in_progress"] for s in stats.values()),
            replays=sum(s["replays"] for s in stats.values()),
            publishes=sum(publishes.values()),
            duplicates=len(duplicates),
            seconds=round(elapsed, 1),
        )
        assert stats[ServiceName.PUBLISHER.value]["effects"] == CAMPAIGNS
