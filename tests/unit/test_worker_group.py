"""CampaignWorkers, the workers of one process, with stand-ins for Temporal's Worker: they start
together, a fatal error of one stops the block and comes out of it, and a cancel during the
shutdown leaves nothing polling."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from temporalio.worker import Worker

from contracts import ServiceName
from orchestrator_worker.worker_factory import CampaignWorkers


class StandIn:
    """What CampaignWorkers uses of a Worker: task_queue, run(), shutdown()."""

    def __init__(self, task_queue: str, fails: BaseException | None = None, slow_stop: float = 0):
        self.task_queue = task_queue
        self.fails, self.slow_stop = fails, slow_stop
        self.stop, self.stopped = asyncio.Event(), asyncio.Event()
        self.running = False

    async def run(self) -> None:
        self.running = True
        try:
            if self.fails is not None:
                await asyncio.sleep(0.01)
                raise self.fails
            await self.stop.wait()
            await asyncio.sleep(self.slow_stop)  # letting activities finish
        finally:
            self.running = False
            self.stopped.set()

    async def shutdown(self) -> None:
        self.stop.set()
        if self.running:
            await self.stopped.wait()


def group(*workers: StandIn) -> CampaignWorkers:
    main, *services = cast(list[Worker], list(workers))
    return CampaignWorkers("q", main, dict(zip(ServiceName, services, strict=False)))


async def test_all_start_and_stop_together() -> None:
    workers = [StandIn("q"), StandIn("q-radar"), StandIn("q-content")]
    async with group(*workers) as running:
        await asyncio.sleep(0.02)
        assert all(w.running for w in workers) and running.task_queues == [
            "q",
            "q-radar",
            "q-content",
        ]
    assert not any(w.running for w in workers)


async def test_a_fatal_error_of_one_stops_the_block_and_comes_out() -> None:
    workers = [StandIn("q"), StandIn("q-radar", fails=RuntimeError("Worker validation failed"))]
    reached_the_end = False
    with pytest.raises(RuntimeError, match="validation failed"):
        async with group(*workers):
            await asyncio.sleep(5)
            reached_the_end = True
    assert not reached_the_end and not any(w.running for w in workers)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the group's own cancel is taken back


async def test_an_error_of_the_block_is_not_replaced() -> None:
    workers = [StandIn("q"), StandIn("q-radar")]
    with pytest.raises(KeyError):
        async with group(*workers):
            raise KeyError("the block's own")
    assert not any(w.running for w in workers)


async def test_a_cancel_during_the_shutdown_leaves_nothing_running() -> None:
    workers = [StandIn("q", slow_stop=30), StandIn("q-radar", slow_stop=30)]

    async def run_and_leave() -> None:
        async with group(*workers):
            await asyncio.sleep(0.02)

    task = asyncio.create_task(run_and_leave())
    await asyncio.sleep(0.1)  # in the shutdown, waiting for the slow stops
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert not any(w.running for w in workers)


def test_a_process_needs_something_to_poll() -> None:
    with pytest.raises(ValueError, match="needs a task queue"):
        CampaignWorkers("q", None, {})
