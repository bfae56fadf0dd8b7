"""Grading a server that answers a satisfiable range with the whole video (200).

RFC 9110 §14.2 lets a server ignore the Range header field: a 200 with the whole video,
byte for byte, breaks no MUST. So a step that wanted a range does not fail such an answer:

* where the range is only the way a scenario gets at its point (a viewer who "still gets
  served", a cached range that comes fast), the 200 is *non-strict* — swarmspec's
  contract wants the 206 (`Judge.stricter`);
* where the range *is* the point (seeking, several ranges, If-Range...), what the grade
  says depends on what the server does with ranges in general, which the suite observes
  once per run with a probe (`probe`): a target that never serves a satisfiable range
  lacks the capability, so the scenario is *unimplemented*, the probe's exchanges quoted
  as the evidence; a target that serves ranges elsewhere and ignores this one is
  non-strict, unless a clause requires the range here (If-Range with a current
  validator, §13.1.5 SHOULD), where it is failed.

What never changes: a 200 whose bytes or Content-Length are not the video's, a 5xx, a
416 for a satisfiable range, a hang, a wrong Content-Range: failed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from hamcrest import assert_that, equal_to
from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description

from infra.suite.grading import UNIMPLEMENTED_PREFIX, Judge
from infra.suite.http import Exchange
from infra.suite.library import VideoRef
from infra.suite.matchers import body_equals, content_length_matches_body, exchange_line, first_difference, has_status

#: Tags of a scenario whose point is the range itself (an ignored range leaves nothing to judge).
RANGE_NEEDS = ("needs.ranges", "needs.seeking")
IGNORE_ALLOWED = "§14.2: a server MAY ignore the Range header field and send the whole video with 200"
PROBE_SPAN = 1024


class RangeHabit(str, enum.Enum):
    """What the probe saw the target do with satisfiable ranges."""

    SERVES = "serves ranges"              # at least one correct 206
    IGNORES = "ignores every range"       # every probe answered 200 with the whole video
    UNCLEAR = "unclear"                   # neither (errors, refusals): no verdict is drawn from it


@dataclass(frozen=True)
class RangeEvidence:
    habit: RangeHabit
    lines: tuple[str, ...]                # one per probe: the request and what came back
    advertised: bool                      # the answers carried "Accept-Ranges: bytes"

    def text(self) -> str:
        return "; ".join(self.lines)


class WholeVideo(BaseMatcher[Exchange]):
    """200 with the whole video: Content-Length is its size and every byte read is its own
    (a reader that hung up early, as a player does, is compared as far as it read)."""

    def __init__(self, video: VideoRef) -> None:
        self.video = video

    def _problem(self, item: Exchange) -> str | None:
        if item.status != 200:
            return "not a 200"
        if item.error:
            return f"the answer broke off: {item.error}"
        length = item.header("Content-Length")
        if length is not None and length != str(self.video.size):
            return f"Content-Length {length} is not the video's {self.video.size} bytes"
        if item.aborted_after is None and len(item.body) != self.video.size:
            return f"{len(item.body)} body bytes, not the video's {self.video.size}"
        expected = self.video.read(0, len(item.body) - 1) if item.body else b""
        at = first_difference(item.body, expected)
        return None if at is None else f"first difference from {self.video.name} at offset {at}"

    def _matches(self, item: Exchange) -> bool:
        return self._problem(item) is None

    def describe_to(self, description: Description) -> None:
        description.append_text(f"200 with the whole of {self.video.name}, byte for byte")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"{exchange_line(item)}: {self._problem(item)}")


def whole_video(video: VideoRef) -> WholeVideo:
    return WholeVideo(video)


def _describe(exchange: Exchange, video: VideoRef) -> str:
    what = {200: f"200, the whole video ({video.size} bytes)" if whole_video(video).matches(exchange) else None,
            206: f"206 {exchange.header('Content-Range')}"}.get(exchange.status) or exchange_line(exchange).split(" -> ")[1]
    return f"{exchange.method} {video.name} [Range: {exchange.request_headers.get('Range')}] -> {what}"


def probe(viewer, video: VideoRef) -> RangeEvidence:
    """Ask for three satisfiable ranges (the head, the middle, a suffix) of `video`."""
    middle = video.size // 2
    answers = []
    for header, (start, end) in ((f"bytes=0-{PROBE_SPAN - 1}", (0, PROBE_SPAN - 1)),
                                 (f"bytes={middle}-{middle + PROBE_SPAN - 1}", (middle, middle + PROBE_SPAN - 1)),
                                 (f"bytes=-{PROBE_SPAN}", (video.size - PROBE_SPAN, video.size - 1))):
        exchange = viewer.play(video, header)
        served = (exchange.status == 206 and exchange.header("Content-Range") == f"bytes {start}-{end}/{video.size}"
                  and body_equals(video.read(start, end), video.name).matches(exchange))
        answers.append((exchange, served))
    if any(served for _, served in answers):
        habit = RangeHabit.SERVES
    elif all(whole_video(video).matches(exchange) for exchange, _ in answers):
        habit = RangeHabit.IGNORES
    else:
        habit = RangeHabit.UNCLEAR
    advertised = any((e.header("Accept-Ranges") or "").strip().lower() == "bytes" for e, _ in answers)
    return RangeEvidence(habit, tuple(f"{_describe(e, video)}" for e, _ in answers), advertised)


class Outcome(str, enum.Enum):
    SERVED = "served"          # 206 with the exact bytes: go on
    IGNORED = "ignored"        # 200 with the whole video, recorded non-strict: go on, judging the whole video
    UNIMPLEMENTED = "unimplemented"   # the scenario was skipped: the step returns


@dataclass
class RangeJudge:
    """The per-scenario view: its tags, its judge, the run's probe (made on first need)."""

    scenario: Any                 # behave's Scenario: its effective_tags, and skip() for "unimplemented"
    judge: Judge
    evidence_of: Callable[[], RangeEvidence]   # the run's probe, made once and kept by the World
    target_name: str
    declared: tuple[str, ...]     # what the target file claims of ranges ("ranges", "seeking")
    ignored: list[Exchange] = field(default_factory=list)   # 200s accepted as an RFC-allowed whole video

    def range_is_the_point(self) -> bool:
        return any(tag in RANGE_NEEDS for tag in self.scenario.effective_tags)

    def answer(self, exchange: Exchange, video: VideoRef, span: tuple[int, int], reason: str = "",
               essential: bool | None = None, required_by: str | None = None) -> Outcome:
        """Judge one answer to the satisfiable range `span` of `video`.

        `essential`: the range is the scenario's point (default: its @needs tags say so);
        `required_by`: the clause that makes serving this range a SHOULD/MUST (a 200 then fails
        on a target that serves ranges)."""
        start, end = span
        label = f"{reason + ': ' if reason else ''}{exchange.label}"
        if exchange.status != 200:
            assert_that(exchange, has_status(206), f"{label}: a satisfiable range is served (206) or ignored (200)")
            expected = f"bytes {start}-{end}/{video.size}"
            assert_that(exchange.header("Content-Range"), equal_to(expected), f"{label}: Content-Range")
            if exchange.aborted_after is None:
                assert_that(exchange, content_length_matches_body(), label)
            assert_that(exchange, body_equals(video.read(start, end), video.name, offset=start,
                                              partial_ok=exchange.aborted_after is not None), label)
            return Outcome.SERVED
        assert_that(exchange, whole_video(video), f"{label}: RFC 9110 §14.2 allows ignoring the range only by "
                                                  "sending the whole video")
        if essential is None:
            essential = self.range_is_the_point()
        evidence = self.evidence_of() if essential or required_by else None
        if evidence is not None and evidence.habit is RangeHabit.IGNORES and essential:
            self.scenario.skip(self.unimplemented_reason(evidence, exchange))
            return Outcome.UNIMPLEMENTED
        if evidence is not None and evidence.habit is RangeHabit.SERVES and required_by:
            assert_that(exchange, has_status(206), f"{label}: {required_by} (the target serves other ranges: "
                                                   f"{evidence.text()})")
        self.ignored.append(exchange)
        self.judge.stricter(exchange, has_status(206), IGNORE_ALLOWED, label)
        return Outcome.IGNORED

    def was_ignored(self, exchange: Exchange) -> bool:
        """`answer` accepted this 200 as an RFC-allowed whole video (later steps have no range to check)."""
        return any(seen is exchange for seen in self.ignored)

    def skip_if_never_served(self, what: str) -> bool:
        """For a step that found no trace of a range it needs (e.g. a browser that never jumped
        to the index): skip the scenario as unimplemented when the target serves no range at all."""
        evidence = self.evidence_of()
        if evidence.habit is not RangeHabit.IGNORES:
            return False
        self.scenario.skip(self.unimplemented_reason(evidence, None, what))
        return True

    def unimplemented_reason(self, evidence: RangeEvidence, exchange: Exchange | None, what: str = "") -> str:
        claims = [f"its target claims {', '.join(self.declared)}"] if self.declared else []
        if evidence.advertised:
            claims.append("its answers carry Accept-Ranges: bytes")
        claimed = f" although {' and '.join(claims)}" if claims else ""
        return (f"{UNIMPLEMENTED_PREFIX}target {self.target_name!r} serves no byte range{claimed}: every satisfiable "
                f"range is answered 200 with the whole video (RFC 9110 {IGNORE_ALLOWED}). Here: "
                + (f"{exchange.label} -> 200. " if exchange else "")
                + (f"{what}. " if what else "") + f"The run's probe: {evidence.text()}")

