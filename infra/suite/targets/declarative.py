"""Target files: a TOML description of a backend, loaded and checked before a run.

Whoever brings a backend writes what a person would do with curl (log in, ask for a
stream, wait for it) and which capabilities that gives. Everything a run could trip on
later is checked here, when the file is loaded: unknown keys (typos), templates naming
variables that will not exist, conditions that are not comparisons, and capabilities
whose flows are not declared. Each error names the file, the key and what is missing.
The format is described in infra/suite/targets/README.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from infra.suite.grading import Contract
from infra.suite.http import EXCHANGE_DEADLINE, READ_TIMEOUT
from infra.suite.targets.base import ALL_CAPABILITIES, TargetError
from infra.suite.targets.flows import Capture, Flow, Repeat, Step
from infra.suite.targets.templates import NAME, Condition, TemplateError, strings_of, variables_of

CREDENTIALS = frozenset({"credentials.email", "credentials.password"})
#: `{services.catalog_service}`: the base URL of another service of the ecosystem (known at run time).
SERVICE_VARIABLE = re.compile(r"services\.[a-z][a-z0-9_]*")
VIDEO = frozenset({"magnet", "info_hash", "name", "size"})
#: In `[stream].file_url` only: the file a viewer chose from a multi-file torrent, by its
#: index in the torrent's file list, or by its path there (as is, and percent-encoded per segment).
FILE = frozenset({"file_index", "file_path", "file_path_url"})
RESERVED = frozenset({"base", "status", "key", *VIDEO, *FILE})
STREAM_CREDENTIALS = ("header", "query", "cookie", "none")
CACHES = ("none", "per-video")

#: Operations the suite's steps call: (parameters always given, parameters that may be None).
OPERATIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "create_source": (frozenset({"magnet"}), frozenset()),
    "get_source": (frozenset({"id"}), frozenset()),
    "stream_token": (frozenset({"id"}), frozenset({"lifetime"})),
    "metadata": (frozenset({"magnet"}), frozenset()),
    "active_torrents": (frozenset(), frozenset()),
}
RETURNS_EXCHANGE = ("create_source", "get_source", "metadata")   # the steps judge the answer itself
RETURNS_RESULT = ("stream_token", "active_torrents")

#: What each capability needs besides [stream] (which every target has).
NEEDS: dict[str, tuple[str, ...]] = {
    "sources": ("operations.create_source", "operations.get_source", "stream.key"),
    "auth": ("login.token", "operations.stream_token", "stream.key"),
    "torrents": ("stream.key",),
    "metadata": ("operations.metadata",),
    "lifecycle": ("operations.active_torrents",),
    "file-choice": ("stream.file_url",),
    "subtitle-files": ("stream.file_url",),
}
EXPLAIN = {
    "stream.file_url": "[stream].file_url, the URL of a chosen file ({file_index}, {file_path} or {file_path_url})",
    "login.token": "a [login] flow that captures `token`",
    "stream.key": "[stream].key, with a [stream].url that names only {base} and {key}",
}

TOP_KEYS = {"name", "description", "service", "base_url", "default_contract", "capabilities", "login", "auth",
            "stream", "operations"}
STEP_KEYS = {"method", "path", "url", "headers", "query", "json", "form", "expect", "capture", "repeat", "deadline",
             "read_timeout", "auth"}


class TargetFileError(TargetError):
    """A target file that cannot be used as it is."""


@dataclass(frozen=True)
class LoginSpec:
    flow: Flow
    ttl: float | str | None = None      # seconds (or a template over the captures) a login stays valid
    renew_before: float = 30.0          # log in again this long before it expires


@dataclass(frozen=True)
class StreamSpec:
    flow: Flow
    url: str
    key: str | None = None
    cache: str = "none"
    credentials: str = "none"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    file_url: str | None = None   # the stream URL of one file a viewer chose; `url` streams the default one


@dataclass(frozen=True)
class TargetSpec:
    path: str
    name: str
    description: str
    service: str | None
    base_url: str | None
    default_contract: str
    capabilities: frozenset[str]
    stream: StreamSpec
    login: LoginSpec | None = None
    session_headers: Mapping[str, str] = field(default_factory=dict)   # [auth].headers
    operations: Mapping[str, Flow] = field(default_factory=dict)


def load(path: str | Path) -> TargetSpec:
    """Read and check a target file; TargetFileError names the file, the key and the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise TargetFileError(f"{path}: no such target file") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetFileError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, str(path))


