"""A workflow that reports which loader the sandbox imported its module with."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class CodeProbe:
    @workflow.run
    async def run(self) -> str:
        return type(globals()["__loader__"]).__name__
