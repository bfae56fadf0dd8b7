"""A target driven by its target file (`declarative.TargetSpec`).

Per target it keeps what a person at a browser keeps: one cookie jar, the values the
login captured (logged in again when its `ttl` passes), and, when the stream flow says
``cache = "per-video"``, each torrent's stream once it was obtained (a source is created
once per run, a background job waited for once). The suite's named operations are thin
wrappers over `operation`, so a backend implements one by declaring it, never by code.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import quote, urlencode

from requests.cookies import RequestsCookieJar

from infra.ecosystem import clock as clocks
from infra.ecosystem.clock import Clock
from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef
from infra.suite.targets.base import OperationResult, Target, TargetError, Unimplemented, service_url
from infra.suite.targets.declarative import OPERATIONS, TargetSpec
from infra.suite.targets.flows import Flow, FlowRunner
from infra.suite.targets.templates import TemplateError, render, variables_of


class DeclarativeTarget(Target):
    """The system under test as its target file describes it."""

    def __init__(self, spec: TargetSpec, urls: Mapping[str, str], credentials: Mapping[str, str],
                 base_url: str | None = None, clock: Clock | None = None) -> None:
        services = (spec.service,) if spec.service else ()
        super().__init__(base_url or spec.base_url or service_url(spec.name, services, urls, None))
        self.spec = spec
        self.name = spec.name
        self.capabilities = spec.capabilities
        self.services = services
        self.default_contract = spec.default_contract
        self.credentials = dict(credentials)
        self.service_urls = {f"services.{name}": url.rstrip("/") for name, url in urls.items() if url}
        self.clock = clock or clocks.SYSTEM
        self.jar = RequestsCookieJar()
        self._session: tuple[dict[str, object], float | None] | None = None   # login captures, renew at
        self._streams: dict[str, dict[str, object]] = {}                       # info hash -> stream values

    def __repr__(self) -> str:
        return f"<target {self.name} at {self.base_url} from {self.spec.path}>"

    # -- variables, session ---------------------------------------------------------------

    def _base_vars(self, email: str | None = None, password: str | None = None) -> dict[str, object]:
        return {**self.service_urls, "base": self.base_url,
                "credentials.email": email if email is not None else self.credentials.get("email"),
                "credentials.password": password if password is not None else self.credentials.get("password")}

    def _render(self, where: str, template: str, variables: Mapping[str, object]) -> str:
        try:
            return render(template, variables)
        except TemplateError as exc:
            raise TargetError(f"target {self.name!r}, {where}: {exc}") from None

    def session(self, client: Client) -> dict[str, object]:
        """The login's captures, logging in first (or again, once its ttl has passed)."""
        login = self.spec.login
        if login is None:
            return {}
        if self._session is not None and (self._session[1] is None or self.clock.now() < self._session[1]):
            return self._session[0]
        variables = self._base_vars()
        values = FlowRunner(self.name, client, self.jar, clock=self.clock).run(login.flow, variables).values
        renew_at = None
        if login.ttl is not None:
            raw = self._render("login.ttl", login.ttl, {**variables, **values}) if isinstance(login.ttl, str) else login.ttl
            try:
                ttl = float(raw)
            except ValueError:
                raise TargetError(f"target {self.name!r}, login.ttl: {raw!r} is not a number of seconds") from None
            renew_at = self.clock.now() + max(ttl - login.renew_before, ttl / 2)
        self._session = (values, renew_at)
        return values

    def _vars(self, client: Client) -> dict[str, object]:
        return {**self._base_vars(), **self.session(client)}

    def _runner(self, client: Client, variables: Mapping[str, object], record: bool = True) -> FlowRunner:
        headers = {key: self._render("auth.headers", value, variables) for key, value in self.spec.session_headers.items()}
        return FlowRunner(self.name, client, self.jar, headers, self.clock, record)

    # -- operations -----------------------------------------------------------------------

    def operation(self, name: str, client: Client, *, strict: bool = True, record: bool = True,
                  **variables: object) -> OperationResult:
        """Run the declared operation `name` with these variables (its parameters)."""
        flow = self._flow(name)
        required, optional = OPERATIONS.get(name, (frozenset(), frozenset()))
        missing = sorted(required - set(variables))
        if missing:
            raise TargetError(f"target {self.name!r}, operations.{name}: called without {', '.join(missing)}")
        names = {**self._vars(client), **{n: None for n in optional | flow.optional}, **variables}
        return self._runner(client, names, record).run(flow, names, strict)

    def _flow(self, name: str) -> Flow:
        flow = self.spec.operations.get(name)
        if flow is None:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}) declares no [operations.{name}]")
        return flow

    def login(self, client: Client, email: str | None = None, password: str | None = None) -> Exchange:
        """One login as someone else (a wrong password...): its own cookie jar, the session untouched."""
        if self.spec.login is None:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}) declares no [login]")
        runner = FlowRunner(self.name, client, RequestsCookieJar(), clock=self.clock)
        return runner.run(self.spec.login.flow, self._base_vars(email, password), strict=False).exchange

    def token(self, client: Client) -> str:
        values = self.session(client)
        if "token" not in values:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}): its [login] captures no `token`")
        return str(values["token"])

    def create_source(self, client: Client, magnet: str, **fields: object) -> Exchange:
        return self._answer("create_source", client, magnet=magnet, **fields)

    def get_source(self, client: Client, source_id: str) -> Exchange:
        return self._answer("get_source", client, id=source_id)

    def metadata(self, client: Client, magnet: str) -> Exchange:
        return self._answer("metadata", client, magnet=magnet)

    def _answer(self, name: str, client: Client, **variables: object) -> Exchange:
        """Operations whose answer the steps judge themselves (a 400 is what they test for)."""
        return self.operation(name, client, strict=False, **variables).exchange

    def stream_token(self, client: Client, source_id: str, lifetime: float | None = None) -> str:
        return str(self.operation("stream_token", client, id=source_id, lifetime=lifetime).result)

    def active_torrents(self, client: Client, record: bool = False) -> list[dict]:
        result = self.operation("active_torrents", client, record=record).result
        if not isinstance(result, list):
            raise TargetError(f"target {self.name!r}, operations.active_torrents: the result is not a list: {result!r}")
        return result

    # -- streams --------------------------------------------------------------------------

    def stream_values(self, client: Client, video: VideoRef) -> dict[str, object]:
        """Everything the stream URL is built from: the session, the video, the stream flow's captures."""
        stream = self.spec.stream
        variables = {**self._vars(client), "magnet": video.magnet, "info_hash": video.info_hash,
                     "name": video.name, "size": video.size}
        cached = self._streams.get(video.info_hash) if stream.cache == "per-video" else None
        if cached is None:
            cached = self._runner(client, variables).run(stream.flow, variables).values
            if stream.key is not None:
                cached["key"] = self._render("stream.key", stream.key, {**variables, **cached})
            if stream.cache == "per-video":
                self._streams[video.info_hash] = cached   # per torrent: a fresh copy has its own
        return {**variables, **cached}

    def forget_streams(self) -> None:
        self._streams.clear()

    def stream_url(self, client: Client, video: VideoRef) -> str:
        """The URL a viewer plays: `[stream].url`, or `[stream].file_url` for a file the viewer chose."""
        stream = self.spec.stream
        values = self.stream_values(client, video)
        index = getattr(video, "file_index", None)   # a Content that is not a VideoRef streams its main video
        if index is None:
            url = self._render("stream.url", stream.url, values)
        elif stream.file_url is None:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}) declares no [stream].file_url: it cannot "
                                f"stream {video.main_file}, a file chosen from {video.name}")
        else:
            chosen = {"file_index": index, "file_path": video.main_file,
                      "file_path_url": "/".join(quote(part, safe="") for part in video.main_file.split("/"))}
            url = self._render("stream.file_url", stream.file_url, {**values, **chosen})
        if stream.credentials == "query":
            query = {key: self._render("stream.query", value, values) for key, value in stream.query.items()}
            url += ("&" if "?" in url else "?") + urlencode(query)
        return url

    def source_id(self, client: Client, video: VideoRef) -> str:
        if self.spec.stream.key is None:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}) declares no [stream].key")
        return str(self.stream_values(client, video)["key"])

    def stream_url_for(self, key: str) -> str:
        url = self.spec.stream.url
        if self.spec.stream.key is None or not set(variables_of(url)) <= {"base", "key"}:
            raise Unimplemented(f"target {self.name!r} ({self.spec.path}): [stream].url {url!r} is not built "
                                "from {base} and a [stream].key alone")
        return self._render("stream.url", url, {"base": self.base_url, "key": key})

    def auth_headers(self, client: Client) -> dict[str, str]:
        """What a viewer's requests carry: the stream's credentials as the file says they travel."""
        stream = self.spec.stream
        if stream.credentials in ("none", "query"):
            return {}
        variables = self._vars(client)
        headers = stream.headers or (self.spec.session_headers if stream.credentials == "header" else {})
        rendered = {key: self._render("stream.headers", value, variables) for key, value in headers.items()}
        if stream.credentials == "cookie":
            cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)
            rendered = {"Cookie": cookies, **rendered} if cookies else rendered
        return rendered
