"""The reference backend's HTTP API, in-process: real Engine (no trackers, so no peers),
SQLite store and token issuer, under aiohttp's TestServer."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.backends.reference.app import Options, make_app, redact
from infra.backends.reference.auth import Credentials, TokenIssuer
from infra.backends.reference.engine import Engine
from infra.backends.reference.store import SourceStore

EMAIL, PASSWORD = "admin@swarmspec.test", "correct horse"
SECRET = b"s" * 32
STREAM_TIMEOUT = 0.5
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def magnet(info_hash: str, name: str = "x") -> str:
    return f"magnet:?xt=urn:btih:{info_hash}&dn={name}"


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


class Backend:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.sqlite = data_dir / "backend.sqlite"
        self.loop = asyncio.new_event_loop()
        self.tokens = TokenIssuer(SECRET, api_ttl=3600, stream_ttl=300)
        self.engine = Engine(data_dir, trackers=[], idle_timeout=300)
        app = make_app(self.engine, SourceStore(self.sqlite), self.tokens, Credentials(EMAIL, PASSWORD),
                       Options(stream_timeout=STREAM_TIMEOUT, metadata_timeout=STREAM_TIMEOUT))

        async def start() -> TestClient:
            client = TestClient(TestServer(app))
            await client.start_server()
            return client

        self.client = self.loop.run_until_complete(start())
        self.token = self.login().json()["token"]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"

        async def go() -> Reply:
            started = time.monotonic()
            async with self.client.request(method, path, headers=headers, **kwargs) as response:
                body = await response.read()
                return Reply(response.status, dict(response.headers), body, time.monotonic() - started)

        return self.loop.run_until_complete(go())

    def login(self, email=EMAIL, password=PASSWORD) -> Reply:
        return self.call("POST", "/api/auth/login", json={"email": email, "password": password})

    def add_source(self, info_hash: str, **extra) -> dict:
        reply = self.call("POST", "/api/sources", self.token, json={"magnetUri": magnet(info_hash), **extra})
        assert reply.status == 201, reply.body
        return reply.json()

    def stream_token(self, source_id: str) -> str:
        reply = self.call("POST", f"/api/sources/{source_id}/stream-token", self.token)
        assert reply.status == 201, reply.body
        return reply.json()["token"]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    backend = Backend(tmp_path_factory.mktemp("backend"))
    try:
        yield backend
    finally:
        backend.close()


def random_hash() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


# -- authentication ----------------------------------------------------------------------

def test_health_needs_no_token(backend):
    reply = backend.call("GET", "/health")
    assert reply.status == 200 and reply.json()["status"] == "healthy"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/sources/00000000-0000-0000-0000-000000000000"),
    ("POST", "/api/sources"),
    ("GET", "/api/torrents"),
    ("GET", f"/api/stream/{'a' * 40}"),
])
def test_api_needs_a_token(backend, method, path):
    reply = backend.call(method, path)
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in reply.json()


@pytest.mark.parametrize("bad", [
    "garbage",
    "a.b.c",
    TokenIssuer(b"another key" * 3, 3600, 300).api_token(EMAIL),
    TokenIssuer(SECRET, 3600, 300, clock=lambda: time.time() - 7200).api_token(EMAIL),   # expired
])
def test_bad_token_is_401(backend, bad):
    reply = backend.call("GET", "/api/torrents", bad)
    assert reply.status == 401
    assert "invalid token" in reply.json()["error"]


def test_login(backend):
    reply = backend.login()
    assert reply.status == 200
    body = reply.json()
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 3600
    assert backend.call("GET", "/api/torrents", body["token"]).status == 200
    assert backend.login(password="wrong").status == 401
    assert backend.login(email="root@x").status == 401
    assert backend.call("POST", "/api/auth/login", data=b"not json").status == 400
    assert backend.call("POST", "/api/auth/login", json=["list"]).status == 400


# -- sources -----------------------------------------------------------------------------

def test_create_and_get_source(backend):
    info_hash = random_hash()
    reply = backend.call("POST", "/api/sources", backend.token, json={
        "magnetUri": magnet(info_hash.upper()), "quality": "1080p", "resolution": "1920x1080",
        "size": 5071913, "videoCodec": "h264"})
    assert reply.status == 201
    created = reply.json()
    assert UUID.match(created["id"])
    assert created["infoHash"] == info_hash                     # normalised to lower case
    assert created["streamUrl"] == f"/api/stream/{created['id']}"
    assert (created["quality"], created["size"], created["videoCodec"]) == ("1080p", 5071913, "h264")
    got = backend.call("GET", f"/api/sources/{created['id']}", backend.token)
    assert got.status == 200 and got.json() == created
    missing = backend.call("GET", f"/api/sources/{uuid.uuid4()}", backend.token)
    assert missing.status == 404


@pytest.mark.parametrize("body", [
    {"magnetUri": "not a magnet"},
    {"magnetUri": "http://example.test/file.torrent"},
    {"magnetUri": "magnet:?dn=no-hash"},
    {"magnetUri": "magnet:?xt=urn:btih:zzzz"},
    {"magnetUri": "magnet:?xt=urn:btih:" + "a" * 39},
    {"magnetUri": "magnet:?xt=urn:btih:" + "0" * 40},
    {"magnetUri": 12345},
    {},
])
def test_invalid_magnet_is_400(backend, body):
    reply = backend.call("POST", "/api/sources", backend.token, json=body)
    assert reply.status == 400
    error = reply.json()
    assert error["field"] == "magnetUri"
    assert error["error"]


def test_v2_only_magnet_is_not_stored_under_a_zero_hash(backend):
    reply = backend.call("POST", "/api/sources", backend.token,
                         json={"magnetUri": "magnet:?xt=urn:btmh:1220" + "ab" * 32})
    assert reply.status == 400 or reply.json()["infoHash"] != "0" * 40


@pytest.mark.parametrize("size", [-1, "big", 1.5, True, [1], {"bytes": 1}, 2**63, 10**400])
def test_invalid_size_is_400(backend, size):
    reply = backend.call("POST", "/api/sources", backend.token, json={"magnetUri": magnet(random_hash()), "size": size})
    assert reply.status == 400 and reply.json()["field"] == "size"


@pytest.mark.parametrize("described, answered", [
    # the design's own shapes (Miauflix's MovieSource): numbers for resolution and size
    ({"quality": "FHD", "resolution": 1080, "size": 5242880, "videoCodec": "X264"},
     {"quality": "FHD", "resolution": 1080, "size": 5242880, "videoCodec": "X264"}),
    ({"resolution": 1920, "size": 5242880}, {"resolution": 1920, "size": 5242880, "quality": None}),
    ({"resolution": 1080.0, "size": 5.24288e6}, {"resolution": 1080, "size": 5242880}),   # whole JSON numbers
    ({"resolution": "1080p", "size": 0}, {"resolution": "1080p", "size": 0}),             # a label, as before
    ({"quality": None, "resolution": None, "size": None, "videoCodec": None},
     {"quality": None, "resolution": None, "size": None, "videoCodec": None}),
    ({}, {"resolution": None, "size": None}),
])
def test_the_design_shapes_are_accepted_and_answered_as_sent(backend, described, answered):
    body = {"magnetUri": magnet(random_hash()), **described}
    reply = backend.call("POST", "/api/sources", backend.token, json=body)
    assert reply.status == 201, reply.body
    created = reply.json()
    assert {k: created[k] for k in answered} == answered
    assert all(type(created[k]) is type(v) for k, v in answered.items())     # 1080 stays a number
    got = backend.call("GET", f"/api/sources/{created['id']}", backend.token)
    assert got.json() == created


@pytest.mark.parametrize("name, value", [
    ("resolution", 0), ("resolution", -1080), ("resolution", 65536), ("resolution", 1080.5),
    ("resolution", True), ("resolution", [1080]), ("resolution", {"height": 1080}), ("resolution", "\ud800"),
    ("quality", 1080), ("quality", ["FHD"]), ("videoCodec", {"name": "X264"}), ("videoCodec", False),
])
def test_malformed_descriptions_are_400_naming_the_field(backend, name, value):
    reply = backend.call("POST", "/api/sources", backend.token, json={"magnetUri": magnet(random_hash()), name: value})
    assert reply.status == 400 and reply.json()["field"] == name and reply.json()["error"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_400(backend, literal):
    """Python's JSON parser takes NaN and Infinity, which are not JSON: no count is either."""
    for name in ("size", "resolution"):
        data = b'{"magnetUri": "%s", "%s": %s}' % (magnet(random_hash()).encode(), name.encode(), literal)
        reply = backend.call("POST", "/api/sources", backend.token, data=data)
        assert reply.status == 400 and reply.json()["field"] == name


