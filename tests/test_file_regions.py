"""Bodies made of bytes and regions of a file (http_media.FileRegion): sent by the kernel
where the loop can (sendfile), read and written where it cannot (uvloop), and never a
short body when the file is shorter than the region."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infra.swarm import http_media

SIZE = 3 * 1024 * 1024 + 17


@pytest.fixture()
def media(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(SIZE)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    return path, data


def app(path: Path) -> web.Application:
    """Serves `path` (SIZE bytes) as bytes for its first 100 KiB (read in Python) and as
    one region for the rest, as the reference backend's reader does."""
    rep = http_media.Representation(SIZE, "video/mp4", '"tag"', datetime(2024, 1, 1, tzinfo=timezone.utc))
    head = 100 * 1024

    def read(start: int, end: int):
        async def chunks():
            if start < head:
                with open(path, "rb") as handle:
                    handle.seek(start)
                    yield handle.read(min(end + 1, head) - start)
            if end >= head:
                first = max(start, head)
                yield http_media.FileRegion(path, first, end - first + 1)
        return chunks()

    async def handler(request: web.Request) -> web.StreamResponse:
        return await http_media.respond(request, rep, http_media.decide(request, rep), read)

    application = web.Application()
    application.router.add_get("/v", handler)
    return application


async def fetch(application: web.Application, headers: dict[str, str]) -> tuple[int, bytes]:
    async with TestClient(TestServer(application)) as client:
        response = await client.get("/v", headers=headers)
        return response.status, await response.read()


@pytest.mark.parametrize("header, start, end", [
    (None, 0, SIZE - 1),
    ("bytes=50-200000", 50, 200000),
    ("bytes=2000000-", 2000000, SIZE - 1),
])
def test_bytes_and_regions_make_exactly_the_files_bytes(media, header, start, end):
    path, data = media
    status, body = asyncio.run(fetch(app(path), {"Range": header} if header else {}))
    assert status == (206 if header else 200)
    assert body == data[start:end + 1]


def test_a_loop_without_sendfile_gets_the_same_bytes(media, monkeypatch):
    path, data = media
    used = []

    async def no_sendfile(self, *args, **kwargs):
        used.append(True)
        raise NotImplementedError   # what uvloop's loop does

    monkeypatch.setattr(asyncio.BaseEventLoop, "sendfile", no_sendfile)
    status, body = asyncio.run(fetch(app(path), {"Range": "bytes=1000-3000000"}))
    assert used and status == 206
    assert body == data[1000:3000001]


def test_a_file_shorter_than_its_region_cuts_the_connection_never_a_short_body(media):
    path, _ = media
    os.truncate(path, SIZE - 10)
    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(fetch(app(path), {"Range": "bytes=0-"}))
