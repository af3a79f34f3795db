"""The worst history one campaign can write: every retry used, every content answer at the cap.

    python -m bench.history_bounds [--max-retries 20] [--content-bytes 500000]

Runs one campaign on the time-skipping test server with the step activities mocked (the mocks of
tests/workflow/fakes.py): the quality gate closes on every audit, so each of the `max_retries`
operator retries produces and audits a new content revision of `--content-bytes` (the worker's
CAMPAIGN_MAX_RESPONSE_BYTES caps a real one at 512 KiB); the last failure waits out its retry
window. Reports the events and bytes of the history, per retry and in all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio.client import WorkflowFailureError

from contracts import (
    RETRY_UPDATE,
    CampaignPayload,
    Channel,
    ContentPiece,
    ProducedContent,
    QualityVerdict,
    RetryRequest,
)
from tests.workflow.fakes import (
    AUDIT,
    CONTENT,
    FakeServices,
    campaign_input,
    quality_report,
    run_chain,
    running_worker,
    start,
    time_skipping_environment,
    wait_for,
)


def _big_content(size: int, revision: int) -> ProducedContent:
    piece = ContentPiece(channel=Channel.BLOG, headline="H", body="x" * 20_000, call_to_action="Go")
    return ProducedContent(
        artifact_id=uuid.uuid4(),
        produced_at=datetime.now(UTC),
        revision=revision,
        pieces=[piece] * max(1, size // 20_000),
    )


def _parked_after(payload: CampaignPayload, retries: int) -> bool:
    return payload.retry_count == retries and payload.failure is not None


async def measure(max_retries: int, content_bytes: int) -> dict[str, Any]:
    services = FakeServices()
    revision = iter(range(1000))

    async def content(call: object) -> ProducedContent:
        return _big_content(content_bytes, next(revision))

    services.always(CONTENT, content)
    services.always(AUDIT, quality_report(QualityVerdict.FAIL))
    async with time_skipping_environment() as env, running_worker(env.client, services) as tq:
        handle = await start(
            env.client,
            tq,
            campaign_input(max_retries=max_retries, retry_window=timedelta(days=7)),
        )
        for n in range(max_retries + 1):
            await wait_for(handle, partial(_parked_after, retries=n), "FAILED", 60)
            if n < max_retries:
                await handle.execute_update(RETRY_UPDATE, RetryRequest(requested_by="bench"))
        try:
            await handle.result()  # the time-skipping server skips the 7-day window
        except WorkflowFailureError:
            pass
        histories = await run_chain(env.client, handle)
    sizes = [len(h.to_json().encode()) for h in histories]
    events = [len(h.events) for h in histories]
    return {
        "max_retries": max_retries,
        "content_bytes": content_bytes,
        "runs": len(histories),
        "history_events_per_run": events,
        "history_json_bytes_per_run": sizes,
        "largest_run_share_of_event_limit": round(max(events) / 51_200, 4),
        "largest_run_share_of_size_limit": round(max(sizes) / (50 * 1024 * 1024), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-retries", type=int, default=20)
    parser.add_argument("--content-bytes", type=int, default=500_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.max_retries, args.content_bytes)), indent=2))


if __name__ == "__main__":
    main()
