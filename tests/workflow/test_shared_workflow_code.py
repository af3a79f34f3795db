"""A worker built by build_workers runs its sandboxed workflows from the one shared copy of their
modules' code (orchestrator_worker/workflow_code_cache.py): the sandbox imports them with its
loader, not from the file."""

from __future__ import annotations

import sys
import uuid

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator_connection.settings import Settings, WorkerRoles
from orchestrator_worker.service_wiring import create_activities
from orchestrator_worker.worker_factory import CampaignWorkers, build_workers
from orchestrator_worker.workflow_code_cache import SharedWorkflowCode
from tests.workflow.code_probe import CodeProbe


async def probe_twice(
    env: WorkflowEnvironment, worker: CampaignWorkers, task_queue: str
) -> list[str]:
    async with worker:
        return [
            await env.client.execute_workflow(
                CodeProbe.run, id=f"probe-{uuid.uuid4()}", task_queue=task_queue
            )
            for _ in range(2)
        ]


def probe_worker(
    env: WorkflowEnvironment, http: httpx.AsyncClient, task_queue: str
) -> CampaignWorkers:
    settings = Settings()
    return build_workers(
        env.client,
        settings,
        create_activities(settings, http),
        task_queue=task_queue,
        roles=WorkerRoles(workflows=True, services=()),
        workflows=[CodeProbe],
    )


async def test_build_worker_shares_the_sandboxed_code(env: WorkflowEnvironment) -> None:
    task_queue = f"tq-{uuid.uuid4()}"
    async with httpx.AsyncClient() as http:
        worker = probe_worker(env, http, task_queue)
        assert await probe_twice(env, worker, task_queue) == ["SharedCodeLoader"] * 2


async def test_without_the_finder_the_sandbox_loads_from_file_and_runs(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a future SDK whose sandbox stops asking sys.meta_path would do: the worker built by
    build_workers still runs every workflow, from the file, as a plain Worker does."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with httpx.AsyncClient() as http:
        worker = probe_worker(env, http, task_queue)
        assert any(isinstance(f, SharedWorkflowCode) for f in sys.meta_path)
        monkeypatch.setattr(
            sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, SharedWorkflowCode)]
        )
        assert await probe_twice(env, worker, task_queue) == ["SourceFileLoader"] * 2
