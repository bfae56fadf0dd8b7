"""The HTTP step runner of declarative targets.

A real backend is rarely one request away from a stream: a login that leaves tokens in
HttpOnly cookies, a header carrying a session id, a POST that answers 404 until a
background job is ready. A flow is the list of requests a person would make by hand,
each with the statuses it expects and the values it takes from the answer (JSON
pointer, header, cookie) for the requests after it. Every request goes through the
suite's `Client`, so it is recorded for the report and bounded by deadlines; a step
that repeats waits with `infra.ecosystem.waits.Wait`, so its timing is tested with a
fake clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlencode

from requests.cookies import RequestsCookieJar

from infra.ecosystem import clock as clocks
from infra.ecosystem.clock import Clock
from infra.ecosystem.waits import GiveUp, NotReady, Wait, WaitTimeout
from infra.suite.http import EXCHANGE_DEADLINE, READ_TIMEOUT, Client, Exchange
from infra.suite.targets.base import OperationResult, TargetError
from infra.suite.targets.templates import Condition, TemplateError, render, render_value

CAPTURE_SOURCES = ("json", "header", "cookie")


@dataclass(frozen=True)
class Capture:
    """Where a value comes from: ``json:/data/token``, ``header:X-Session``, ``cookie:sid``."""

    source: str
    ref: str

    @classmethod
    def parse(cls, spec: str) -> "Capture":
        source, sep, ref = spec.partition(":")
        if not sep or source not in CAPTURE_SOURCES or (source != "json" and not ref):
            raise ValueError(f"{spec!r} is not a capture; write json:/pointer, header:Name or cookie:name")
        if source == "json" and ref not in ("", "/") and not ref.startswith("/"):
            raise ValueError(f"{spec!r}: a JSON pointer starts with / (RFC 6901), e.g. json:/data/token")
        return cls(source, ref)

    def take(self, exchange: Exchange, jar: RequestsCookieJar) -> object:
        """The value in this answer; LookupError says what is not there."""
        if self.source == "header":
            value = exchange.header(self.ref)
            if value is None:
                raise LookupError(f"no {self.ref} header in the answer")
            return value
        if self.source == "cookie":
            found = [cookie.value for cookie in jar if cookie.name == self.ref]
            if not found:
                raise LookupError(f"no cookie {self.ref!r} was set")
            return found[-1]
        try:
            document = json.loads(exchange.body)
        except (ValueError, UnicodeDecodeError):
            raise LookupError(f"the answer is not JSON: {exchange.body[:120]!r}") from None
        return json_pointer(document, self.ref)


def json_pointer(document: object, pointer: str) -> object:
    """RFC 6901, except that "" and "/" both mean the whole document (a key "" is not worth the surprise)."""
    if pointer in ("", "/"):
        return document
    node = document
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise LookupError(f"JSON pointer {pointer} not in the answer (no {part!r})")
    return node


@dataclass(frozen=True)
class Repeat:
    """Send the step again every `every` s until `until` holds, for at most `deadline` s."""

    until: Condition
    every: float
    deadline: float


@dataclass(frozen=True)
class Step:
    method: str = "GET"
    path: str | None = None            # appended to {base}
    url: str | None = None             # a whole URL (e.g. one captured from an earlier answer)
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    json: object = None
    form: Mapping[str, object] | None = None
    expect: tuple[int, ...] = ()       # empty: any 2xx (any status while repeating)
    capture: Mapping[str, Capture] = field(default_factory=dict)
    repeat: Repeat | None = None
    deadline: float = EXCHANGE_DEADLINE
    read_timeout: float = READ_TIMEOUT
    auth: bool = True                  # send the target's session headers ([auth].headers)

    def accepts(self, status: int | None) -> bool:
        if status is None:
            return False
        if self.expect:
            return status in self.expect
        return self.repeat is not None or 200 <= status < 300


@dataclass(frozen=True)
class Flow:
    """Named steps; `result` (a template over the captures) is what the caller gets back."""

    where: str                         # "login", "stream", "operations.metadata": for messages
    steps: tuple[Step, ...] = ()
    optional: frozenset[str] = frozenset()
    result: object = None

    @property
    def captures(self) -> set[str]:
        return {name for step in self.steps for name in step.capture}


@dataclass
class FlowRunner:
    """Runs flows of one target with one client, one cookie jar and its session headers."""

    target: str
    client: Client
    jar: RequestsCookieJar
    session_headers: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=lambda: clocks.SYSTEM)
    record: bool = True

    def run(self, flow: Flow, variables: Mapping[str, object], strict: bool = True) -> OperationResult:
        """Every step in order; with `strict` an unexpected answer raises TargetError, else
        the result says ok=False and carries that answer."""
        names = dict(variables)
        captured: dict[str, object] = {}
        exchange = None
        for index, step in enumerate(flow.steps, 1):
            where = f"{flow.where} step {index}"
            exchange, problem = self._step(step, names, where)
            if problem is None:
                problem = self._capture(step, exchange, captured, names)
            if problem is not None:
                message = f"target {self.target!r}, {where}: {problem}"
                if strict:
                    raise TargetError(message)
                return OperationResult(exchange, captured, ok=False, problem=message)
        result = None
        if flow.result is not None:
            try:
                result = render_value(flow.result, names)
            except TemplateError as exc:
                raise TargetError(f"target {self.target!r}, {flow.where}.result: {exc}") from None
        return OperationResult(exchange, captured, result)

    def _step(self, step: Step, names: dict[str, object], where: str) -> tuple[Exchange, str | None]:
        if step.repeat is None:
            exchange = self._send(step, names, where)
            return exchange, None if step.accepts(exchange.status) else _unexpected(exchange, step)
        last: list[Exchange] = []

        def attempt() -> Exchange:
            exchange = self._send(step, names, where)
            last[:] = [exchange]
            if not step.accepts(exchange.status):
                raise GiveUp(_unexpected(exchange, step))
            if not step.repeat.until.holds({"status": exchange.status, **self._lenient(step, exchange)}):
                raise NotReady(f"{exchange.status} {exchange.body[:120]!r}")
            return exchange

        wait = Wait(service=self.target, what=f"{where} ({step.method}) until {step.repeat.until.text}",
                    probe=attempt, timeout=step.repeat.deadline, interval=step.repeat.every, clock=self.clock)
        try:
            return wait.run(), None
        except WaitTimeout as exc:
            return last[0], str(exc)

    def _send(self, step: Step, names: Mapping[str, object], where: str) -> Exchange:
        try:
            url = render(step.url, names) if step.url is not None else str(names["base"]) + render(step.path or "", names)
            query = {key: render(value, names) for key, value in step.query.items()}
            headers = {**(self.session_headers if step.auth else {}),
                       **{key: render(value, names) for key, value in step.headers.items()}}
            body = None
            json_body = render_value(step.json, names) if step.json is not None else None
            if step.form is not None:
                body = urlencode(render_value(dict(step.form), names)).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        except TemplateError as exc:
            raise TargetError(f"target {self.target!r}, {where}: {exc}") from None
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        return self.client.request(step.method, url, headers=headers, json_body=json_body, data=body,
                                   cookies=self.jar, deadline=step.deadline, read_timeout=step.read_timeout,
                                   record=self.record)

    def _lenient(self, step: Step, exchange: Exchange) -> dict[str, object]:
        """Captures as far as this answer has them (for `until`): a job not ready has no key yet."""
        values = {}
        for name, capture in step.capture.items():
            try:
                values[name] = capture.take(exchange, self.jar)
            except LookupError:
                values[name] = None
        return values

    def _capture(self, step: Step, exchange: Exchange, captured: dict[str, object],
                 names: dict[str, object]) -> str | None:
        for name, capture in step.capture.items():
            try:
                captured[name] = names[name] = capture.take(exchange, self.jar)
            except LookupError as exc:
                return f"capture {name} = \"{capture.source}:{capture.ref}\": {exc} ({_unexpected(exchange)})"
        return None


def _unexpected(exchange: Exchange, step: Step | None = None) -> str:
    """What went wrong with an answer, for a person: the request, the status, what was expected."""
    if exchange.status is None:
        return f"{exchange.label}: {exchange.error}"
    expected = ""
    if step is not None:
        wanted = ", ".join(map(str, step.expect)) if step.expect else "2xx"
        expected = f" (expected {wanted})"
    return f"{exchange.label} answered {exchange.status}{expected}: {exchange.body[:200]!r}"
