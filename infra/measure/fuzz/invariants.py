"""What every answer to hostile input must still be, whatever the input was.

* an answer at all, within the client's deadlines (not a reset, not a hang);
* no 5xx (a documented 504 is allowed only where the caller says so);
* exact framing: Content-Length equals the body; a single-part 206 has a Content-Range
  that fits the file and the body; a multipart 206 parses (`infra.suite.range_answers`);
  a 416 says ``bytes */<length>``;
* every byte a 200 or 206 serves from the file is the file's own, at the offset named.

`check_media` judges an answer of the stream URL (with the file as oracle); `check_api`
judges an answer that serves no file (an id or JSON the server must refuse cleanly);
`check_conditional` an answer to a request with preconditions (a 304 has no body).
Each problem is a `Problem`: its kind (one of KINDS) and a short signature, so a
campaign counts distinct failures rather than every repetition of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.suite.http import Exchange
from infra.suite.range_answers import Malformed, boundary_of, parts_of
from infra.swarm import preconditions, ranges

SERVER_ERROR = "server error"
FRAMING = "framing error"
BYTES = "byte mismatch"
NO_ANSWER = "no answer"
CONTRACT = "contract deviation"      # differs from swarmspec's stricter contract: graded, not a failure
KINDS = (SERVER_ERROR, FRAMING, BYTES, NO_ANSWER)


@dataclass(frozen=True)
class Problem:
    kind: str
    signature: str      # what makes two problems the same one (status, the rule broken)
    detail: str = ""    # the first example's particulars

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.signature


def _transport(exchange: Exchange, allow: frozenset[int]) -> list[Problem]:
    if exchange.status is None:
        return [Problem(NO_ANSWER, (exchange.error or "no status").split(":", 1)[0], exchange.error or "")]
    if exchange.status >= 500 and exchange.status not in allow:
        return [Problem(SERVER_ERROR, f"{exchange.status}", exchange.body[:200].decode("latin-1"))]
    return []


def _length(exchange: Exchange) -> list[Problem]:
    if exchange.method == "HEAD" or exchange.status in (204, 304):
        return []
    if exchange.error:
        return [Problem(FRAMING, "body cut short", exchange.error[:200])]
    declared = exchange.header("Content-Length")
    if declared is None:
        return []       # chunked or close-delimited: framed by the transport, nothing to compare
    if not declared.strip().isdigit() or int(declared) != len(exchange.body):
        return [Problem(FRAMING, "Content-Length differs from the body",
                        f"Content-Length {declared!r}, {len(exchange.body)} bytes")]
    return []


def check_api(exchange: Exchange, allow: frozenset[int] = frozenset()) -> list[Problem]:
    """An answer that serves no file: an answer, no 5xx, exact length."""
    problems = _transport(exchange, allow)
    return problems or _length(exchange)


def check_media(exchange: Exchange, file: bytes, range_header: str | None = None,
                allow: frozenset[int] = frozenset()) -> list[Problem]:
    """An answer of the stream URL, judged against the file it streams; with
    `range_header`, also against swarmspec's contract (a CONTRACT problem, informational)."""
    problems = check_api(exchange, allow)
    if problems or exchange.status is None:
        return problems
    size = len(file)
    if exchange.status == 416:
        value = exchange.header("Content-Range")
        if value is None or value.replace(" ", "") != f"bytes*/{size}":
            problems.append(Problem(FRAMING, "416 without Content-Range bytes */length",
                                    f"Content-Range {value!r}"))
    elif exchange.status in (200, 206):
        problems += _served_bytes(exchange, file)
    if range_header is not None and exchange.method == "GET":
        problems += _contract(exchange, range_header, size)
    return problems


def _served_bytes(exchange: Exchange, file: bytes) -> list[Problem]:
    if exchange.method == "HEAD":
        return []
    if exchange.status == 206 and boundary_of(exchange.header("Content-Type")) is None \
            and exchange.header("Content-Range") is None:
        return [Problem(FRAMING, "206 without Content-Range", "")]
    try:
        parts = parts_of(exchange, len(file))
    except Malformed as exc:
        return [Problem(FRAMING, str(exc).split(":", 1)[0][:80], str(exc)[:300])]
    problems = []
    for part in parts:
        if len(part.data) != part.end - part.start + 1:
            problems.append(Problem(FRAMING, "Content-Range does not match the body",
                                    f"{part.start}-{part.end} but {len(part.data)} bytes"))
            continue
        expected = file[part.start:part.end + 1]
        if part.data != expected:
            at = next((i for i, (a, b) in enumerate(zip(part.data, expected)) if a != b), min(len(part.data), len(expected)))
            signature = "length differs" if at == min(len(part.data), len(expected)) else "bytes differ"
            problems.append(Problem(BYTES, f"{exchange.status} {signature}",
                                    f"part {part.start}-{part.end}: first difference at file offset {part.start + at}"))
    return problems


def _contract(exchange: Exchange, header: str, size: int) -> list[Problem]:
    """What swarmspec's contract (`infra.swarm.ranges`) would have answered, if the server
    differs. A header with control characters is not a field value at all (RFC 9110 §5.5):
    the HTTP parser's 400 is right there, and the range contract has nothing to say."""
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in header):
        return []
    want = ranges.resolve(header, size)
    expected = {ranges.Full: 200, ranges.Partial: 206, ranges.Multipart: 206, ranges.Unsatisfiable: 416}[type(want)]
    if exchange.status != expected:
        return [Problem(CONTRACT, f"{exchange.status} where the contract answers {expected}",
                        f"Range {header[:120]!r}")]
    if isinstance(want, ranges.Multipart) and boundary_of(exchange.header("Content-Type")) is None:
        return [Problem(CONTRACT, "one part where the contract answers multipart", f"Range {header[:120]!r}")]
    return []


def check_conditional(exchange: Exchange, file: bytes, headers: dict[str, str], etag: str | None,
                      last_modified: datetime | None) -> list[Problem]:
    """An answer of the stream URL to a request with preconditions (and maybe a Range):
    a 304 carries no body, a 200/206/416 is judged as any media answer, and the status is
    compared with what swarmspec's contract (`infra.swarm.preconditions`, then the range
    contract) answers -- a CONTRACT problem, informational -- when the server sent validators."""
    if exchange.status == 304:
        problems = _transport(exchange, frozenset())
        if not problems and exchange.body:
            problems.append(Problem(FRAMING, "304 with a body", f"{len(exchange.body)} bytes"))
    else:
        problems = check_media(exchange, file) if exchange.status not in (412,) else check_api(exchange)
    if problems or exchange.status is None or etag is None or last_modified is None:
        return problems
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for value in headers.values() for c in value):
        return problems     # not a field value at all (RFC 9110 §5.5): the parser's 400 is right
    outcome = preconditions.evaluate(exchange.method, headers, etag, last_modified)
    if outcome is not None:
        expected = 304 if isinstance(outcome, preconditions.NotModified) else 412
    else:
        range_header = headers.get("Range") if exchange.method == "GET" else None
        decision = ranges.resolve(range_header, len(file))
        expected = {ranges.Full: 200, ranges.Partial: 206, ranges.Multipart: 206, ranges.Unsatisfiable: 416}[type(decision)]
    if exchange.status != expected:
        shown = "; ".join(f"{name}: {value[:60]!r}" for name, value in headers.items())
        problems.append(Problem(CONTRACT, f"{exchange.status} where the contract answers {expected}", shown))
    return problems
