"""The `swarmspec` command's own logic, without an ecosystem: where it looks, what it passes
to behave, what `doctor` says is missing, what `init` finds on a small server of another
shape than the bundled ones, and how `check-target` turns grades into verdicts."""

from __future__ import annotations

import shlex
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from infra import PROJECT_ROOT
from infra.cli import doctor, file_urls, main
from infra.cli.check import NOT_SMOKED, SMOKE, verdicts
from infra.cli.home import Home, HomeError, is_checkout
from infra.cli.probe import Findings, Login, Prober
from infra.cli.run import RunRequest, behave_argv, default_target, in_directory, shipped_feature
from infra.cli.scaffold import capabilities, render
from infra.suite.targets import declarative
from infra.suite.targets.base import ALL_CAPABILITIES
from infra.suite.targets.registry import SHIPPED


def test_a_checkout_is_told_from_an_installed_package(tmp_path):
    assert is_checkout(PROJECT_ROOT)
    assert not is_checkout(tmp_path)
    assert Home.find(tmp_path).features == PROJECT_ROOT / "features"


def test_the_default_target_is_the_one_target_file_here(tmp_path):
    assert default_target(tmp_path) == "reference"
    (tmp_path / "pyproject.toml").write_text("")
    assert default_target(tmp_path) == "reference"
    (tmp_path / "mine.toml").write_text("")
    assert default_target(tmp_path) == str(tmp_path / "mine.toml")
    (tmp_path / "other.toml").write_text("")
    with pytest.raises(HomeError, match="choose one with --target"):
        default_target(tmp_path)


def test_behave_gets_the_options_the_shipped_features_and_the_rest(tmp_path):
    home = Home.find(tmp_path)
    (tmp_path / "my.env").write_text("")
    request = RunRequest(backend_command="node server.js", backend_env="my.env", contract="rfc9110",
                         tags=["@needs.playback"], behave_args=["-n", "A viewer"])
    argv = behave_argv(home, request, "webtorrent", tmp_path / "r", tmp_path / "j", "progress")
    assert argv[argv.index("--tags") + 1] == "@needs.playback"
    options = [argv[i + 1] for i, a in enumerate(argv) if a == "-D"]
    assert "target=webtorrent" in options and "contract=rfc9110" in options
    assert f"backend_env={tmp_path / 'my.env'}" in options
    command = next(o for o in options if o.startswith("backend_command="))
    assert shlex.split(command.split("=", 1)[1])[-2:] == ["node", "server.js"]
    assert argv[-1] == str(home.features) and argv[-3:-1] == ["-n", "A viewer"]


def test_a_shipped_feature_is_found_by_its_name(tmp_path):
    home = Home.find(tmp_path)
    assert shipped_feature(home, "streaming.feature") == str(home.features / "streaming.feature")
    assert shipped_feature(home, "features/seeking.feature:12") == str(home.suite_root / "features/seeking.feature") + ":12"
    (tmp_path / "mine.feature").write_text("")
    assert shipped_feature(home, "mine.feature") == "mine.feature"
    assert shipped_feature(home, "-n") == "-n"


def test_a_backend_command_starts_in_the_callers_directory(tmp_path):
    done = subprocess.run(shlex.split(in_directory("sh -c pwd", tmp_path)), capture_output=True, text=True, timeout=10)
    assert done.stdout.strip() == str(tmp_path)


def test_doctor_names_the_package_of_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))          # nothing on PATH at all
    status = doctor.report(Home.find(tmp_path))
    out = capsys.readouterr().out
    assert status == 1
    for line in ("opentracker", "Debian: opentracker"), ("chromium", "Debian: chromium"), ("java", "default-jre-headless"):
        assert any(line[0] in row and line[1] in row and ("MISSING" in row or "optional" in row)
                   for row in out.splitlines()), out


def test_capacity_says_when_this_version_lacks_it(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "infra.measure.capacity" else real(name))
    assert main(["capacity"]) == 2
    assert "not in this version" in capsys.readouterr().err


#: What the probes saw of each bundled backend's file choice (tests/test_init_targets.py sees it for real).
FILE_URLS = {"reference": ("{base}/api/stream/{key}?file={file_index}", {}),
             "webtorrent": ("{serverUrl}/webtorrent/{info_hash}/{file_path_url}", {"serverUrl": "json:/serverUrl"}),
             "webtorrent2": ("{serverUrl}/webtorrent/{info_hash}/{file_path_url}", {"serverUrl": "json:/serverUrl"}),
             "peerflix": ("{serverUrl}/{file_index}", {"serverUrl": "json:/serverUrl"}),
             "range-server": ("{base}/files/{file_path_url}", {})}


