"""Shared test configuration: the one stack of the real-server suites (tests/integration and
tests/reliability), started on first use and shared by both for the whole session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from devstack.stack import DevStack
from orchestrator_connection.temporal_client import connect
from tests.stack import Admin, admin_of, running_stack

# The suite's workers poll hundreds of task queues of their own; versioned, every one would join
# one deployment version shared by the whole session. They run unversioned;
# tests/integration/test_worker_versioning.py runs versioned ones, each deployment its own.
os.environ.setdefault("CAMPAIGN_WORKER_VERSIONING", "false")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A real dev server and the real reference services, for the whole session."""
    with running_stack(Path(tmp_path_factory.mktemp("stack"))) as stack:
        yield stack


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(stack: DevStack) -> Client:
    return await connect(target_host=stack.config.temporal_address, namespace="default")


@pytest_asyncio.fixture(loop_scope="session")
async def admin(stack: DevStack) -> AsyncIterator[Admin]:
    """The services' admin API, with the ledger cleared and no faults; faults off afterwards."""
    async with admin_of(stack) as admin:
        yield admin
