"""Hostile clients below what `requests` lets one send: exact request bytes (paths no
library normalises, headers past every limit), requests trickled a byte at a time,
readers that never read the body, and connections left half open.

Every socket has a timeout; every answer becomes an `infra.suite.http.Exchange`, so the
same invariants judge it.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from infra.ecosystem import clock
from infra.suite.http import Exchange

SOCKET_TIMEOUT = 15.0


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def request_bytes(method: str, target: str, host: str, headers: dict[str, str]) -> bytes:
    """An HTTP/1.1 request, byte for byte as given (the target is not normalised)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def send(url: str, raw: bytes, method: str = "GET", trickle: float = 0.0,
         timeout: float = SOCKET_TIMEOUT) -> Exchange:
    """Send `raw` to the server of `url` (a byte at a time, `trickle` seconds apart, if
    asked) and read the whole answer."""
    exchange = Exchange(method, url, {}, raw, started=clock.monotonic())
    try:
        with socket.create_connection(host_port(url), timeout=timeout) as sock:
            if trickle:
                for i in range(len(raw)):
                    sock.sendall(raw[i:i + 1])
                    clock.sleep(trickle)
            else:
                sock.sendall(raw)
            response = http.client.HTTPResponse(sock, method=method)
            response.begin()
            exchange.headers_after = clock.monotonic() - exchange.started
            exchange.status, exchange.reason = response.status, response.reason
            exchange.headers = dict(response.getheaders())
            exchange.body = response.read()
    except http.client.IncompleteRead as exc:
        exchange.body, exchange.error = exc.partial, f"IncompleteRead: {len(exc.partial)} bytes, more expected"
    except (OSError, http.client.HTTPException) as exc:
        exchange.error = f"{exc.__class__.__name__}: {exc}"
    exchange.elapsed = clock.monotonic() - exchange.started
    return exchange


@dataclass
class Refusal:
    """How a server met a request past its limits: a status, or a closed connection."""

    label: str
    exchange: Exchange

    @property
    def outcome(self) -> str:
        if self.exchange.status is not None:
            return str(self.exchange.status)
        error = self.exchange.error or ""
        if any(word in error for word in ("Reset", "Broken", "RemoteDisconnected", "IncompleteRead")):
            return "closed"
        return f"no answer ({error[:60]})"


def oversized(url: str, path: str, headers: dict[str, str]) -> list[Refusal]:
    """Requests past any sane limit: one header of 8 KiB, 64 KiB and 1 MiB, a thousand
    headers, a 100 KiB Range, a 100 KiB request target."""
    host = "%s:%d" % host_port(url)
    cases = {
        "one 8 KiB header": {**headers, "X-Big": "a" * 8192},
        "one 64 KiB header": {**headers, "X-Big": "a" * 65536},
        "one 1 MiB header": {**headers, "X-Big": "a" * 2**20},
        "1000 headers": {**headers, **{f"X-H{i}": "v" for i in range(1000)}},
        "a 100 KiB Range": {**headers, "Range": "bytes=" + ",".join("0-0" for _ in range(25_000))},
    }
    out = [Refusal(label, send(url, request_bytes("GET", path, host, values))) for label, values in cases.items()]
    out.append(Refusal("a 100 KiB request target",
                       send(url, request_bytes("GET", path + "?" + "a" * 102_400, host, headers))))
    return out


def trickled(url: str, path: str, headers: dict[str, str], delay: float, clients: int) -> list[Exchange]:
    """`clients` requests at once, each sent a byte at a time, `delay` apart."""
    host = "%s:%d" % host_port(url)
    raw = request_bytes("GET", path, host, headers)
    results: list[Exchange] = []
    threads = [threading.Thread(target=lambda: results.append(send(url, raw, trickle=delay)))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SOCKET_TIMEOUT + delay * len(raw) + 5)
    return results


def _open(url: str, first_bytes: bytes) -> socket.socket | None:
    try:
        sock = socket.create_connection(host_port(url), timeout=SOCKET_TIMEOUT)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a reader that barely reads, if at all
        if first_bytes:
            sock.sendall(first_bytes)
        return sock
    except OSError:
        return None


def _close(sock: socket.socket, reset: bool) -> None:
    if reset:   # RST instead of FIN: a client that vanished
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def held_open(url: str, openings: list[bytes], hold: float, meanwhile: Callable[[], None]) -> int:
    """Open one connection per entry of `openings` (sending those bytes first), keep them
    all open for `hold` seconds while `meanwhile` runs (the service must keep serving),
    then close them, half with a reset. Returns how many connections were opened."""
    socks = [s for s in (_open(url, first) for first in openings) if s is not None]
    try:
        started = clock.monotonic()
        meanwhile()
        clock.sleep(max(0.0, hold - (clock.monotonic() - started)))
    finally:
        for index, sock in enumerate(socks):
            _close(sock, reset=index % 2 == 0)
    return len(socks)


def half_open_openings(url: str, path: str, count: int) -> list[bytes]:
    """A third send nothing, a third part of a request line, a third headers without the blank line."""
    host = "%s:%d" % host_port(url)
    kinds = [b"", f"GET {path} HT".encode(), f"GET {path} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=0-".encode()]
    return [kinds[i % 3] for i in range(count)]


def non_reading_openings(url: str, path: str, headers: dict[str, str], count: int) -> list[bytes]:
    """Complete requests for the whole file, from clients that will never read the answer."""
    host = "%s:%d" % host_port(url)
    return [request_bytes("GET", path, host, headers)] * count