def test_body_must_be_a_json_object(backend):
    assert backend.call("POST", "/api/sources", backend.token, data=b"{oops").status == 400
    assert backend.call("POST", "/api/sources", backend.token, json=[magnet(random_hash())]).status == 400


def test_source_survives_a_new_store_on_the_same_file(backend):
    created = backend.add_source(random_hash(), quality="720p")
    store = SourceStore(backend.sqlite)
    try:
        again = store.get(created["id"])
        assert again is not None and again.to_json() == created
        assert store.by_info_hash(created["infoHash"]).id == created["id"]
        assert store.get(str(uuid.uuid4())) is None
    finally:
        store.close()


# -- streaming ---------------------------------------------------------------------------

def test_stream_of_an_unknown_hash_is_404_fast(backend):
    reply = backend.call("GET", f"/api/stream/{random_hash()}", backend.token)
    assert reply.status == 404
    assert reply.seconds < STREAM_TIMEOUT          # no waiting on the swarm
    assert backend.call("GET", f"/api/stream/{uuid.uuid4()}", backend.token).status == 404


@pytest.mark.parametrize("bad_id", ["not-an-id", "a" * 39, "a" * 41, "g" * 40, "12345"])
def test_stream_of_an_invalid_id_is_400(backend, bad_id):
    reply = backend.call("GET", f"/api/stream/{bad_id}", backend.token)
    assert reply.status == 400
    assert "invalid id" in reply.json()["error"]


