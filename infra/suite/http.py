"""An HTTP client for the suite: one requests Session, explicit deadlines on the
connection, on every read and on the whole exchange, and a record of every exchange
(kept for the report, with secrets redacted when it is rendered)."""

from __future__ import annotations

import json

import hashlib
from infra.ecosystem import clock
from dataclasses import dataclass, field
from typing import Callable

import requests
from requests.cookies import RequestsCookieJar

from infra.suite import redact

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0          # longest silence allowed between two bytes
EXCHANGE_DEADLINE = 120.0    # longest a whole exchange may take
CHUNK = 64 * 1024


class ExchangeDeadline(TimeoutError):
    pass


@dataclass
class Exchange:
    """One request and what came back (the body as far as it was read)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None = None
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    started: float = 0.0
    headers_after: float | None = None     # seconds until the status line and headers
    first_byte_after: float | None = None  # seconds until the first body byte
    elapsed: float | None = None           # seconds until the body was read (or aborted)
    aborted_after: int | None = None       # the client hung up after this many body bytes
    error: str | None = None               # transport error (timeout, reset, refused)
    longest_pause: float | None = None     # seconds: the longest wait between two chunks of the body
    longest_pause_at: int | None = None    # body offset where that wait ended (the stall's place)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)   # as received, repeated fields kept
    sent_headers: dict[str, str] = field(default_factory=dict)   # what went on the wire (the client's defaults too)
    http_version: str = "HTTP/1.1"

    def json(self, default: object = None) -> object:
        """The body parsed as JSON; `default` when it is not JSON (steps never parse bodies)."""
        try:
            return json.loads(self.body)
        except ValueError:
            if default is None:
                raise AssertionError(f"{self.label} -> {self.status}: the body is not JSON: {self.body[:200]!r}") from None
            return default

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def label(self) -> str:
        rng = self.request_headers.get("Range")
        return f"{self.method} {redact.text(self.url)}" + (f" [Range: {rng}]" if rng else "")

    def summary(self) -> dict:
        """The exchange as the report shows it: secrets redacted, body as length + sha256 + hex head."""
        body_json = redact.json_body(self.body) if self.body and len(self.body) < 64 * 1024 else None
        return {
            "request": {"method": self.method, "url": redact.text(self.url),
                        "headers": redact.headers(self.request_headers),
                        "body": redact.json_body(self.request_body) if self.request_body else None},
            "response": {"status": self.status, "reason": self.reason, "headers": redact.headers(self.headers),
                         "body_length": len(self.body), "body_sha256": hashlib.sha256(self.body).hexdigest(),
                         "body_head_hex": self.body[:32].hex(" "), "body_json": body_json,
                         "aborted_after": self.aborted_after},
            "timing_ms": {k: round(v * 1000, 1) if v is not None else None for k, v in
                          (("headers", self.headers_after), ("first_byte", self.first_byte_after),
                           ("total", self.elapsed), ("longest_pause", self.longest_pause))},
            "longest_pause_at": self.longest_pause_at,
            "error": self.error,
        }


class Client:
    """All HTTP of a scenario goes through here, so every exchange is recorded."""

    def __init__(self, on_exchange: Callable[[Exchange], None] | None = None) -> None:
        self.session = requests.Session()
        self.session.trust_env = False   # never a proxy: the swarm is on loopback
        self.exchanges: list[Exchange] = []
        self.on_exchange = on_exchange

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, json_body=None,
                read_limit: int | None = None, deadline: float = EXCHANGE_DEADLINE,
                read_timeout: float = READ_TIMEOUT, record: bool = True, data: bytes | None = None,
                cookies: RequestsCookieJar | None = None) -> Exchange:
        """Send one request and read the body, at most `read_limit` bytes (then hang up).

        `data` is a raw body (its Content-Type in `headers`); `cookies` is a jar that sends
        and keeps the cookies of this exchange instead of the session's (a target's login
        cookies must outlive one scenario's client, and must not leak into its other requests)."""
        headers = dict(headers or {})
        body = data
        if json_body is not None:
            import json

            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        exchange = Exchange(method, url, headers, body, started=clock.monotonic())
        own_jar = self.session.cookies
        if cookies is not None:
            self.session.cookies = cookies
        try:
            response = self.session.request(method, url, headers=headers, data=body, stream=True,
                                            allow_redirects=False, timeout=(CONNECT_TIMEOUT, read_timeout))
        except requests.RequestException as exc:
            exchange.error = f"{exc.__class__.__name__}: {exc}"
            exchange.elapsed = clock.monotonic() - exchange.started
            return self._done(exchange, record)
        finally:
            self.session.cookies = own_jar
        with response:
            exchange.headers_after = clock.monotonic() - exchange.started
            exchange.status, exchange.reason = response.status_code, response.reason
            exchange.headers = dict(response.headers)
            exchange.raw_headers = list(response.raw.headers.items())
            exchange.sent_headers = dict(response.request.headers)
            exchange.http_version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(response.raw.version, "HTTP/1.1")
            exchange.body = self._read(response, exchange, read_limit, deadline)
        exchange.elapsed = clock.monotonic() - exchange.started
        return self._done(exchange, record)

    def _read(self, response: requests.Response, exchange: Exchange, limit: int | None, deadline: float) -> bytes:
        """The body, chunk by chunk; the stall detector keeps the longest wait between two
        chunks (a viewer sees it as the picture freezing mid-way) and where it ended."""
        parts, total, previous = [], 0, None
        try:
            for chunk in response.raw.stream(CHUNK, decode_content=False):
                now = clock.monotonic()
                if exchange.first_byte_after is None:
                    exchange.first_byte_after = now - exchange.started
                elif previous is not None and (exchange.longest_pause is None or now - previous > exchange.longest_pause):
                    exchange.longest_pause, exchange.longest_pause_at = now - previous, total
                previous = now
                parts.append(chunk)
                total += len(chunk)
                if limit is not None and total >= limit:
                    exchange.aborted_after = limit
                    break
                if clock.monotonic() - exchange.started > deadline:
                    raise ExchangeDeadline(f"{exchange.label}: body not complete after {deadline:g}s ({total} bytes read)")
        except (requests.RequestException, OSError) as exc:
            exchange.error = f"{exc.__class__.__name__}: {exc}"
        except Exception as exc:  # urllib3 protocol errors (short body, reset) surface here
            exchange.error = f"{exc.__class__.__name__}: {exc}"
        data = b"".join(parts)
        return data[:limit] if limit is not None else data

    def _done(self, exchange: Exchange, record: bool) -> Exchange:
        if record:
            self.record(exchange)
        return exchange

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if self.on_exchange:
            self.on_exchange(exchange)
