"""Declarative targets: target files are checked when loaded, templates and conditions
run no code, flows capture from JSON, headers and cookies, repeat until ready within a
deadline (on a fake clock), and the shipped files declare what they claim."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from infra.ecosystem.clock import FakeClock
from infra.suite.http import Client
from infra.suite.library import VideoRef
from infra.suite.targets import (SHIPPED, DeclarativeTarget, RangeServerTarget, ReferenceTarget, TargetError,
                                 TargetFileError, Unimplemented, declarative, load, make_target, urls_of)
from infra.suite.targets.templates import Condition, TemplateError, render, render_value

README = Path(__file__).resolve().parents[1] / "infra" / "suite" / "targets" / "README.md"
CREDENTIALS = {"email": "admin@example.org", "password": "s3cret"}
HASH = "ab" * 20


class Video:
    """What a target reads of a `VideoRef`."""

    name, magnet, info_hash, size = "test-small-720p", f"magnet:?xt=urn:btih:{HASH}", HASH, 1234


VIDEO: VideoRef = Video()  # type: ignore[assignment]


# -- a small backend like the one in the README example -----------------------------------

class CatalogApp(BaseHTTPRequestHandler):
    """Login: session id in the body, token in an HttpOnly cookie; a stream POST answers
    404 until its job is ready (after `server.ready_after` calls), then a key."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        state = self.server.state
        return (f"access_token=tok{state['logins']}" in (self.headers.get("Cookie") or "")
                and self.headers.get("X-Session-Id") == f"s{state['logins']}")

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        state["bodies"].append(body)
        if self.path == "/api/auth/login":
            if body != {"email": CREDENTIALS["email"], "password": CREDENTIALS["password"]}:
                return self._send(401, {"error": "bad credentials"})
            state["logins"] += 1
            n = state["logins"]
            return self._send(200, {"sessionId": f"s{n}"}, {"Set-Cookie": f"access_token=tok{n}; HttpOnly; Path=/",
                                                            "X-Session": f"s{n}"})
        match = re.fullmatch(r"/api/catalog/(\w+)/stream", self.path)
        if match and body.get("magnet"):
            if not self._authorised():
                return self._send(401, {"error": "no session"})
            state["polls"] += 1
            if state["polls"] < state["ready_after"]:
                return self._send(404, {"error": "not ready"})
            return self._send(200, {"data": {"key": f"k-{match.group(1)}"}})
        self._send(404, {"error": "no route"})

    def do_GET(self) -> None:
        if self.path == "/api/torrents":
            return self._send(200, [{"infoHash": HASH}] if self._authorised() else {"error": "no session"})
        self._send(200, {"path": self.path, "cookie": self.headers.get("Cookie")})


@pytest.fixture
def app():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CatalogApp)
    server.state = {"logins": 0, "polls": 0, "ready_after": 3, "bodies": []}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def client():
    client = Client()
    yield client
    client.close()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def readme_example() -> str:
    return re.search(r"```toml\n(.*?)```", README.read_text(), re.S).group(1)


def target_of(text: str, server: ThreadingHTTPServer, tmp_path: Path, clock: FakeClock | None = None) -> DeclarativeTarget:
    path = tmp_path / "target.toml"
    path.write_text(text)
    return make_target(str(path), {}, CREDENTIALS, base_url=url_of(server), clock=clock or FakeClock())


def spec_error(text: str) -> str:
    with pytest.raises(TargetFileError) as caught:
        declarative.parse(tomllib.loads(text), "my.toml")
    return str(caught.value)


MINIMAL = 'name = "t"\nbase_url = "http://x"\ncapabilities = ["playback"]\n[stream]\nurl = "{base}/v/{name}"\n'