def test_stream_token_opens_only_its_own_source(backend):
    a = backend.add_source(random_hash())
    b = backend.add_source(random_hash())
    token_a = backend.stream_token(a["id"])
    # another source, by id or by info hash
    assert backend.call("GET", f"/api/stream/{b['id']}", params={"token": token_a}).status == 403
    assert backend.call("GET", f"/api/stream/{b['infoHash']}", params={"token": token_a}).status == 403
    # no other /api route, neither as ?token= nor as a Bearer token
    assert backend.call("GET", f"/api/sources/{a['id']}", params={"token": token_a}).status == 401
    assert backend.call("GET", f"/api/sources/{a['id']}", token_a).status == 401
    assert backend.call("POST", f"/api/sources/{a['id']}/stream-token", token_a).status == 401
    assert backend.call("GET", "/api/torrents", token_a).status == 401
    # the API token is not a stream token either
    assert backend.call("GET", f"/api/stream/{a['id']}", params={"token": backend.token}).status == 401


def test_stream_token_is_accepted_for_its_source_then_504_without_peers(backend):
    a = backend.add_source(random_hash())
    token_a = backend.stream_token(a["id"])
    reply = backend.call("GET", f"/api/stream/{a['id']}", params={"token": token_a}, headers={"Range": "bytes=0-1"})
    assert reply.status == 504                     # authorised; the swarm has nobody for it
    assert STREAM_TIMEOUT * 0.8 <= reply.seconds < STREAM_TIMEOUT + 2
    assert "metadata" in reply.json()["error"]
    by_hash = backend.call("GET", f"/api/stream/{a['infoHash']}", params={"token": token_a})
    assert by_hash.status == 504
    listed = backend.call("GET", "/api/torrents", backend.token).json()
    mine = [t for t in listed if t["infoHash"] == a["infoHash"]]
    assert len(mine) == 1 and mine[0]["hasMetadata"] is False


