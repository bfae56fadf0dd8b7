"""infra.swarm.http_media through the range server's app (infra.swarm.range_server.__main__.make_app)."""

from __future__ import annotations

import asyncio
import json
import os
import random
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.swarm import http_media
from infra.swarm.catalog import Catalog, CatalogEntry
from infra.swarm.range_server.__main__ import CHUNK, make_app

DATA = random.Random(7).randbytes(CHUNK * 4 + 1234)   # several reader chunks, odd tail
N = len(DATA)
MTIME = 1_700_000_000


@pytest.fixture
def media(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    (media / "sub").mkdir(parents=True)
    (media / "clip.mp4").write_bytes(DATA)
    os.utime(media / "clip.mp4", (MTIME, MTIME))
    (media / "sub" / "notes.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    (tmp_path / "secret.txt").write_text("outside the media folder")
    (media / "link.mp4").symlink_to(tmp_path / "secret.txt")
    return media


def catalog() -> Catalog:
    def entry(name: str, seeded: bool) -> CatalogEntry:
        return CatalogEntry(name=name, info_hash=("a" if seeded else "b") * 40, torrent_file=f"{name}.torrent",
                            content_path="clip.mp4", main_file="clip.mp4", size=N, total_size=N,
                            files=[{"path": "clip.mp4", "length": N}], seeded=seeded)
    return Catalog([entry("test-clip", True), entry("test-unseeded", False)])


def run(media: Path, scenario) -> None:
    """Run `scenario(client)` against a fresh range server on `media`."""

    async def main() -> None:
        async with TestClient(TestServer(make_app(media, catalog()))) as client:
            await scenario(client)

    asyncio.run(main())


async def raw_get(client: TestClient, target: str) -> tuple[int, bytes]:
    """Send the request target verbatim (a client library would normalise '..' away)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_full_body_is_the_file(media):
    async def scenario(client):
        response = await client.get("/files/clip.mp4")
        assert response.status == 200
        assert await response.read() == DATA
        assert response.headers["Content-Length"] == str(N)
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert "Content-Range" not in response.headers
    run(media, scenario)


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-1023", 0, 1023),
    ("bytes=1000-300000", 1000, 300000),        # crosses reader chunks
    (f"bytes={N - 10}-", N - 10, N - 1),
    ("bytes=-4096", N - 4096, N - 1),
    (f"bytes=5-{N * 2}", 5, N - 1),              # clamped end
    (f"bytes={N - 1}-{N - 1}", N - 1, N - 1),
])
def test_partial_content(media, header, start, end):
    async def scenario(client):
        response = await client.get("/files/clip.mp4", headers={"Range": header})
        assert response.status == 206
        body = await response.read()
        assert body == DATA[start:end + 1]
        h = response.headers
        assert h["Content-Range"] == f"bytes {start}-{end}/{N}"
        assert h["Content-Length"] == str(end - start + 1)
        assert h["Accept-Ranges"] == "bytes"
        assert h["ETag"].startswith('"') and h["ETag"].endswith('"') and len(h["ETag"]) > 2
        assert h["Access-Control-Allow-Origin"] == "*"
        exposed = {x.strip() for x in h["Access-Control-Expose-Headers"].split(",")}
        assert {"Content-Range", "Content-Length", "Accept-Ranges", "ETag"} <= exposed
    run(media, scenario)


def test_validators_are_stable_and_last_modified_is_the_mtime(media):
    async def scenario(client):
        first = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-0"})
        second = await client.head("/files/clip.mp4")
        assert first.headers["ETag"] == second.headers["ETag"]
        assert parsedate_to_datetime(first.headers["Last-Modified"]) == datetime.fromtimestamp(MTIME, timezone.utc)
        os.utime(media / "clip.mp4", (MTIME + 60, MTIME + 60))
        third = await client.head("/files/clip.mp4")
        assert third.headers["ETag"] != first.headers["ETag"]     # a changed file gets a new validator
    run(media, scenario)


def test_head_has_headers_and_no_body(media):
    async def scenario(client):
        response = await client.head("/files/clip.mp4")
        assert response.status == 200
        assert response.headers["Content-Length"] == str(N)
        assert response.headers["Accept-Ranges"] == "bytes"
        assert "ETag" in response.headers
        assert await response.read() == b""
        partial = await client.head("/files/clip.mp4", headers={"Range": "bytes=10-19"})
        assert partial.status == 206
        assert partial.headers["Content-Range"] == f"bytes 10-19/{N}"
        assert partial.headers["Content-Length"] == "10"
        assert await partial.read() == b""
    run(media, scenario)


def test_head_answer_is_exactly_empty_on_the_wire(media):
    async def scenario(client):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"HEAD /files/clip.mp4 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        await writer.drain()
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert f"Content-Length: {N}".encode() in head
        assert body == b""
    run(media, scenario)


@pytest.mark.parametrize("header", [f"bytes={N}-", f"bytes={N + 5}-{N + 10}", "bytes=-0", "bytes=abc-def", "bytes=5-1"])
def test_unsatisfiable_is_416_with_the_length(media, header):
    async def scenario(client):
        response = await client.get("/files/clip.mp4", headers={"Range": header})
        assert response.status == 416
        assert response.headers["Content-Range"] == f"bytes */{N}"
        body = json.loads(await response.read())
        assert body["length"] == N and body["error"]
    run(media, scenario)


def test_if_range_with_the_current_etag_gives_the_range(media):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=100-199", "If-Range": etag})
        assert response.status == 206
        assert await response.read() == DATA[100:200]
    run(media, scenario)


@pytest.mark.parametrize("if_range", ['"stale-etag"', "W/{etag}", "not a date"])
def test_if_range_mismatch_gives_the_whole_file(media, if_range):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4",
                                    headers={"Range": "bytes=100-199", "If-Range": if_range.format(etag=etag)})
        assert response.status == 200
        assert "Content-Range" not in response.headers
        assert await response.read() == DATA
    run(media, scenario)


def test_if_range_dates(media):
    last_modified = datetime.fromtimestamp(MTIME, timezone.utc)

    async def scenario(client):
        same = format_datetime(last_modified, usegmt=True)
        older = format_datetime(last_modified - timedelta(hours=1), usegmt=True)
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-9", "If-Range": same})
        assert response.status == 206 and await response.read() == DATA[:10]
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-9", "If-Range": older})
        assert response.status == 200 and await response.read() == DATA
    run(media, scenario)


def test_if_range_date_later_than_last_modified_is_not_a_match(media):
    async def scenario(client):
        later = format_datetime(datetime.fromtimestamp(MTIME + 3600, timezone.utc), usegmt=True)
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-9", "If-Range": later})
        assert response.status == 200
    run(media, scenario)


def test_options_preflight(media):
    async def scenario(client):
        response = await client.options("/files/clip.mp4", headers={
            "Origin": "http://player.test", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range"})
        assert response.status == 204
        h = response.headers
        assert h["Access-Control-Allow-Origin"] == "*"
        assert "GET" in h["Access-Control-Allow-Methods"] and "HEAD" in h["Access-Control-Allow-Methods"]
        assert "Range" in h["Access-Control-Allow-Headers"]
        assert await response.read() == b""
    run(media, scenario)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_methods_other_than_get_head_options_are_405(media, method):
    async def scenario(client):
        response = await client.request(method, "/files/clip.mp4")
        assert response.status == 405
        assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
        assert await response.read() != DATA

    run(media, scenario)


@pytest.mark.parametrize("target", [
    "/files/../secret.txt",
    "/files/..%2Fsecret.txt",
    "/files/%2e%2e/secret.txt",
    "/files/sub/../../secret.txt",
    "/files/link.mp4",            # a symlink that leaves the media folder
    "/files/sub",                 # a directory
    "/files/missing.mp4",
])
def test_paths_outside_the_media_folder_are_404(media, target):
    async def scenario(client):
        status, body = await raw_get(client, target)
        assert status == 404
        assert b"outside the media folder" not in body
    run(media, scenario)


def test_nested_file_inside_the_media_folder_is_served(media):
    async def scenario(client):
        response = await client.get("/files/sub/notes.srt")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-subrip"
        assert await response.read() == (media / "sub" / "notes.srt").read_bytes()
    run(media, scenario)


def test_videos_route_serves_the_catalog_main_file(media):
    async def scenario(client):
        response = await client.get("/videos/test-clip", headers={"Range": "bytes=0-99"})
        assert response.status == 206 and await response.read() == DATA[:100]
        unknown = await client.get("/videos/nope")
        assert unknown.status == 404
        assert "test-clip" in (await unknown.json())["error"]       # lists what is known
        assert (await client.get("/videos/test-unseeded")).status == 404
        health = await client.get("/health")
        assert (await health.json())["videos"] == ["test-clip"]
    run(media, scenario)


@pytest.mark.parametrize(("path", "expected"), [
    ("movie.mp4", "video/mp4"),
    ("MOVIE.MP4", "video/mp4"),
    ("movie.m4v", "video/mp4"),
    ("movie.mkv", "video/x-matroska"),
    ("movie.webm", "video/webm"),
    ("dir/movie.mov", "video/quicktime"),
    ("subs.srt", "application/x-subrip"),
    ("blob.unknownext", "application/octet-stream"),
    ("no_extension", "application/octet-stream"),
    ("dir.v2/no_extension", "application/octet-stream"),
])
def test_content_type(path, expected):
    assert http_media.content_type(path) == expected


def test_is_video():
    assert http_media.is_video("a/b/Movie.MKV")
    assert not http_media.is_video("a/b/movie.srt")
    assert not http_media.is_video("mp4")
