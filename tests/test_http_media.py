"""infra.swarm.http_media through the range server's app (infra.swarm.range_server.__main__.make_app)."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import os
import random
import time
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.swarm import http_media, ranges
from infra.swarm.catalog import Catalog
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
    """A catalog of two entries. The range server reads only name, info_hash, main_file and
    seeded of an entry, so these are plain records: the test does not depend on how a
    CatalogEntry is built from a torrent (another module's business)."""
    def entry(name: str, seeded: bool) -> SimpleNamespace:
        return SimpleNamespace(name=name, info_hash=("a" if seeded else "b") * 40, main_file="clip.mp4", seeded=seeded)
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


@pytest.mark.parametrize("if_range", ["{etag}", "Tue, 14 Nov 2023 22:13:20 GMT"])   # the ETag, MTIME
def test_if_range_with_the_current_validator_gives_the_range(media, if_range):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=100-199",
                                                                 "If-Range": if_range.format(etag=etag)})
        assert response.status == 206
        assert await response.read() == DATA[100:200]
    run(media, scenario)


@pytest.mark.parametrize("if_range", [
    '"stale-etag"', "W/{etag}", "w/{etag}", "{unquoted}", "{etag}, {etag}", "not a date", "",
    "Tuesday, 14-Nov-23 22:13:20 GMT",      # Last-Modified in RFC 850 form: not the field value we sent
    "Tue Nov 14 22:13:20 2023",             # ... in asctime form
    "Tue, 14 Nov 2023 22:13:20 +0000",      # ... with a numeric zone: not an HTTP-date
    "tue, 14 nov 2023 22:13:20 gmt",        # HTTP-date is case-sensitive
    "Tue, 14 Nov 2023 21:13:20 GMT",        # an hour before Last-Modified
    "Tue, 14 Nov 2023 23:13:20 GMT",        # an hour after
])
def test_if_range_mismatch_gives_the_whole_file(media, if_range):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4",
                                    headers={"Range": "bytes=100-199",
                                             "If-Range": if_range.format(etag=etag, unquoted=etag.strip('"'))})
        assert response.status == 200
        assert "Content-Range" not in response.headers
        assert await response.read() == DATA
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


# --- several ranges: RFC 9110 §14.6 multipart/byteranges, byte for byte ---------------------

def multipart(boundary: str, spans: list[tuple[int, int]]) -> bytes:
    """The body RFC 9110 §14.6 prescribes for these spans of DATA, built independently."""
    body = b"".join(b"--%s\r\nContent-Type: video/mp4\r\nContent-Range: bytes %d-%d/%d\r\n\r\n%s\r\n"
                    % (boundary.encode(), a, b, N, DATA[a:b + 1]) for a, b in spans)
    return body + b"--%s--\r\n" % boundary.encode()


@pytest.mark.parametrize(("header", "spans"), [
    ("bytes=0-1,4-5", [(0, 1), (4, 5)]),
    ("bytes=0-1,,4-5", [(0, 1), (4, 5)]),
    ("bytes=500-599,0-99", [(500, 599), (0, 99)]),                                 # the client's order
    (f"bytes=-100,{N}-,10-{CHUNK + 9},{CHUNK * 3}-{CHUNK * 3 + 5}", [(N - 100, N - 1), (10, CHUNK + 9),
                                                                      (CHUNK * 3, CHUNK * 3 + 5)]),
])
def test_several_ranges_are_one_multipart_body(media, header, spans):
    async def scenario(client):
        response = await client.get("/files/clip.mp4", headers={"Range": header})
        body, h = await response.read(), response.headers
        assert response.status == 206
        media_type, _, boundary = h["Content-Type"].partition("; boundary=")
        assert media_type == "multipart/byteranges" and 24 <= len(boundary) <= 70
        assert boundary.encode() not in DATA
        assert body == multipart(boundary, spans)
        assert h["Content-Length"] == str(len(body))
        assert "Content-Range" not in h                   # only in the parts (§15.3.7.2)
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + h["Content-Type"].encode() + b"\r\n\r\n" + body)
        assert not parsed.defects
        parts = [(p["Content-Type"], p["Content-Range"], p.get_payload(decode=True)) for p in parsed.iter_parts()]
        assert parts == [("video/mp4", f"bytes {a}-{b}/{N}", DATA[a:b + 1]) for a, b in spans]
    run(media, scenario)


@pytest.mark.parametrize(("header", "start", "end"), [
    (f"bytes={N}-,0-1", 0, 1),          # 416 only when no range is satisfiable (§15.5.17)
    ("bytes=,0-1", 0, 1),
    ("bytes=0-5,3-9", 0, 9),            # coalesced: one range is never multipart (§15.3.7)
    ("bytes=0-1,2-3", 0, 3),
])
def test_one_range_left_is_a_single_part(media, header, start, end):
    async def scenario(client):
        response = await client.get("/files/clip.mp4", headers={"Range": header})
        assert response.status == 206 and response.headers["Content-Type"] == "video/mp4"
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/{N}"
        assert await response.read() == DATA[start:end + 1]
    run(media, scenario)


