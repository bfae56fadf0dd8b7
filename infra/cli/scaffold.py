"""`swarmspec init URL`: probe a running backend and write a target TOML skeleton.

The file states what the probes found (each flow with the route that answered) and
claims only the capabilities whose flows were found (file-choice and subtitle-files only
with a `file_url` seen to play); what could not be found is a `TODO` comment saying what
was tried. One exception, said in the file: large-files, which no probe can show. No secret is written: the login sends
`{credentials.email}` and `{credentials.password}` (SWARMSPEC_ADMIN_EMAIL/PASSWORD or the
ecosystem's credentials file), and a `--token` is sent as `{credentials.password}`.
The file is loaded with the suite's own loader before it is written, so it is valid.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from infra.ecosystem import clock
from infra.cli.probe import Findings, Prober
from infra.suite.targets import declarative

#: Capabilities every found stream flow gives, by shape (what the shipped targets of the same shape claim).
BASE_CAPABILITIES = {
    "reference": ["playback", "seeking", "ranges", "concurrency", "performance", "fresh-torrents"],
    "control": ["playback", "seeking", "ranges", "concurrency", "performance", "fresh-torrents"],
    "magnet-url": ["playback", "seeking", "ranges", "concurrency", "performance", "fresh-torrents"],
    "by-name": ["playback", "seeking", "ranges", "concurrency"],
}


def q(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


#: Claimed with every stream flow found, though no probe can show it: taking a torrent of one
#: file past 4.5 GiB needs that torrent (features/large_files.feature builds it once and grades
#: the claim: a backend that cannot is graded failed there, not left unjudged).
UNOBSERVABLE = ["large-files"]
#: Claimed only when a chosen file's URL was seen to play ([stream].file_url).
FILE_CHOICE = ["file-choice", "subtitle-files"]


def capabilities(found: Findings) -> list[str]:
    caps = list(BASE_CAPABILITIES.get(found.shape or "", []))
    if found.file_url:
        caps += FILE_CHOICE
    ops = found.operations
    if found.shape == "reference":
        if {"create_source", "get_source"} <= ops.keys():
            caps.append("sources")
        if found.login and found.login.token_pointer and "stream_token" in ops:
            caps.append("auth")
        caps.append("torrents")
        if "metadata" in ops:
            caps.append("metadata")
        if "active_torrents" in ops:
            caps.append("lifecycle")
    return caps + (UNOBSERVABLE if found.shape else [])


def render(found: Findings, name: str, source_url: str) -> str:
    lines = [f"# Written by `swarmspec init {source_url}` on {clock.utc_stamp('%Y-%m-%d %H:%M UTC')}.",
             "# Format: infra/suite/targets/README.md. Check it with: swarmspec check-target <this file>",
             f"# Found: health {found.health or 'none'}; login {found.login.path if found.login else 'none'}; "
             f"stream flow {found.shape or 'none'}"
             + (" (a Range request on its URL answered 206)" if found.verified_stream else " (not played: give --magnet)"
                if found.shape and found.shape != "by-name" else ""),
             *[f"# Tried, not found: {note}" for note in found.notes],
             f"name = {q(name)}",
             f"description = {q(f'Judged through its API at {found.base} (swarmspec init)')}",
             f"base_url = {q(found.base)}   # TODO: or service = \"<name>\" when the ecosystem starts it "
             "(swarmspec run --backend-command / --backend-image)",
             'default_contract = "rfc9110"   # a third-party server: graded against RFC 9110, strictness reported',
             f"capabilities = {json.dumps(capabilities(found))}"]
    if found.shape:
        lines.insert(-1, "# large-files: no probe can show it (it needs a torrent of one file past 4.5 GiB); claimed so "
                         "features/large_files.feature grades it")
    lines += _login(found)
    lines += _stream(found)
    lines += _operations(found)
    if found.bearer_token:          # no login flow: the token goes on each request ([auth] knows only a login's captures)
        lines = [part for line in lines for part in
                 ([line, TOKEN_HEADER] if line.startswith("[[") and line.endswith("steps]]") or line.startswith("credentials = ")
                  else [line])]
    return "\n".join(lines) + "\n"


TOKEN_HEADER = 'headers = { Authorization = "Bearer {credentials.password}" }'


def _login(found: Findings) -> list[str]:
    if found.bearer_token:
        return ["", "# --token: every request sends it as a bearer token from SWARMSPEC_ADMIN_PASSWORD (with any",
                "# SWARMSPEC_ADMIN_EMAIL): the suite's credentials are an e-mail and a password; never in this file"]
    login = found.login
    if login is None:
        return ["", "# TODO: no login found. If the backend needs one, add [login] with its steps "
                    "(infra/suite/targets/README.md)."]
    body = "json" if login.body == "json" else "form"
    captures = {k: f"json:{v}" for k, v in (("token", login.token_pointer), ("expiresIn", login.expiry_pointer)) if v}
    out = ["", "[login]"]
    if login.expiry_pointer:
        out.append('ttl = "{expiresIn}"            # seconds; logged in again 30 s before')
    out += ["", "[[login.steps]]", 'method = "POST"', f"path = {q(login.path)}",
            f'{body} = {{ {login.user_field} = "{{credentials.email}}", password = "{{credentials.password}}" }}',
            "expect = [200, 201]"]
    if captures:
        out.append("capture = { " + ", ".join(f"{k} = {q(v)}" for k, v in captures.items()) + " }")
    if login.cookies:
        out.append(f"# the answer set cookies ({', '.join(login.cookies)}): kept in the target's cookie jar")
    if login.token_pointer:
        out += ["", "[auth]                         # on every request of every flow after the login",
                'headers = { Authorization = "Bearer {token}" }']
    return out


def _file_url(found: Findings) -> list[str]:
    if found.file_url:
        return [f"file_url = {q(found.file_url)}   # a chosen file of a multi-file torrent (played by init)"]
    return ["# TODO: file_url (file-choice, subtitle-files): no URL of a chosen file was seen to play (see the notes)"]


def _stream(found: Findings) -> list[str]:
    if found.shape is None:
        return ["", "[stream]", "# TODO: how a magnet becomes a stream URL was not found (see the notes above).",
                'url = "{base}/TODO/{info_hash}"']
    if found.shape == "by-name":
        return ["", "[stream]                       # no request needed: the URL is known from the video's name",
                f'url = "{{base}}{found.stream_path}{{name}}"', *_file_url(found)]
    credentials = "header" if found.login and found.login.token_pointer or found.bearer_token else \
        ("cookie" if found.login and found.login.cookies else "none")
    if found.shape == "reference":
        return ["", "[stream]                       # a source per video, created once per run", 'cache = "per-video"',
                'key = "{id}"', 'url = "{base}/api/stream/{key}"', f'credentials = "{credentials}"', *_file_url(found),
                "", "[[stream.steps]]", 'method = "POST"', 'path = "/api/sources"',
                'json = { magnetUri = "{magnet}", quality = "test", resolution = "{name}" }', "expect = [201]",
                'capture = { id = "json:/id" }']
    method, _, path = found.stream_path.rpartition(" ")
    method = method or "POST"
    body = 'json = { magnetUri = "{magnet}" }' if found.shape == "control" else (
        'json = { magnet = "{magnet}" }' if found.stream_body == "json" else 'query = { magnet = "{magnet}" }')
    comment = "" if found.verified_stream else "   # TODO: not played (no --magnet): check the captured URL"
    captures = {"streamUrl": found.stream_capture, **found.file_captures}
    return ["", "[stream]                       # any magnet: ask for it, get an absolute stream URL",
            'cache = "per-video"', 'url = "{streamUrl}"', f'credentials = "{credentials}"', *_file_url(found),
            "", "[[stream.steps]]", f"method = {q(method)}", f"path = {q(path)}", body,
            "expect = [200, 201]" if found.stream_capture.startswith("json") else "expect = [301, 302, 303, 307, 308]",
            "capture = { " + ", ".join(f"{k} = {q(v)}" for k, v in captures.items()) + f" }}{comment}",
            "read_timeout = 60             # such an answer may come only once the torrent's metadata is in",
            "deadline = 90"]


def _operations(found: Findings) -> list[str]:
    ops, out = found.operations, []
    if "create_source" in ops:
        out += ["", "[operations.create_source]", 'optional = ["quality", "resolution", "size", "videoCodec"]', "",
                "[[operations.create_source.steps]]", 'method = "POST"', 'path = "/api/sources"',
                'json = { magnetUri = "{magnet}", quality = "{quality}", resolution = "{resolution}", '
                'size = "{size}", videoCodec = "{videoCodec}" }', "expect = [201]"]
    if "get_source" in ops:
        out += ["", "[[operations.get_source.steps]]", 'path = "/api/sources/{id}"', "expect = [200]"]
    if "stream_token" in ops:
        out += ["", "[operations.stream_token]", 'result = "{token}"', "", "[[operations.stream_token.steps]]",
                'method = "POST"', f"path = {q(ops['stream_token'])}", 'json = { expiresIn = "{lifetime}" }',
                "expect = [200, 201]", 'capture = { token = "json:/token" }']
    if "metadata" in ops:
        out += ["", "[[operations.metadata.steps]]", 'method = "POST"', f"path = {q(ops['metadata'])}",
                'json = { magnetUri = "{magnet}" }', "expect = [200]", "deadline = 60"]
    if "active_torrents" in ops:
        key = "streams" if found.shape == "control" else "torrents"
        out += ["", "[operations.active_torrents]", f'result = "{{{key}}}"', "",
                "[[operations.active_torrents.steps]]", f"path = {q(ops['active_torrents'])}", "expect = [200]",
                f'capture = {{ {key} = "json:" }}']
    return out


def default_name(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "backend").replace(".", "-") + (f"-{parts.port}" if parts.port else "")


def init(url: str, *, user: str | None = None, password: str | None = None, token: str | None = None,
         magnet: str | None = None, name: str | None = None, output: str | None = None) -> int:
    """Probe, render, validate with the suite's loader, write; 0 when a stream flow was found."""
    from videos.recipes import RECIPES

    found = Prober(url, user, password, token, magnet, tuple(r.name for r in RECIPES),
                   tuple(r.main_file for r in RECIPES)).probe()
    name = name or default_name(url)
    text = render(found, name, url)
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as draft:
        draft.write(text)
        draft.flush()
        try:
            declarative.load(draft.name)
        except declarative.TargetFileError as exc:
            print(f"swarmspec init: the skeleton does not load yet ({exc}); fill in its TODOs", file=sys.stderr)
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output or f"{name}.toml").write_text(text)
    where = "stdout" if output == "-" else (output or f"{name}.toml")
    print(f"swarmspec init: {where}: stream flow {found.shape or 'NOT FOUND'}"
          f"{' (played)' if found.verified_stream else ''}; capabilities {', '.join(capabilities(found)) or 'none'}",
          file=sys.stderr)
    return 0 if found.shape else 1
