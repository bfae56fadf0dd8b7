"""HTTP lint on every exchange: mnot's httplint (the message-level checks of REDbot) over
what the suite's client recorded, so the report shows what nobody wrote a scenario for.

Every note is kept for the report; the grade (`features/http_lint.feature`) counts only
the notes about the server's answer that the suite cares about. What it leaves out, and
why, is `OUT_OF_GRADE` (the README lists the same): caching advice (the suite judges
ranges and bytes, not cache policy), notes about the suite's own requests, and two
places where the linter cannot know better than RFC 9110 or cannot sniff a video.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import urlsplit

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description
from httplint import HttpRequestLinter, HttpResponseLinter
from httplint.note import categories, levels

from infra.suite import redact
from infra.suite.http import Exchange
from infra.suite.matchers import exchange_line

#: httplint's levels from worst to best; `bad` is what the linter calls an error.
ERROR, WARNING = levels.BAD.value, levels.WARN.value


@dataclass(frozen=True)
class LintNote:
    message: str           # "request" (the suite's) or "response" (the server's)
    level: str             # good | info | warning | bad
    category: str          # httplint's category, e.g. "Partial Content"
    name: str              # httplint's note class, e.g. "CL_INCORRECT"
    subject: str           # what it is about, e.g. "field-content-length"
    summary: str
    out_of_grade: str = ""   # why the grade leaves it out; empty when it counts

    @property
    def graded(self) -> bool:
        return not self.out_of_grade

    def line(self) -> str:
        why = f"  (not graded: {self.out_of_grade})" if self.out_of_grade else ""
        return f"[{self.level}] {self.message} {self.name} ({self.category}): {self.summary}{why}"


def _is_multipart(exchange: Exchange) -> bool:
    return (exchange.header("Content-Type") or "").lower().startswith("multipart/byteranges")


#: (name, why, applies?) — a note that matches is reported but not graded.
OUT_OF_GRADE: list[tuple[str, str, Callable[[dict, Exchange], bool]]] = [
    ("request notes", "about the suite's own request, not the server's answer",
     lambda note, ex: note["message"] == "request"),
    ("caching", "caching headers (Cache-Control, Expires, freshness heuristics): the suite does not judge cache policy",
     lambda note, ex: note["category"] == categories.CACHING.name),
    ("CONTENT_TYPE_MISMATCH for video", "the linter's sniffer (sniffpy) cannot recognise video and answers "
     "'undefined/undefined'; the bytes are compared with the source file instead",
     lambda note, ex: note["name"] == "CONTENT_TYPE_MISMATCH" and note["vars"].get("sniffed_type") == "undefined/undefined"),
    ("PARTIAL_WITHOUT_RANGE for multipart", "a multipart/byteranges 206 carries Content-Range in each part, never "
     "on the response (RFC 9110 §14.6, §15.3.7.2)",
     lambda note, ex: note["name"] == "PARTIAL_WITHOUT_RANGE" and _is_multipart(ex)),
]


def _linters(exchange: Exchange) -> tuple[HttpRequestLinter, HttpResponseLinter | None]:
    request = HttpRequestLinter()
    request.process_request_topline(exchange.method.encode(), exchange.url.encode(), b"HTTP/1.1")
    host = urlsplit(exchange.url).netloc
    request.process_headers([(b"Host", host.encode()), *((k.encode(), v.encode("latin-1", "replace"))
                                                         for k, v in (exchange.sent_headers or exchange.request_headers).items())])
    request.feed_content(exchange.request_body or b"")
    request.finish_content(True)
    if exchange.status is None:
        return request, None
    # No body to judge after HEAD, a hang-up or a transport error: the headers alone.
    headers_only = exchange.method == "HEAD" or exchange.aborted_after is not None or exchange.error is not None
    response = HttpResponseLinter(_related=request, no_content=headers_only)
    request.response = response
    response.process_response_topline(exchange.http_version.encode(), str(exchange.status).encode(),
                                      exchange.reason.encode("latin-1", "replace"))
    raw = exchange.raw_headers or list(exchange.headers.items())
    response.process_headers([(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in raw])
    if not headers_only:
        response.feed_content(exchange.body)
    response.finish_content(not headers_only)
    return request, response


def lint(exchange: Exchange) -> list[LintNote]:
    """Every note httplint has about one exchange, each marked graded or not (and why)."""
    request, response = _linters(exchange)
    out = []
    for message, linter in (("request", request), ("response", response)):
        for note in (linter.notes if linter is not None else []):
            raw = {"message": message, "name": type(note).__name__, "category": note.category.name,
                   "vars": {k: str(v) for k, v in note.vars.items()}}
            why = next((why for _, why, applies in OUT_OF_GRADE if applies(raw, exchange)), "")
            out.append(LintNote(message, note.level.value, str(note.category.value), raw["name"], note.subject,
                                redact.text(str(note.summary)), why))
    return out


def problems(notes: list[LintNote], level: str) -> list[LintNote]:
    """The graded notes of one level (`ERROR` or `WARNING`)."""
    return [note for note in notes if note.graded and note.level == level]


def report(exchange: Exchange, notes: list[LintNote]) -> str:
    """The notes as the report shows them under the exchange (good and info ones too)."""
    order = {levels.BAD.value: 0, levels.WARN.value: 1, levels.INFO.value: 2, levels.GOOD.value: 3}
    lines = [note.line() for note in sorted(notes, key=lambda n: order.get(n.level, 9))]
    return f"httplint {exchange.label} -> {exchange.status or exchange.error}\n" + "\n".join(lines or ["(no notes)"])


def as_dicts(notes: list[LintNote]) -> list[dict]:
    return [asdict(note) for note in notes]


class LintClean(BaseMatcher[list]):
    """Exchanges about whose answers the linter has no graded note of one level."""

    def __init__(self, level: str) -> None:
        self.level = level

    def _found(self, item: list[Exchange]) -> list[tuple[Exchange, list[LintNote]]]:
        found = [(exchange, problems(lint(exchange), self.level)) for exchange in item]
        return [(exchange, notes) for exchange, notes in found if notes]

    def _matches(self, item: list[Exchange]) -> bool:
        return bool(item) and not self._found(item)

    def describe_to(self, description: Description) -> None:
        description.append_text(f"answers in which httplint finds no {self.level} notes (besides those not graded)")

    def describe_mismatch(self, item: list[Exchange], description: Description) -> None:
        if not item:
            description.append_text("no answers were recorded")
            return
        lines = [f"{exchange_line(exchange)}:\n" + "\n".join(f"      {note.line()}" for note in notes)
                 for exchange, notes in self._found(item)]
        description.append_text("\n    ".join(lines))


def lint_clean(level: str) -> LintClean:
    return LintClean(level)