@pytest.mark.parametrize("shape,shipped", [("reference", "reference"), ("control", "webtorrent"),
                                           ("control", "webtorrent2"), ("control", "peerflix"),
                                           ("by-name", "range-server")])
def test_a_skeleton_of_each_bundled_shape_loads_and_claims_what_the_shipped_file_does(tmp_path, shape, shipped):
    """With the file choice seen, the skeleton claims what the shipped file does: file-choice and
    subtitle-files from its file_url, and large-files, which no probe can see (it needs a torrent
    past 4.5 GiB) and init claims for every stream flow found, so large_files.feature grades it."""
    found = Findings("http://127.0.0.1:1", health="/health", shape=shape, verified_stream=True)
    found.file_url, found.file_captures = FILE_URLS[shipped]
    if shape == "reference":
        found.login = Login("/api/auth/login", "json", "email", "/token", "/expiresIn", [])
        found.operations = {"create_source": "/api/sources", "get_source": "/api/sources/{id}",
                            "stream_token": "/api/sources/{id}/stream-token", "metadata": "/api/torrents/metadata",
                            "active_torrents": "/api/torrents"}
        found.stream_capture = "json:/id"
    elif shape == "control":
        found.stream_path, found.stream_capture, found.operations = "/streams", "json:/streamUrl", {"active_torrents": "/streams"}
    else:
        found.stream_path = "/videos/"
    path = tmp_path / "t.toml"
    path.write_text(render(found, "probe", found.base))
    spec, theirs = declarative.load(path), declarative.load(SHIPPED[shipped])
    assert set(spec.capabilities) == set(theirs.capabilities)
    assert spec.stream.file_url == theirs.stream.file_url
    assert "large-files: no probe can show it" in path.read_text()


def test_without_a_file_choice_seen_the_skeleton_claims_none(tmp_path):
    found = Findings("http://127.0.0.1:1", shape="control", stream_path="/streams", stream_capture="json:/streamUrl",
                     verified_stream=True)
    text = render(found, "probe", found.base)
    path = tmp_path / "t.toml"
    path.write_text(text)
    spec = declarative.load(path)
    assert not {"file-choice", "subtitle-files"} & set(spec.capabilities) and "large-files" in spec.capabilities
    assert spec.stream.file_url is None and "TODO: file_url" in text


WEBTORRENT_ANSWER = {
    "infoHash": "ab" * 20, "serverUrl": "http://127.0.0.1:9",
    "files": [{"index": 0, "path": "pack/a video.mp4", "streamUrl": f"http://127.0.0.1:9/webtorrent/{'ab' * 20}/pack/a%20video.mp4"},
              {"index": 1, "path": "pack/a video.srt", "streamUrl": f"http://127.0.0.1:9/webtorrent/{'ab' * 20}/pack/a%20video.srt"}]}
PEERFLIX_ANSWER = {"infoHash": "ab" * 20, "serverUrl": "http://127.0.0.1:9",
                   "files": [{"index": 0, "path": "pack/x.mp4", "streamUrl": "http://127.0.0.1:9/0"},
                             {"index": 1, "path": "pack/x.srt", "streamUrl": "http://127.0.0.1:9/1"}]}


@pytest.mark.parametrize("answer,template", [(WEBTORRENT_ANSWER, "/webtorrent/{info_hash}/{file_path_url}"),
                                             (PEERFLIX_ANSWER, "/{file_index}")])
def test_a_control_answers_files_show_how_it_names_a_file(answer, template):
    files = file_urls.listed_files(answer)
    assert file_urls.file_template(answer["serverUrl"], answer["infoHash"], files) == template


def test_files_that_no_one_template_names_give_none():
    answer = {**PEERFLIX_ANSWER, "files": [PEERFLIX_ANSWER["files"][0],
                                           {"index": 1, "path": "pack/x.srt", "streamUrl": "http://127.0.0.1:9/sub/x.srt"}]}
    assert file_urls.file_template(answer["serverUrl"], answer["infoHash"], file_urls.listed_files(answer)) is None
    assert file_urls.file_template("http://elsewhere", "", file_urls.listed_files(PEERFLIX_ANSWER)) is None


def test_nothing_found_is_a_loadable_skeleton_with_todos(tmp_path):
    found = Findings("http://127.0.0.1:1", notes=["no stream flow found"])
    text = render(found, "nothing", found.base)
    assert "TODO" in text and "# Tried, not found: no stream flow found" in text
    assert capabilities(found) == []