def parse(data: Mapping[str, object], path: str = "<target>") -> TargetSpec:
    return _Reader(path).spec(data)


@dataclass
class _Reader:
    path: str

    def fail(self, key: str, problem: str) -> TargetFileError:
        return TargetFileError(f"{self.path}: {key}: {problem}")

    def table(self, data: object, key: str, allowed: set[str]) -> Mapping[str, object]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a table, not {type(data).__name__}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(key, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")
        return data

    def typed(self, data: Mapping[str, object], key: str, where: str, kind: type | tuple, default: object = None):
        value = data.get(key, default)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{where}{key}", f"must be {getattr(kind, '__name__', kind)}, not {value!r}")
        return value

    def strings(self, data: Mapping[str, object], key: str, where: str) -> dict[str, str]:
        table = self.typed(data, key, where, dict, {})
        bad = [k for k, v in table.items() if not isinstance(v, str)]
        if bad:
            raise self.fail(f"{where}{key}.{bad[0]}", "must be a string template")
        return dict(table)

    def check(self, key: str, templates: Iterable[str], known: set[str]) -> None:
        """Every variable the templates name exists where they are rendered."""
        for template in templates:
            try:
                names = variables_of(template)
            except TemplateError as exc:
                raise self.fail(key, str(exc)) from None
            unknown = [name for name in names if name not in known and not SERVICE_VARIABLE.fullmatch(name)]
            if unknown:
                raise self.fail(key, f"{{{unknown[0]}}} in {template!r} is not a variable here "
                                     f"(known: {', '.join(sorted(known))})")

    # -- the file ------------------------------------------------------------------------

    def spec(self, data: Mapping[str, object]) -> TargetSpec:
        top = self.table(data, "(top level)", TOP_KEYS)
        name = self.typed(top, "name", "", str)
        if not name:
            raise self.fail("name", "is required (the name reports and -D target= use)")
        service, base_url = self.typed(top, "service", "", str), self.typed(top, "base_url", "", str)
        if bool(service) == bool(base_url):
            raise self.fail("service", "give exactly one of `service` (an ecosystem service, e.g. \"backend\") "
                                       "or `base_url` (a literal URL)")
        contract = self.typed(top, "default_contract", "", str, "strict")
        if contract not in {c.value for c in Contract}:
            raise self.fail("default_contract", f"{contract!r} is not one of {', '.join(c.value for c in Contract)}")
        capabilities = self.typed(top, "capabilities", "", list, [])
        unknown = sorted(set(map(str, capabilities)) - ALL_CAPABILITIES)
        if unknown:
            raise self.fail("capabilities", f"unknown {', '.join(unknown)} (known: {', '.join(sorted(ALL_CAPABILITIES))})")
        login = self.login(top["login"]) if "login" in top else None
        session_vars = {"base", *(login.flow.captures if login else ())}
        auth = self.table(top.get("auth", {}), "auth", {"headers"})
        session_headers = self.strings(auth, "headers", "auth.")
        self.check("auth.headers", session_headers.values(), session_vars)
        scope = session_vars | CREDENTIALS
        if "stream" not in top:
            raise self.fail("stream", "is required: how a test video becomes a stream URL")
        stream = self.stream(top["stream"], scope, bool(session_headers))
        declared = top.get("operations", {})
        declared = self.table(declared, "operations", set(declared) if isinstance(declared, dict) else set())
        operations = {op: self.operation(op, flow, scope) for op, flow in declared.items()}
        spec = TargetSpec(self.path, name, self.typed(top, "description", "", str, ""), service, base_url, contract,
                          frozenset(capabilities), stream, login, session_headers, operations)
        self.capabilities(spec)
        return spec

    def capabilities(self, spec: TargetSpec) -> None:
        provided = {f"operations.{op}" for op in spec.operations}
        if spec.login and "token" in spec.login.flow.captures:
            provided.add("login.token")
        if spec.stream.key is not None and set(variables_of(spec.stream.url)) <= {"base", "key"}:
            provided.add("stream.key")
        if spec.stream.file_url is not None:
            provided.add("stream.file_url")
        for capability in sorted(spec.capabilities):
            missing = [need for need in NEEDS.get(capability, ()) if need not in provided]
            if missing:
                what = "; ".join(EXPLAIN.get(need, f"[{need}]") for need in missing)
                raise self.fail("capabilities", f"{capability!r} needs {what}, which the file does not declare "
                                                f"(declare it, or drop {capability!r})")

    def login(self, data: object) -> LoginSpec:
        table = self.table(data, "login", {"steps", "ttl", "renew_before"})
        flow = self.flow("login", table, {"base"} | CREDENTIALS)
        if not flow.steps:
            raise self.fail("login.steps", "a login needs at least one request")
        ttl = self.typed(table, "ttl", "login.", (int, float, str))
        if isinstance(ttl, str):
            self.check("login.ttl", [ttl], {"base"} | flow.captures)
        return LoginSpec(flow, ttl, float(self.typed(table, "renew_before", "login.", (int, float), 30)))

    def stream(self, data: object, scope: set[str], has_session_headers: bool) -> StreamSpec:
        table = self.table(data, "stream", {"steps", "url", "key", "cache", "credentials", "headers", "query",
                                            "file_url"})
        flow = self.flow("stream", table, scope | VIDEO)
        url, key = self.typed(table, "url", "stream.", str), self.typed(table, "key", "stream.", str)
        if not url:
            raise self.fail("stream.url", "is required: the stream URL template, e.g. \"{base}/videos/{name}\"")
        known = scope | VIDEO | flow.captures
        if key is not None:
            self.check("stream.key", [key], known)
            known = known | {"key"}
        self.check("stream.url", [url], known)
        file_url = self.typed(table, "file_url", "stream.", str)
        if file_url is not None:
            self.check("stream.file_url", [file_url], known | FILE)
            if not set(variables_of(file_url)) & FILE:
                raise self.fail("stream.file_url", f"{file_url!r} names no file: use {{file_index}}, {{file_path}} "
                                                   "or {file_path_url}")
        cache = self.typed(table, "cache", "stream.", str, "none")
        if cache not in CACHES:
            raise self.fail("stream.cache", f"{cache!r} is not one of {', '.join(CACHES)}")
        credentials = self.typed(table, "credentials", "stream.", str, "none")
        if credentials not in STREAM_CREDENTIALS:
            raise self.fail("stream.credentials", f"{credentials!r} is not one of {', '.join(STREAM_CREDENTIALS)}")
        headers, query = self.strings(table, "headers", "stream."), self.strings(table, "query", "stream.")
        self.check("stream.headers", headers.values(), scope)
        self.check("stream.query", query.values(), scope)
        if credentials == "query" and not query:
            raise self.fail("stream.query", "credentials = \"query\" needs the parameters, e.g. {token = \"{token}\"}")
        if credentials == "header" and not (headers or has_session_headers):
            raise self.fail("stream.headers", "credentials = \"header\" needs [stream].headers or [auth].headers")
        return StreamSpec(flow, url, key, cache, credentials, headers, query, file_url)

    def operation(self, op: str, data: object, scope: set[str]) -> Flow:
        where = f"operations.{op}"
        table = self.table(data, where, {"steps", "result", "optional", "params"})
        required, optional = OPERATIONS.get(op, (frozenset(), frozenset()))
        params = set(map(str, self.typed(table, "params", f"{where}.", list, [])))
        optional = optional | set(map(str, self.typed(table, "optional", f"{where}.", list, [])))
        flow = self.flow(where, table, scope | required | params | optional, optional)
        if op in RETURNS_EXCHANGE and not flow.steps:
            raise self.fail(f"{where}.steps", "needs at least one request (callers judge its answer)")
        if op in RETURNS_RESULT and flow.result is None:
            raise self.fail(f"{where}.result", "is required: what callers get back, e.g. \"{token}\"")
        if flow.result is not None:
            self.check(f"{where}.result", strings_of(flow.result), scope | required | params | optional | flow.captures)
        return flow

    def flow(self, where: str, table: Mapping[str, object], scope: set[str], optional: Iterable[str] = ()) -> Flow:
        raw_steps = self.typed(table, "steps", f"{where}.", list, [])
        steps, known = [], set(scope)
        for index, raw in enumerate(raw_steps, 1):
            step = self.step(f"{where}.steps[{index}]", raw, known)
            steps.append(step)
            known |= set(step.capture)
        return Flow(where, tuple(steps), frozenset(optional), table.get("result"))

    def step(self, where: str, data: object, known: set[str]) -> Step:
        table = self.table(data, where, STEP_KEYS)
        dot = f"{where}."
        path, url = self.typed(table, "path", dot, str), self.typed(table, "url", dot, str)
        if (path is None) == (url is None):
            raise self.fail(where, "give exactly one of `path` (after {base}) or `url` (a whole URL template)")
        if "json" in table and "form" in table:
            raise self.fail(where, "give at most one body: `json` or `form`")
        capture = {}
        for name, spec in self.typed(table, "capture", dot, dict, {}).items():
            if not NAME.fullmatch(name) or "." in name or name in RESERVED:
                raise self.fail(f"{dot}capture.{name}", f"not a usable name (identifiers only; reserved: "
                                                        f"{', '.join(sorted(RESERVED))})")
            try:
                capture[name] = Capture.parse(spec if isinstance(spec, str) else repr(spec))
            except ValueError as exc:
                raise self.fail(f"{dot}capture.{name}", str(exc)) from None
        headers, query = self.strings(table, "headers", dot), self.strings(table, "query", dot)
        self.check(f"{dot}{'path' if path is not None else 'url'}", [path if path is not None else url], known)
        self.check(f"{dot}headers", headers.values(), known)
        self.check(f"{dot}query", query.values(), known)
        self.check(f"{dot}json", strings_of(table.get("json")), known)
        self.check(f"{dot}form", strings_of(table.get("form")), known)
        expect = self.typed(table, "expect", dot, (list, int), [])
        expect = [expect] if isinstance(expect, int) else expect
        if not all(isinstance(s, int) and 100 <= s <= 599 for s in expect):
            raise self.fail(f"{dot}expect", f"statuses are integers 100-599, not {expect!r}")
        repeat = self.repeat(f"{dot}repeat", table["repeat"], set(capture)) if "repeat" in table else None
        return Step(method=self.typed(table, "method", dot, str, "GET").upper(), path=path, url=url,
                    headers=headers, query=query, json=table.get("json"), form=table.get("form"),
                    expect=tuple(expect), capture=capture, repeat=repeat,
                    deadline=float(self.typed(table, "deadline", dot, (int, float), EXCHANGE_DEADLINE)),
                    read_timeout=float(self.typed(table, "read_timeout", dot, (int, float), READ_TIMEOUT)),
                    auth=self.typed(table, "auth", dot, bool, True))

    def repeat(self, where: str, data: object, captures: set[str]) -> Repeat:
        table = self.table(data, where, {"until", "every", "deadline"})
        until = self.typed(table, "until", f"{where}.", str)
        if not until:
            raise self.fail(f"{where}.until", "is required, e.g. \"status == 200\"")
        try:
            condition = Condition.parse(until)
        except TemplateError as exc:
            raise self.fail(f"{where}.until", str(exc)) from None
        unknown = sorted(condition.names - {"status"} - captures)
        if unknown:
            raise self.fail(f"{where}.until", f"{', '.join(unknown)} not known here (status and this step's "
                                              f"captures: {', '.join(sorted({'status', *captures}))})")
        every = float(self.typed(table, "every", f"{where}.", (int, float), 1))
        deadline = self.typed(table, "deadline", f"{where}.", (int, float))
        if deadline is None or deadline <= 0 or every <= 0:
            raise self.fail(where, "needs `deadline` (seconds, > 0) and `every` > 0: a wait must end")
        return Repeat(condition, every, float(deadline))
