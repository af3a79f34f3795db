"""Temporal's own cost: six sequential activities that make no HTTP call.

`BareWorkflow` is the floor without the services: the same shape (six activities, one after
another, the same 30 s timeout) but each activity returns its input at once, and the payload is
a short string. Floor minus bare is what the six real HTTP calls and their pydantic artifacts
cost; bare is what the issue's first measurement ran. A diagnostic only: the product never runs
it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

BARE_WORKFLOW_TYPE = "BenchBareWorkflow"
STEP_TIMEOUT = timedelta(seconds=30)
STEPS = 6


@activity.defn(name="bench_bare_step")
async def bare_step(token: str) -> str:
    return token


@workflow.defn(name=BARE_WORKFLOW_TYPE)
class BareWorkflow:
    @workflow.run
    async def run(self, token: str) -> str:
        for _ in range(STEPS):
            token = await workflow.execute_activity(
                bare_step, token, start_to_close_timeout=STEP_TIMEOUT
            )
        return token