class FormCookieMagnetServer(BaseHTTPRequestHandler):
    """Another shape than the bundled backends: a form login that sets a session cookie, and
    `GET /api/stream?magnet=...` that redirects to the media URL (cookie required)."""

    BODY = bytes(range(256)) * 4

    def log_message(self, *args):
        pass

    def _authed(self) -> bool:
        return "session=s3cret" in (self.headers.get("Cookie") or "")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if self.path == "/login" and self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded") \
                and form.get("username") == ["ann"] and form.get("password") == ["pw"]:
            self.send_response(204)
            self.send_header("Set-Cookie", "session=s3cret; HttpOnly; Path=/")
            self.end_headers()
            return
        self.send_response(404 if self.path != "/login" else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/api/stream" and self._authed() and parse_qs(url.query).get("magnet"):
            self.send_response(302)
            self.send_header("Location", "/media/abc")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/media/abc" and self.headers.get("Range") == "bytes=0-0":
            self.send_response(206)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Range", f"bytes 0-0/{len(self.BODY)}")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(self.BODY[:1])
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def odd_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FormCookieMagnetServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_init_finds_a_form_login_with_cookies_and_a_magnet_to_url_redirect(odd_server, tmp_path):
    found = Prober(odd_server, "ann", "pw", None, "magnet:?xt=urn:btih:" + "ab" * 20).probe()
    assert found.login is not None and (found.login.path, found.login.body, found.login.user_field) == \
        ("/login", "form", "username")
    assert found.login.cookies == ["session"] and found.login.token_pointer is None
    assert (found.shape, found.stream_capture, found.verified_stream) == ("magnet-url", "header:Location", True)
    path = tmp_path / "odd.toml"
    path.write_text(render(found, "odd", odd_server))
    spec = declarative.load(path)
    assert "playback" in spec.capabilities and "auth" not in spec.capabilities
    assert "file-choice" not in spec.capabilities and spec.stream.file_url is None   # no files[] to learn it from
    text = path.read_text()
    assert 'credentials = "cookie"' in text and "form = { username" in text and "pw" not in text.replace("password", "")


def test_check_target_verdicts_come_from_the_grades():
    grades = [
        {"location": "features/streaming.feature:10", "scenario": "A viewer plays test-small -- @1.1", "grade": "strict"},
        {"location": "features/malformed_ranges.feature:34", "scenario": "An unsatisfiable range \"x\"",
         "grade": "non-strict"},
        {"location": "features/seeking.feature:46", "scenario": "A viewer seeks forward and back through it",
         "grade": "failed", "detail": "Expected: bytes equal to the file\nbut: differ at 5"},
    ]
    rows = {c: (v, why) for c, v, why in verdicts({"playback", "ranges", "seeking", "concurrency"}, grades)}
    assert rows["playback"][0] == "implemented" and rows["ranges"][0] == "implemented"
    assert rows["seeking"] == ("broken", "\"A viewer seeks forward and back through it\" failed: "
                                         "Expected: bytes equal to the file")
    assert rows["concurrency"][0] == "not checked"
    assert rows["auth"] == ("not implemented", "the target file does not claim it")
    assert set(rows) == set(ALL_CAPABILITIES) and set(SMOKE) | set(NOT_SMOKED) == set(ALL_CAPABILITIES)
    claimed_large = {c: (v, why) for c, v, why in verdicts({"large-files"}, grades)}
    assert claimed_large["large-files"] == ("not checked", NOT_SMOKED["large-files"])


def test_every_smoke_scenario_exists_in_its_feature():
    for capability, smoke in SMOKE.items():
        text = (PROJECT_ROOT / "features" / smoke.feature).read_text()
        assert f"Scenario: {smoke.scenario}" in text or f"Scenario Outline: {smoke.scenario}" in text, capability


def test_no_wing_imports_the_command():
    """The command sits on top of everything: nothing under it may import infra.cli (no circles)."""
    import ast

    offenders = []
    for wing in ("swarm", "backends", "ecosystem", "suite", "measure"):
        for path in (PROJECT_ROOT / "infra" / wing).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [f"{path.relative_to(PROJECT_ROOT)}: {n}" for n in names if n.startswith("infra.cli")]
    assert not offenders, offenders


def test_a_token_is_sent_from_the_credentials_never_written(tmp_path):
    found = Findings("http://127.0.0.1:1", bearer_token=True, shape="control", stream_path="/streams",
                     stream_capture="json:/streamUrl", verified_stream=True)
    path = tmp_path / "t.toml"
    path.write_text(render(found, "tok", found.base))
    declarative.load(path)
    text = path.read_text()
    assert 'Authorization = "Bearer {credentials.password}"' in text and 'credentials = "header"' in text
