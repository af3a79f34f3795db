"""The REST gateway's input limits, in process (httpx.ASGITransport; Temporal is not reached):
an oversized body is 413 before it is read, and a 422 quotes only a short part of bad input."""

from __future__ import annotations

from typing import Any, cast

import httpx
from temporalio.client import Client

from rest_gateway.app import API, create_app
from rest_gateway.settings import GatewaySettings


def gateway(**settings: Any) -> httpx.AsyncClient:
    app = create_app(GatewaySettings(**settings), client=cast(Client, object()))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


async def test_a_body_over_the_limit_is_413_whatever_its_framing() -> None:
    async with gateway(max_body_bytes=4096) as http:
        big = {"brief": {"name": "x" * 10_000}}
        answer = await http.post(API, json=big)
        assert answer.status_code == 413
        assert answer.json()["error"] == "too_large"
        assert "4096" in answer.json()["detail"]

        async def chunks() -> Any:  # no Content-Length: the stream is counted
            for _ in range(10):
                yield b"x" * 1000

        streamed = await http.post(
            API, content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_a_422_names_each_field_and_quotes_little_of_the_input() -> None:
    async with gateway(max_body_bytes=64 * 1024 * 1024) as http:
        body = {"brief": {"name": "n" * 5_000_000, "objective": "", "channels": ["fax"]}}
        answer = await http.post(API, json=body)
    assert answer.status_code == 422
    assert len(answer.content) < 8_000  # before: the 5 MB name came back, and more
    fields = {tuple(e["loc"]) for e in answer.json()["detail"]}
    assert ("body", "brief", "channels", 0) in fields
    assert all(len(e["input"] or "") <= 80 for e in answer.json()["detail"])