def test_too_many_ranges_or_none_satisfiable(media):
    async def scenario(client):
        many = "bytes=" + ",".join(f"{10 * i}-{10 * i}" for i in range(ranges.MAX_PARTS + 1))
        response = await client.get("/files/clip.mp4", headers={"Range": many})
        assert response.status == 200 and await response.read() == DATA
        response = await client.get("/files/clip.mp4", headers={"Range": f"bytes={N}-,-0,{N + 9}-{N + 99}"})
        assert response.status == 416 and response.headers["Content-Range"] == f"bytes */{N}"
    run(media, scenario)


def test_boundary_is_stable_per_request_and_differs_between_range_sets(media):
    async def scenario(client):
        async def boundary(header: str) -> str:
            return (await client.get("/files/clip.mp4", headers={"Range": header})).headers["Content-Type"]
        assert await boundary("bytes=0-1,4-5") == await boundary("bytes=0-1,4-5")
        assert await boundary("bytes=0-1,4-5") != await boundary("bytes=0-1,4-6")
    run(media, scenario)


@pytest.mark.parametrize("headers", [
    {}, {"Range": "bytes=0-1"}, {"Range": "bytes=0-1,4-5"}, {"Range": "bytes=-10,0-1,5-"},
    {"Range": f"bytes={N}-"}, {"Range": "bytes=abc"}, {"Range": "items=0-1"},
    {"Range": "bytes=0-1,4-5", "If-Range": '"stale"'},
])
def test_head_has_exactly_the_headers_of_get_without_its_range(media, headers):
    """RFC 9110 §14.2: a server MUST ignore Range on a method that defines no range handling,
    and only GET defines it; §9.3.2: HEAD sends the fields GET would (Range ignored)."""
    async def scenario(client):
        plain = {k: v for k, v in headers.items() if k not in ("Range", "If-Range")}
        get = await client.get("/files/clip.mp4", headers=plain)
        body = await get.read()
        head = await client.head("/files/clip.mp4", headers=headers)
        assert head.status == get.status == 200
        assert {k: v for k, v in head.headers.items() if k != "Date"} == \
               {k: v for k, v in get.headers.items() if k != "Date"}
        assert await head.read() == b"" and int(get.headers["Content-Length"]) == len(body)
    run(media, scenario)


# --- If-Range (RFC 9110 §13.1.5) -------------------------------------------------------------

def test_if_range_with_the_current_etag_keeps_several_ranges(media):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-1,4-5", "If-Range": etag})
        assert response.status == 206 and response.headers["Content-Type"].startswith("multipart/byteranges")
        malformed = await client.get("/files/clip.mp4", headers={"Range": "bytes=x", "If-Range": etag})
        assert malformed.status == 416
        stale = await client.get("/files/clip.mp4", headers={"Range": "bytes=x", "If-Range": '"stale"'})
        assert stale.status == 200                  # a stale validator: the Range is ignored, malformed or not
        alone = await client.get("/files/clip.mp4", headers={"If-Range": '"stale"'})
        assert alone.status == 200 and await alone.read() == DATA   # If-Range without Range: ignored
    run(media, scenario)


def test_if_range_date_whose_second_is_not_over_is_weak(media):
    """A Last-Modified in this second (here: later, as with a clock step) may still change
    within it (§8.8.2.2), so the server does not trust it: the whole file, 200."""
    later = int(time.time()) + 30
    os.utime(media / "clip.mp4", (later, later))

    async def scenario(client):
        last_modified = (await client.head("/files/clip.mp4")).headers["Last-Modified"]
        assert parsedate_to_datetime(last_modified).timestamp() == later
        response = await client.get("/files/clip.mp4", headers={"Range": "bytes=0-9", "If-Range": last_modified})
        assert response.status == 200 and await response.read() == DATA
    run(media, scenario)


# --- CORS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/files/clip.mp4", "/videos/test-clip"])
def test_preflight_for_range_and_authorization(media, path):
    async def scenario(client):
        response = await client.options(path, headers={
            "Origin": "http://player.test", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range, authorization"})
        assert response.status == 204 and await response.read() == b""
        h = response.headers
        assert h["Access-Control-Allow-Origin"] == "*" and "Access-Control-Allow-Credentials" not in h
        allowed = {x.strip().lower() for x in h["Access-Control-Allow-Headers"].split(",")}
        assert {"range", "authorization", "if-range", "if-none-match", "if-match", "if-modified-since",
                "if-unmodified-since"} <= allowed   # a fetch-based player may revalidate cross-origin
        assert {"GET", "HEAD"} <= {x.strip() for x in h["Access-Control-Allow-Methods"].split(",")}
    run(media, scenario)


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-1"}, {"Range": "bytes=0-1,4-5"}, {"Range": f"bytes={N}-"}])
def test_cors_on_every_answer_and_never_a_wildcard_with_credentials(media, headers):
    async def scenario(client):
        for method in ("GET", "HEAD", "OPTIONS"):
            h = (await client.request(method, "/files/clip.mp4", headers=headers)).headers
            exposed = {x.strip().lower() for x in h["Access-Control-Expose-Headers"].split(",")}
            assert {"content-range", "content-length", "accept-ranges"} <= exposed
            assert not (h["Access-Control-Allow-Origin"] == "*" and
                        h.get("Access-Control-Allow-Credentials", "").lower() == "true")
    run(media, scenario)