# -- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("colour = 1\n" + MINIMAL, r"my.toml: \(top level\): unknown key\(s\) colour"),
    ('name = "t"\nbase_url = "http://x"\n', r"my.toml: stream: is required"),
    (MINIMAL.replace('base_url = "http://x"', 'service = "backend"\nbase_url = "http://x"'), r"my.toml: service: give exactly one"),
    (MINIMAL.replace('"playback"', '"playback", "sources"'),
     r"my.toml: capabilities: 'sources' needs \[operations.create_source\]; \[operations.get_source\]; \[stream\].key"),
    (MINIMAL.replace('"playback"', '"auth"'), r"'auth' needs a \[login\] flow that captures `token`"),
    (MINIMAL.replace('"playback"', '"teleport"'), r"capabilities: unknown teleport"),
    (MINIMAL.replace("{name}", "{nmae}"), r"stream.url: \{nmae\} in .* is not a variable here"),
    (MINIMAL.replace("{name}", "{name.__class__}"), r"stream.url: \{name.__class__\} .* is not a variable here"),
    (MINIMAL.replace("{name}", "{name[0]}"), r"stream.url: .* is not a variable name"),
    (MINIMAL.replace("{name}", "{name!r}"), r"stream.url: .* is not a variable name"),
    (MINIMAL + '[[stream.steps]]\npath = "/x/{token}"\n', r"stream.steps\[1\].path: \{token\} .* is not a variable here"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\nurl = "http://y"\n', r"stream.steps\[1\]: give exactly one of `path`"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\ncapture = {k = "body:/x"}\n', r"capture.k: 'body:/x' is not a capture"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\ncapture = {base = "json:/x"}\n', r"capture.base: not a usable name"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\nrepeat = {until = "status == 200", every = 1}\n',
     r"repeat: needs `deadline`"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\nrepeat = {until = "__import__(\'os\')", deadline = 5}\n',
     r"repeat.until: condition .* is not allowed"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\nrepeat = {until = "state == 1", deadline = 5}\n',
     r"repeat.until: state not known here"),
    (MINIMAL + '[[stream.steps]]\npath = "/x"\nexpect = ["ok"]\n', r"expect: statuses are integers"),
    (MINIMAL.replace("[stream]\n", '[stream]\ncredentials = "query"\n'), r"stream.query: credentials = \"query\" needs"),
    (MINIMAL.replace("[stream]\n", '[stream]\ncredentials = "header"\n'), r"stream.headers: credentials = \"header\" needs"),
    (MINIMAL + "[operations.stream_token]\n", r"operations.stream_token.result: is required"),
    (MINIMAL + "[operations.metadata]\n", r"operations.metadata.steps: needs at least one request"),
    (MINIMAL.replace('name = "t"', 'name = "t"\ndefault_contract = "lenient"'), r"default_contract: 'lenient' is not one of"),
])
def test_a_target_file_error_names_the_file_the_key_and_what_is_wrong(text, expected):
    assert re.search(expected, spec_error(text)), spec_error(text)


