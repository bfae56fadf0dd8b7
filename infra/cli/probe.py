"""What `swarmspec init` finds out about a running backend, by asking it.

Each probe is one or two requests with a deadline, and each result is a fact the backend
answered (a status, a JSON member, a cookie), kept with the request that showed it so
the written target can say where every line came from. The shapes tried are the ones
torrent-streaming backends are known to have: the reference API (`/api/sources`,
bearer tokens), a WebTorrent-style control API (`POST /streams {"magnetUri"}` answering a
`streamUrl`, as the bundled wrappers expose it), a plain magnet-to-URL endpoint, a file
server by video name, and logins with JSON or form bodies, tokens or cookies. How a viewer
chooses one file of a multi-file torrent is read where the backend shows it (a control
answer's `files[]` beside its `serverUrl`, see file_urls.py; the reference API's `?file=`; a
file server's paths) and kept only once a chosen file played.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from infra.cli import file_urls

#: Seconds for one probe request; a control API answers POST /streams only once the
#: torrent's metadata is in, so that one gets longer.
TIMEOUT = 5.0
STREAM_TIMEOUT = 60.0
#: A syntactically valid magnet no swarm has: proves a route validates magnets without fetching anything real.
PROBE_MAGNET = "magnet:?xt=urn:btih:" + hashlib.sha1(b"swarmspec init probe").hexdigest()
LOGIN_PATHS = ("/api/auth/login", "/api/login", "/auth/login", "/login", "/api/v1/auth/login", "/api/session")
TOKEN_KEYS = ("token", "access_token", "accessToken", "jwt", "id_token")
EXPIRY_KEYS = ("expiresIn", "expires_in")
URL_KEYS = ("streamUrl", "stream_url", "url", "href")
#: Plain magnet-to-URL endpoints: (method, path, how the magnet is sent).
MAGNET_ENDPOINTS = (("POST", "/api/stream", "json"), ("GET", "/api/stream", "query"), ("GET", "/stream", "query"),
                    ("POST", "/stream", "json"), ("GET", "/api/stream-url", "query"))


@dataclass
class Login:
    path: str
    body: str                     # "json" or "form"
    user_field: str               # "email" or "username"
    token_pointer: str | None     # JSON pointer of a bearer token in the answer
    expiry_pointer: str | None
    cookies: list[str]


@dataclass
class Findings:
    base: str
    health: str | None = None
    login: Login | None = None
    bearer_token: bool = False             # --token given: sent as a bearer token
    shape: str | None = None               # reference | control | magnet-url | by-name
    stream_path: str = ""                  # the route that makes a stream (or serves it by name)
    stream_body: str = "json"
    stream_capture: str = ""               # e.g. json:/streamUrl, header:Location, json:/id
    verified_stream: bool = False          # a Range request on the resulting URL answered 206
    file_url: str | None = None            # [stream].file_url: a chosen file's URL, seen to play
    file_captures: dict[str, str] = field(default_factory=dict)   # what file_url needs captured, e.g. serverUrl
    operations: dict[str, str] = field(default_factory=dict)     # name -> route that answered
    notes: list[str] = field(default_factory=list)                # what was tried and not found


class Prober:
    def __init__(self, base: str, user: str | None, password: str | None, token: str | None,
                 magnet: str | None, video_names: tuple[str, ...] = (), video_files: tuple[str, ...] = ()):
        self.base = base.rstrip("/")
        self.user, self.password, self.token, self.magnet = user, password, token, magnet
        self.video_names = video_names
        self.video_files = video_files     # the videos' paths (folder/name.mp4 in a multi-file torrent)
        self.session = requests.Session()
        self.found = Findings(self.base)

    def probe(self) -> Findings:
        self._health()
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"
            self.found.bearer_token = True
        elif self.user and self.password:
            self._login()
        else:
            self.found.notes.append("no credentials given (--user/--password or --token): no login tried")
        for shape in (self._reference, self._control, self._magnet_url, self._by_name):
            if shape():
                break
        else:
            self.found.notes.append("no stream flow found: neither /api/sources, /streams, a magnet-to-URL route "
                                    f"({', '.join(p for _, p, _ in MAGNET_ENDPOINTS)}) nor /videos/<name> answered")
        return self.found

    # -- requests -----------------------------------------------------------------------
    def _send(self, method: str, path: str, timeout: float = TIMEOUT, **kwargs: Any) -> requests.Response | None:
        url = path if path.startswith("http") else self.base + path
        try:
            answer = self.session.request(method, url, timeout=timeout, allow_redirects=False, stream=True, **kwargs)
            if answer.status_code in (200, 206) and _is_media(answer):
                answer.close()            # a stream: its headers are the answer, not its body
            else:
                answer.content            # noqa: B018 - read the (small) body now, within the deadline
            return answer
        except requests.RequestException as exc:
            self.found.notes.append(f"{method} {path}: no answer ({type(exc).__name__})")
            return None

    def _health(self) -> None:
        for path in ("/health", "/api/health", "/healthz"):
            answer = self._send("GET", path)
            if answer is not None and answer.status_code == 200:
                self.found.health = path
                return
        self.found.notes.append("no health route answered 200 (/health, /api/health, /healthz)")

    def _login(self) -> None:
        for path in LOGIN_PATHS:
            for body in ("json", "form"):
                for user_field in ("email", "username"):
                    payload = {user_field: self.user, "password": self.password}
                    answer = self._send("POST", path, **({"json": payload} if body == "json" else {"data": payload}))
                    if answer is None or answer.status_code in (404, 405):
                        break                                 # no such route: next path
                    if 200 <= answer.status_code < 300:
                        self._logged_in(path, body, user_field, answer)
                        return
        self.found.notes.append(f"no login accepted the credentials (POST {', '.join(LOGIN_PATHS)}, JSON and form, "
                                "email and username)")

    def _logged_in(self, path: str, body: str, user_field: str, answer: requests.Response) -> None:
        document = _json(answer)
        token = _pointer_of(document, TOKEN_KEYS)
        self.found.login = Login(path, body, user_field, token, _pointer_of(document, EXPIRY_KEYS),
                                 sorted(answer.cookies.keys()))
        if token:
            self.session.headers["Authorization"] = f"Bearer {_at(document, token)}"

    # -- stream flows -------------------------------------------------------------------
    def _reference(self) -> bool:
        answer = self._send("POST", "/api/sources", json={"magnetUri": self.magnet or PROBE_MAGNET, "quality": "test",
                                                          "resolution": "probe"})
        if answer is None or answer.status_code != 201 or "id" not in (_json(answer) or {}):
            return False
        source = _json(answer)
        self.found.shape, self.found.stream_path, self.found.stream_capture = "reference", "/api/sources", "json:/id"
        self.found.operations["create_source"] = "/api/sources"
        if self._status("GET", f"/api/sources/{source['id']}") == 200:
            self.found.operations["get_source"] = "/api/sources/{id}"
        if self._status("POST", f"/api/sources/{source['id']}/stream-token", json={}) in (200, 201):
            self.found.operations["stream_token"] = "/api/sources/{id}/stream-token"
        if self._status("GET", "/api/torrents") == 200:
            self.found.operations["active_torrents"] = "/api/torrents"
        if self._status("POST", "/api/torrents/metadata", json={}) == 400:
            self.found.operations["metadata"] = "/api/torrents/metadata"
        if self.magnet:
            stream = f"{self.base}/api/stream/{source['id']}"
            self.found.verified_stream = self._plays(stream)
            # the file is chosen by `?file=`: the first file plays, a file the torrent cannot have does not
            if self._plays(f"{stream}?file=0") and not self._plays(f"{stream}?file=4294967295", quiet=True):
                self.found.file_url = "{base}/api/stream/{key}?file={file_index}"
            else:
                self.found.notes.append(f"{stream}?file=N: not a file choice (file 0 did not play, or file "
                                        "4294967295 did)")
        return True

    def _control(self) -> bool:
        listing = self._send("GET", "/streams")
        if listing is None or listing.status_code != 200 or not isinstance(_json(listing), list):
            return False
        self.found.shape, self.found.stream_path = "control", "/streams"
        self.found.stream_capture = "json:/streamUrl"
        self.found.operations["active_torrents"] = "/streams"
        if self.magnet:
            answer = self._send("POST", "/streams", timeout=STREAM_TIMEOUT, json={"magnetUri": self.magnet})
            document = _json(answer) if answer is not None else None
            pointer = _pointer_of(document, URL_KEYS)
            if pointer:
                self.found.stream_capture = f"json:{pointer}"
                self.found.verified_stream = self._plays(str(_at(document, pointer)))
                self._listed_files(document)
            else:
                self.found.notes.append(f"POST /streams with the magnet answered {getattr(answer, 'status_code', None)}"
                                        " without a stream URL")
        else:
            self.found.notes.append("GET /streams lists streams; POST /streams was not tried (no --magnet)")
        return True

    def _listed_files(self, document: Any) -> None:
        """A control answer's `files[]` and `serverUrl`: the template that names each file, if one
        rebuilds every listed URL and the last listed file plays through it."""
        server = _pointer_of(document, file_urls.SERVER_KEYS)
        files = file_urls.listed_files(document)
        info_hash = str(document.get("infoHash") or _btih(self.magnet or ""))
        rest = file_urls.file_template(str(_at(document, server)), info_hash, files) if server else None
        if rest is None:
            self.found.notes.append(f"POST /streams answered {len(files)} files[] with a URL and "
                                    f"{'a' if server else 'no'} server URL: no one template names them all "
                                    "(file_url)")
            return
        name = server.rsplit("/", 1)[-1]
        last = files[-1]
        if self._plays(str(_at(document, server)) + file_urls.render(rest, {
                "file_index": last["index"], "file_path": last["path"], "file_path_url": file_urls.path_url(last["path"]),
                "info_hash": info_hash.lower()})):
            self.found.file_url = "{" + name + "}" + rest
            self.found.file_captures[name] = f"json:{server}"

    def _magnet_url(self) -> bool:
        if not self.magnet:
            return False
        for method, path, how in MAGNET_ENDPOINTS:
            kwargs = {"json": {"magnet": self.magnet}} if how == "json" else {"params": {"magnet": self.magnet}}
            answer = self._send(method, path, timeout=STREAM_TIMEOUT, **kwargs)
            if answer is None or answer.status_code in (404, 405):
                continue
            document = _json(answer)
            pointer = _pointer_of(document, URL_KEYS)
            location = answer.headers.get("Location") if 300 <= answer.status_code < 400 else None
            if pointer or location:
                url = str(_at(document, pointer)) if pointer else requests.compat.urljoin(answer.url, location)
                self.found.shape, self.found.stream_path, self.found.stream_body = "magnet-url", path, how
                self.found.stream_path = f"{method} {path}"
                self.found.stream_capture = f"json:{pointer}" if pointer else "header:Location"
                self.found.verified_stream = self._plays(url)
                return True
        return False

    def _by_name(self) -> bool:
        for name in self.video_names:
            for prefix in ("/videos/", "/files/"):
                if self._plays(f"{self.base}{prefix}{name}"):
                    self.found.shape, self.found.stream_path, self.found.verified_stream = "by-name", prefix, True
                    self._files_by_path()
                    return True
        return False

    def _files_by_path(self) -> None:
        """A file server that also serves files by their path (a video in a folder, as a
        multi-file torrent holds it) can stream a chosen file: `file_url` by path."""
        paths = sorted(self.video_files, key=lambda p: "/" not in p)       # one in a folder first
        for prefix in ("/files/", "/videos/", "/"):
            for path in paths[:1]:
                if self._plays(f"{self.base}{prefix}{file_urls.path_url(path)}", quiet=True):
                    self.found.file_url = f"{{base}}{prefix}{{file_path_url}}"
                    return
        self.found.notes.append(f"no file served by its path ({paths[0] if paths else 'no video files known'} under "
                                "/files/, /videos/, /): no file_url")

    def _plays(self, url: str, quiet: bool = False) -> bool:
        """A Range request for the first byte answers 206 with one byte: the URL streams."""
        answer = self._send("GET", url, timeout=STREAM_TIMEOUT, headers={"Range": "bytes=0-0"})
        ok = answer is not None and answer.status_code == 206 and answer.headers.get("Content-Range", "").startswith("bytes 0-0/")
        if not ok and not quiet:
            self.found.notes.append(f"GET {url} with Range: bytes=0-0 answered "
                                    f"{getattr(answer, 'status_code', 'nothing')}, not 206")
        return ok

    def _status(self, method: str, path: str, **kwargs: Any) -> int | None:
        answer = self._send(method, path, **kwargs)
        return None if answer is None else answer.status_code


def _is_media(answer: requests.Response) -> bool:
    kind = answer.headers.get("Content-Type", "")
    return kind.startswith(("video/", "audio/", "application/octet-stream"))


def _json(answer: requests.Response | None) -> Any:
    try:
        return answer.json() if answer is not None else None
    except ValueError:
        return None


def _pointer_of(document: Any, keys: tuple[str, ...]) -> str | None:
    """The JSON pointer of the first of `keys` at the top level or under `data`."""
    for prefix, holder in (("", document), ("/data", document.get("data") if isinstance(document, dict) else None)):
        if isinstance(holder, dict):
            for key in keys:
                if holder.get(key) not in (None, ""):
                    return f"{prefix}/{key}"
    return None


def _btih(magnet: str) -> str:
    found = re.search(r"urn:btih:([0-9a-fA-F]{40})", magnet)
    return found.group(1).lower() if found else ""


def _at(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        document = document[part]
    return document
