"""What one downstream call costs the calling process: CPU per HTTP call, with no Temporal.

    python -m bench.http_client_cost [--calls 1200]

Brings up the instant reference services and makes the campaign's six calls from this process,
one at a time and 50 at once: first through `ServiceClient` (what an activity does: pydantic
request, httpx, capped read, pydantic answer), then as bare `httpx` posts of the same bodies.
Prints this process's CPU milliseconds per call (all threads).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable

import httpx
import psutil

from activities import ServiceClient
from bench.plain import six_calls
from bench.procmon import cpu_seconds
from bench.runner import campaign_input, say
from bench.stack import BenchStack, exit_on_sigterm
from contracts import IDEMPOTENCY_HEADER, ServiceName

Call = Callable[[int], Awaitable[None]]


async def cpu_ms_per_call(call: Call, calls: int, concurrency: int, per: int) -> float:
    """CPU ms per HTTP call of `calls` invocations of `call`, each making `per` HTTP calls."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await call(i)

    await asyncio.gather(*(one(i) for i in range(max(10, calls // 10))))  # warm the pool
    me = psutil.Process()
    before = cpu_seconds(me)
    await asyncio.gather(*(one(i) for i in range(calls)))
    return (cpu_seconds(me) - before) * 1000 / (calls * per)


async def record_six_requests(url: str) -> list[httpx.Request]:
    """The campaign's six requests, as ServiceClient sends them."""
    recorded: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        await request.aread()
        recorded.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [keep]}) as http:
        services = ServiceClient(http, base_urls={s: url for s in ServiceName})
        await six_calls(services, campaign_input())
    return recorded


async def measure(calls: int) -> None:
    stack = BenchStack()
    await asyncio.to_thread(stack.stack.start_services, env={"REFSVC_LOG_LEVEL": "WARNING"})
    try:
        url = stack.config.services_url
        async with httpx.AsyncClient() as http:
            (await http.put(f"{url}/admin/faults", json={})).raise_for_status()  # instant
            requests = await record_six_requests(url)
            services = ServiceClient(http, base_urls={s: url for s in ServiceName})

            async def service_client(_: int) -> None:
                await six_calls(services, campaign_input())

            async def bare_post(i: int) -> None:
                request = requests[i % len(requests)]
                headers = {**request.headers, IDEMPOTENCY_HEADER: str(uuid.uuid4())}
                answer = await http.post(request.url, content=request.content, headers=headers)
                answer.raise_for_status()

            for concurrency in (1, 50):
                via_client = await cpu_ms_per_call(service_client, calls // 6, concurrency, 6)
                bare = await cpu_ms_per_call(bare_post, calls, concurrency, 1)
                print(
                    f"{concurrency:3d} at once: ServiceClient {via_client:.2f} ms CPU per call,"
                    f" bare httpx post {bare:.2f} ms"
                )
    finally:
        say("stopping the services")
        stack.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_client_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=1200)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    asyncio.run(measure(args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