def test_a_file_that_is_not_toml_or_not_there_says_which_file(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(TargetFileError, match=r"broken.toml: not valid TOML"):
        load(broken)
    with pytest.raises(TargetFileError, match=r"absent.toml: no such target file"):
        load(tmp_path / "absent.toml")


# -- templates and conditions -------------------------------------------------------------

def test_templates_render_names_only():
    names = {"base": "http://h", "credentials.email": "a@b", "n": 3, "none": None}
    assert render("{base}/x/{n}?e={credentials.email}&z={none}{{lit}}", names) == "http://h/x/3?e=a@b&z={lit}"
    with pytest.raises(TemplateError, match=r"unknown variable \{missing\}.*known here: base"):
        render("{missing}", names)


def test_a_body_keeps_types_and_leaves_out_absent_optional_members():
    body = {"magnetUri": "{m}", "size": "{n}", "label": "n={n}", "expiresIn": "{lifetime}", "list": ["{n}", 1]}
    names = {"m": "magnet:?x", "n": 7, "lifetime": None}
    assert render_value(body, names, optional={"lifetime"}) == {
        "magnetUri": "magnet:?x", "size": 7, "label": "n=7", "list": [7, 1]}
    assert render_value(body, {**names, "lifetime": 1}, optional={"lifetime"})["expiresIn"] == 1


@pytest.mark.parametrize("text, names, holds", [
    ("status == 200", {"status": 200}, True),
    ("status in [200, 201]", {"status": 201}, True),
    ("status not in [200, 201] and state != 'ready'", {"status": 404, "state": None}, True),
    ("status >= 500 or not key", {"status": 200, "key": "k"}, False),
    ("count > 2", {"count": None}, False),          # a value not in this answer compares false
])
def test_conditions(text, names, holds):
    assert Condition.parse(text).holds(names) is holds


@pytest.mark.parametrize("text", ["open('x')", "status.real == 1", "[x for x in y]", "status ==", "a if b else c"])
def test_conditions_run_no_code(text):
    with pytest.raises(TemplateError):
        Condition.parse(text)


# -- flows against a local server ---------------------------------------------------------

def test_the_readme_example_logs_in_with_cookies_and_waits_for_the_job(app, client, tmp_path):
    clock = FakeClock()
    target = target_of(readme_example(), app, tmp_path, clock)
    url = target.stream_url(client, VIDEO)
    assert url == f"{url_of(app)}/media/k-{HASH}"
    assert app.state["polls"] == 3 and clock.slept == [2, 2]     # 404, 404, then 200: two waits of `every`
    assert target.source_id(client, VIDEO) == f"k-{HASH}"
    assert target.stream_url(client, VIDEO) == url and app.state["polls"] == 3   # cache = "per-video"
    assert target.auth_headers(client) == {}                     # credentials = "none"
    assert target.stream_url_for("other") == f"{url_of(app)}/media/other"
    assert [e.status for e in client.exchanges] == [200, 404, 404, 200]          # every request recorded
    assert app.state["bodies"][1] == {"magnet": VIDEO.magnet}
    assert "tok1" not in client.session.cookies.get_dict().values()   # the target's jar, not the scenario's


def test_a_repeat_that_never_holds_fails_at_its_deadline_with_the_last_answer(app, client, tmp_path):
    app.state["ready_after"] = 10 ** 6
    clock = FakeClock()
    target = target_of(readme_example().replace("deadline = 300", "deadline = 7"), app, tmp_path, clock)
    with pytest.raises(TargetError, match=r"stream step 1 .*until status == 200.*not ready after 7s[\s\S]*404"):
        target.stream_url(client, VIDEO)
    assert sum(clock.slept) >= 7 and app.state["polls"] == len(clock.slept) + 1


def test_an_unexpected_status_stops_a_repeat_at_once(app, client, tmp_path):
    text = readme_example().replace('"X-Session-Id" = "{session}"', '"X-Session-Id" = "wrong"')
    target = target_of(text, app, tmp_path)
    with pytest.raises(TargetError, match=r"catalog-app.*stream step 1.*answered 401 \(expected 200, 404\)"):
        target.stream_url(client, VIDEO)
    assert target.clock.slept == []


def test_captures_from_json_header_and_cookie_and_a_login_again_after_its_ttl(app, client, tmp_path):
    text = MINIMAL.replace('base_url = "http://x"', 'base_url = "http://x"\n') + """
[login]
ttl = 100
renew_before = 10
[[login.steps]]
method = "POST"
path = "/api/auth/login"
json = { email = "{credentials.email}", password = "{credentials.password}" }
capture = { session = "json:/sessionId", header_session = "header:x-session", token = "cookie:access_token" }
[auth]
headers = { "X-Session-Id" = "{header_session}" }
[operations.active_torrents]
result = "{torrents}"
[[operations.active_torrents.steps]]
path = "/api/torrents"
capture = { torrents = "json:", first = "json:/0/infoHash" }
"""
    text = text.replace('[stream]\nurl = "{base}/v/{name}"', '[stream]\ncredentials = "cookie"\nurl = "{base}/v/{name}"')
    target = target_of(text, app, tmp_path)
    assert target.token(client) == "tok1"
    assert target.session(client) == {"session": "s1", "header_session": "s1", "token": "tok1"}
    assert target.active_torrents(client) == [{"infoHash": HASH}]
    assert target.operation("active_torrents", client).values["first"] == HASH
    assert target.auth_headers(client) == {"Cookie": "access_token=tok1"}
    target.clock.advance(89)
    assert target.token(client) == "tok1" and app.state["logins"] == 1
    target.clock.advance(2)                                    # past ttl - renew_before
    assert target.token(client) == "tok2" and app.state["logins"] == 2
    assert target.active_torrents(client) == [{"infoHash": HASH}]   # the new cookie and header


def test_a_login_with_other_credentials_leaves_the_session_alone(app, client, tmp_path):
    target = target_of(readme_example(), app, tmp_path)
    target.stream_url(client, VIDEO)
    assert target.login(client, password="wrong").status == 401
    assert target.session(client)["session"] == "s1" and len(target.jar) == 1


def test_query_credentials_go_into_the_stream_url(app, client, tmp_path):
    text = readme_example().replace('credentials = "none"', 'credentials = "query"\nquery = { sid = "{session}" }')
    target = target_of(text, app, tmp_path)
    assert target.stream_url(client, VIDEO) == f"{url_of(app)}/media/k-{HASH}?sid=s1"


def test_operations_not_declared_are_unimplemented(app, client, tmp_path):
    target = target_of(readme_example(), app, tmp_path)
    for call in (lambda: target.create_source(client, VIDEO.magnet), lambda: target.metadata(client, VIDEO.magnet),
                 lambda: target.active_torrents(client), lambda: target.token(client),
                 lambda: target.stream_token(client, "id"), lambda: target.operation("nothing", client)):
        with pytest.raises(Unimplemented):
            call()
    assert issubclass(Unimplemented, TargetError)


# -- the shipped targets and the registry -------------------------------------------------

URLS = {"backend": "http://b", "range_server": "http://r", "webtorrent": "http://w", "peerflix": "http://p",
        "miauflix": "http://m", "webtorrent2": "http://w2"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_files_load_and_declare_what_they_claim(name):
    target = make_target(name, URLS, CREDENTIALS)
    spec = target.spec
    assert spec.name == name and target.capabilities and target.missing(target.capabilities) == set()
    assert target.base_url == URLS[spec.service] and target.services == (spec.service,)
    for capability in target.capabilities:        # everything a capability needs is declared
        for need in declarative.NEEDS.get(capability, ()):
            if need.startswith("operations."):
                assert need.split(".", 1)[1] in spec.operations


def test_the_reference_target_declares_every_operation_of_the_former_class():
    target = make_target("reference", URLS, CREDENTIALS)
    assert target.capabilities == declarative.ALL_CAPABILITIES and target.default_contract == "strict"
    assert set(target.spec.operations) == set(declarative.OPERATIONS)
    assert target.stream_url_for("abc") == "http://b/api/stream/abc"
    assert target.spec.stream.cache == "per-video" and target.spec.stream.credentials == "header"


def test_the_third_party_targets_play_any_magnet_but_have_no_sources():
    for name in ("webtorrent", "webtorrent2", "peerflix"):
        target = make_target(name, URLS, {})
        assert target.capabilities == {"playback", "seeking", "ranges", "concurrency", "performance", "fresh-torrents",
                                       "file-choice", "subtitle-files", "large-files"}
        with pytest.raises(Unimplemented):
            target.stream_url_for("x")


def test_make_target_by_path_class_old_signature_and_override(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    assert make_target(str(path), {}, {}).base_url == "http://x"
    assert make_target(str(path), {}, {}, base_url="http://y/").base_url == "http://y"
    old = make_target("range-server", "http://b", "http://r", CREDENTIALS)
    assert old.name == "range-server" and old.base_url == "http://r"
    assert make_target("reference", URLS, CREDENTIALS, base_url="http://other").base_url == "http://other"
    by_class = make_target("infra.suite.targets.reference:ReferenceTarget", URLS, CREDENTIALS)
    assert isinstance(by_class, ReferenceTarget) and by_class.base_url == "http://b"
    assert RangeServerTarget("http://r").stream_url(None, VIDEO) == "http://r/videos/test-small-720p"
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        make_target("nope", URLS, {})
    with pytest.raises(ValueError, match="cannot import"):
        make_target("infra.nothing:Nope", URLS, {})
    with pytest.raises(TargetError, match=r"ecosystem service webtorrent, which this ecosystem does not run"):
        make_target("webtorrent", {"backend": "http://b"}, {})


def test_urls_of_an_ecosystem_name_every_service_with_a_url():
    from types import SimpleNamespace

    endpoints = SimpleNamespace(backend="http://b", range_server="http://r", services={
        "webtorrent": {"url": "http://w", "pid": 1}, "tracker": {"pid": 2}, "seeder": {"url": "http://s"}})
    assert urls_of(endpoints) == {"backend": "http://b", "range_server": "http://r", "webtorrent": "http://w",
                                  "seeder": "http://s"}


# -- other services of the ecosystem in templates --------------------------------------------

def test_a_template_may_name_another_service_of_the_ecosystem():
    spec = declarative.parse(tomllib.loads(MINIMAL.replace("{base}/v/{name}", "{base}/v/{name}?c={services.catalog_service}")))
    target = DeclarativeTarget(spec, {"catalog_service": "http://c:1/"}, {})
    assert target.stream_url(None, SimpleNamespace(name="v1", magnet="m", info_hash="h", size=1)) == "http://x/v/v1?c=http://c:1"


def test_a_service_the_ecosystem_does_not_run_is_named_when_rendered():
    spec = declarative.parse(tomllib.loads(MINIMAL.replace("{name}", "{services.nowhere}")))
    with pytest.raises(TargetError, match=r"unknown variable \{services.nowhere\}"):
        DeclarativeTarget(spec, {}, {}).stream_url(None, SimpleNamespace(name="v1", magnet="m", info_hash="h", size=1))


def test_a_service_variable_is_a_plain_lower_case_name():
    assert "is not a variable here" in spec_error(MINIMAL.replace("{name}", "{services.Catalog}"))


def test_the_miauflix_target_file_loads_and_reaches_its_stream_through_the_catalog():
    spec = declarative.load(SHIPPED["miauflix"])
    assert spec.service == "miauflix" and spec.default_contract == "rfc9110"
    assert [step.url or step.path for step in spec.stream.flow.steps] == [
        "{services.catalog_service}/3/search/movie?query={name}", "/api/movies/{tmdb_id}/auto"]
    assert spec.stream.flow.steps[1].repeat.deadline <= 120
