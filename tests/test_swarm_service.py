"""What the seeder and the extra peers share (infra.swarm.service): the PUT /settings
upload limit and the app whose background loop pumps alerts and re-announces."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.swarm import service


def _routes(applied: list[int]) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.put("/settings")
    async def put_settings(request: web.Request) -> web.Response:
        return await service.put_upload_rate_limit(request, applied.append)
    return routes


def test_the_loop_ticks_survives_a_failing_tick_and_stops_with_the_app():
    events: list[str] = []
    applied: list[int] = []

    async def start() -> None:
        events.append("start")

    async def tick() -> None:
        events.append("tick")
        if events.count("tick") == 2:
            raise RuntimeError("one bad alert")

    async def stop() -> None:
        events.append("stop")

    async def scenario() -> None:
        app = service.looping_app(_routes(applied), tick, logging.getLogger("test"), "the loop failed", start, stop,
                                  period=0.01)
        async with TestClient(TestServer(app)) as client:
            await asyncio.sleep(0.2)
            good = await client.put("/settings", json={"uploadRateLimit": 1000})
            assert good.status == 200 and await good.json() == {"uploadRateLimit": 1000}
            for bad in ({"uploadRateLimit": -1}, {"other": 1}, ["x"]):
                answer = await client.put("/settings", json=bad)
                assert answer.status == 400 and "uploadRateLimit" in (await answer.json())["error"]
        assert events[-1] == "stop"

    asyncio.run(scenario())
    assert events[0] == "start" and events.count("tick") >= 5, events
    assert applied == [1000]


def test_every_is_due_at_once_then_after_its_period():
    async def scenario() -> list[bool]:
        every = service.Every(0.05)
        seen = [every.due(), every.due()]
        await asyncio.sleep(0.06)
        return seen + [every.due()]

    assert asyncio.run(scenario()) == [True, False, True]