def test_stream_preflight_needs_no_token(backend):
    reply = backend.call("OPTIONS", f"/api/stream/{'a' * 40}")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Range" in reply.headers["Access-Control-Allow-Headers"]


# -- access log --------------------------------------------------------------------------

@pytest.mark.parametrize(("path_qs", "expected"), [
    ("/api/stream/x?token=abc.def.ghi", "/api/stream/x?token=REDACTED"),
    ("/api/stream/x?token=abc&foo=1", "/api/stream/x?token=REDACTED&foo=1"),
    ("/api/stream/x?foo=1&TOKEN=abc", "/api/stream/x?foo=1&TOKEN=REDACTED"),
    ("/x?access_token=a&jwt=b", "/x?access_token=REDACTED&jwt=REDACTED"),
    ("/x?mytoken=keep&token_type=keep", "/x?mytoken=keep&token_type=keep"),
    ("/api/sources", "/api/sources"),
    ("/x?%74oken=abc", "/x?token=REDACTED"),
])
def test_redact(path_qs, expected):
    from yarl import URL

    assert redact(URL(path_qs)) == expected


def test_access_log_line_redacts_the_stream_token(backend, caplog):
    a = backend.add_source(random_hash())
    token_a = backend.stream_token(a["id"])
    b = backend.add_source(random_hash())
    with caplog.at_level(logging.INFO, logger="backend.access"):
        reply = backend.call("GET", f"/api/stream/{b['id']}", params={"token": token_a}, headers={"Range": "bytes=0-9"})
    assert reply.status == 403
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "backend.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["path"] == f"/api/stream/{b['id']}?token=REDACTED"
    assert line["status"] == 403 and line["method"] == "GET" and line["range"] == "bytes=0-9"
    assert token_a not in caplog.text


def test_access_log_redacts_a_percent_encoded_token_name(backend, caplog):
    from yarl import URL

    a = backend.add_source(random_hash())
    token_a = backend.stream_token(a["id"])
    with caplog.at_level(logging.INFO, logger="backend.access"):
        reply = backend.call("GET", URL(f"/api/stream/{a['infoHash']}?%74oken={token_a}", encoded=True),
                             headers={"Range": "bytes=0-1"})
    assert reply.status == 504          # the token was accepted: authorised, then no peers
    assert token_a not in caplog.text


def test_a_first_version_store_keeps_its_sources_and_then_keeps_numbers(tmp_path):
    """The first version declared resolution TEXT (1080 would come back as '1080')."""
    import sqlite3
    path = tmp_path / "backend.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sources (id TEXT PRIMARY KEY, magnet TEXT NOT NULL, info_hash TEXT NOT NULL,"
                   " quality TEXT, resolution TEXT, size INTEGER, video_codec TEXT, created_at REAL NOT NULL)")
        db.execute("INSERT INTO sources VALUES ('old', 'magnet:?xt=urn:btih:x', 'x', '1080p', '1920x1080', 5, 'h264', 1.0)")
    db.close()
    store = SourceStore(path)
    assert store.get("old").resolution == "1920x1080" and store.get("old").size == 5
    new = store.add("magnet:?xt=urn:btih:y", "y", "FHD", 1080, 5242880, "X264")
    store.close()
    assert SourceStore(path).get(new.id).resolution == 1080


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/nothing", 404), ("GET", "/nothing", 404), ("DELETE", "/api/sources", 405),
    ("PUT", "/api/stream/" + "a" * 40, 405), ("GET", f"/api/sources/{uuid.uuid4()}", 404),
    ("POST", "/api/sources", 400),
])
def test_every_error_is_json_with_an_error_message(backend, method, path, status):
    """The design answers its errors as {"error": ...}; aiohttp's own 404/405 would be text."""
    reply = backend.call(method, path, backend.token, **({"data": b"{oops"} if method == "POST" else {}))
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json") and reply.json()["error"]
    if status == 405:
        assert reply.headers["Allow"]            # the methods it does take, kept from aiohttp
