"""infra.swarm.preconditions (RFC 9110 §13.1.1-§13.1.4, order of §13.2.2), alone and through
the range server's app (the same `infra.swarm.http_media` the reference backend answers with)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.swarm.preconditions import NotModified, PreconditionFailed, entity_tags, evaluate, http_date
from infra.swarm.range_server.__main__ import make_app

ETAG = '"v1"'
MODIFIED = datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=timezone.utc)   # .5 s: compared at whole seconds
AT = "Tue, 14 Nov 2023 22:13:20 GMT"          # Last-Modified as sent
BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"
AFTER = "Tue, 14 Nov 2023 22:13:21 GMT"


def outcome(method: str = "GET", **headers: str):
    return evaluate(method, {k.replace("_", "-"): v for k, v in headers.items()}, ETAG, MODIFIED)


@pytest.mark.parametrize("value, expected", [
    ("Sun, 06 Nov 1994 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)),     # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)),    # RFC 850
    ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)),          # asctime
    (" Sun, 06 Nov 1994 08:49:37 GMT ", datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)),
    ("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", None),    # a list is no date
    ("Sun, 06 Nov 1994 08:49:37 +0000", None),
    ("Sun, 31 Feb 1994 08:49:37 GMT", None),
    ("sun, 06 nov 1994 08:49:37 gmt", None),      # §5.6.7: case-sensitive
    ("yesterday", None), ("", None), ("1700000000", None),
])
def test_http_date(value, expected):
    assert http_date(value) == expected


def test_entity_tags():
    assert entity_tags('"a", W/"b",, "" ') == [(False, '"a"'), (True, '"b"'), (False, '""')]
    assert entity_tags('"a" "b"') is None and entity_tags("a") is None and entity_tags('"a\\"') == [(False, '"a\\"')]


@pytest.mark.parametrize("headers", [
    {"If_Match": ETAG}, {"If_Match": "*"}, {"If_Match": f'"other", {ETAG}'},
    {"If_Unmodified_Since": AT}, {"If_Unmodified_Since": AFTER},
    {"If_Match": ETAG, "If_Unmodified_Since": BEFORE},                 # §13.1.4: ignored beside If-Match
    {"If_Unmodified_Since": "not a date"}, {"If_Unmodified_Since": f"{BEFORE}, {BEFORE}"},
    {"If_None_Match": '"other"'}, {"If_None_Match": 'W/"other", "x"'},
    {"If_Modified_Since": BEFORE}, {"If_Modified_Since": "not a date"},
    {"If_Modified_Since": f"{AT}, {AT}"},                               # more than one member: ignored
    {"If_None_Match": '"other"', "If_Modified_Since": AFTER},          # §13.1.3: ignored beside If-None-Match
    {"If_None_Match": "garbage"},                                      # unparsable: matches nothing
])
def test_preconditions_that_let_the_request_go_on(headers):
    assert outcome(**headers) is None
    assert outcome("HEAD", **headers) is None


@pytest.mark.parametrize("headers", [
    {"If_Match": '"other"'}, {"If_Match": f"W/{ETAG}"},              # §8.8.3.2: strong comparison
    {"If_Match": "garbage"}, {"If_Match": ""},
    {"If_Unmodified_Since": BEFORE},
    {"If_Match": '"other"', "If_None_Match": ETAG},                   # step 1 comes before step 3
])
def test_preconditions_that_fail_are_412(headers):
    assert isinstance(outcome(**headers), PreconditionFailed)
    assert isinstance(outcome("HEAD", **headers), PreconditionFailed)


@pytest.mark.parametrize("headers", [
    {"If_None_Match": ETAG}, {"If_None_Match": f"W/{ETAG}"},          # §8.8.3.2: weak comparison
    {"If_None_Match": "*"}, {"If_None_Match": f'"a", W/"b", {ETAG}'},
    {"If_Modified_Since": AT}, {"If_Modified_Since": AFTER},
    {"If_None_Match": ETAG, "If_Modified_Since": BEFORE},             # If-Modified-Since ignored
    {"If_Match": ETAG, "If_None_Match": ETAG},
])
def test_current_validators_are_304(headers):
    assert isinstance(outcome(**headers), NotModified)
    assert isinstance(outcome("HEAD", **headers), NotModified)


def test_if_modified_since_is_ignored_on_other_methods():
    assert outcome("OPTIONS", If_Modified_Since=AT) is None


# --- through http_media: status, headers, no body ------------------------------------------------

DATA = bytes(range(256)) * 400
MTIME = 1_700_000_000


@pytest.fixture
def media(tmp_path: Path) -> Path:
    (tmp_path / "clip.mp4").write_bytes(DATA)
    os.utime(tmp_path / "clip.mp4", (MTIME, MTIME))
    return tmp_path


def run(media: Path, scenario) -> None:
    async def main() -> None:
        async with TestClient(TestServer(make_app(media, None))) as client:
            await scenario(client)
    asyncio.run(main())


async def raw(client: TestClient, method: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    """The head and body exactly as on the wire (a client library hides a 304's body)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    fields = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"{method} /files/clip.mp4 HTTP/1.1\r\nHost: test\r\n{fields}Connection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("extra", [{}, {"Range": "bytes=0-9"}, {"Range": "bytes=0-1,5-9"}])
def test_a_current_etag_is_304_without_a_body_with_its_validators(media, method, extra):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        head, body = await raw(client, method, {"If-None-Match": etag, **extra})
        lines = head.decode("latin-1").split("\r\n")
        fields = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:]}
        assert lines[0].split()[1] == "304" and body == b""
        assert fields["etag"] == etag and "last-modified" in fields     # §15.4.5 MUST send ETag
        assert "content-range" not in fields and "content-type" not in fields
        assert fields.get("content-length", str(len(DATA))) == str(len(DATA))   # §8.6: only the 200's, if any
    run(media, scenario)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_stale_if_match_is_412_even_with_a_range(media, method):
    async def scenario(client):
        response = await client.request(method, "/files/clip.mp4",
                                         headers={"If-Match": '"stale"', "Range": "bytes=0-9"})
        assert response.status == 412 and "Content-Range" not in response.headers
        if method == "GET":
            assert json.loads(await response.read())["error"] == "precondition failed"
    run(media, scenario)


def test_a_current_if_match_serves_the_range(media):
    async def scenario(client):
        etag = (await client.head("/files/clip.mp4")).headers["ETag"]
        response = await client.get("/files/clip.mp4", headers={"If-Match": etag, "Range": "bytes=10-19"})
        assert response.status == 206 and await response.read() == DATA[10:20]
    run(media, scenario)


def test_preconditions_on_a_missing_file_are_404(media):
    """§13.2.1: an answer that would not be 2xx without the preconditions ignores them."""
    async def scenario(client):
        response = await client.get("/files/nothing.mp4", headers={"If-Match": '"x"', "If-None-Match": "*"})
        assert response.status == 404
    run(media, scenario)


@pytest.mark.parametrize("range_header", ["bytes=10-19", f"bytes={len(DATA)}-", "bytes=abc", "bytes=0-1,5-9"])
def test_head_with_a_range_is_the_whole_answer(media, range_header):
    async def scenario(client):
        response = await client.head("/files/clip.mp4", headers={"Range": range_header})
        assert response.status == 200 and response.headers["Content-Length"] == str(len(DATA))
        assert "Content-Range" not in response.headers
    run(media, scenario)
