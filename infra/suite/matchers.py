"""PyHamcrest matchers for HTTP exchanges. Each describes itself as a noun phrase and,
on mismatch, names the exchange and the first specific difference (for bodies: the
first differing byte offset and both values). Matchers hold no state and never raise."""

from __future__ import annotations

import hashlib

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description

from infra.suite.http import Exchange


def exchange_line(exchange: Exchange) -> str:
    text = f"{exchange.label} -> {exchange.status} {exchange.reason}"
    if exchange.error:
        text += f" (transport error: {exchange.error})"
    return text


def _body_hint(exchange: Exchange) -> str:
    ctype = (exchange.header("Content-Type") or "").lower()
    if exchange.body and ("json" in ctype or "text" in ctype) and len(exchange.body) < 2000:
        return f"; body: {exchange.body.decode(errors='replace')[:300]}"
    return ""


class HasStatus(BaseMatcher[Exchange]):
    def __init__(self, codes: tuple[int, ...]) -> None:
        self.codes = codes

    def _matches(self, item: Exchange) -> bool:
        return item.status in self.codes

    def describe_to(self, description: Description) -> None:
        description.append_text("a response with status " + " or ".join(map(str, self.codes)))

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(exchange_line(item) + _body_hint(item))


def has_status(*codes: int) -> HasStatus:
    return HasStatus(codes)


class Answered(BaseMatcher[Exchange]):
    """Any HTTP status at all: a hang, a reset or a refused connection is none."""

    def _matches(self, item: Exchange) -> bool:
        return item.status is not None

    def describe_to(self, description: Description) -> None:
        description.append_text("an HTTP answer")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(exchange_line(item))


def answered() -> Answered:
    return Answered()


class HasHeader(BaseMatcher[Exchange]):
    def __init__(self, name: str, value: str | None, contains: bool = False) -> None:
        self.name, self.value, self.contains = name, value, contains

    def _matches(self, item: Exchange) -> bool:
        actual = item.header(self.name)
        if actual is None:
            return False
        if self.value is None:
            return True
        return self.value.lower() in actual.lower() if self.contains else actual == self.value

    def describe_to(self, description: Description) -> None:
        if self.value is None:
            description.append_text(f"a response with a {self.name} header")
        else:
            verb = "containing" if self.contains else "equal to"
            description.append_text(f"a response whose {self.name} header is {verb} {self.value!r}")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        actual = item.header(self.name)
        shown = "absent" if actual is None else repr(actual)
        description.append_text(f"{self.name} was {shown} in {exchange_line(item)}")


def has_header(name: str, value: str | None = None) -> HasHeader:
    return HasHeader(name, value)


def has_header_containing(name: str, fragment: str) -> HasHeader:
    return HasHeader(name, fragment, contains=True)


def has_content_range(expected: str) -> HasHeader:
    return HasHeader("Content-Range", expected)


class ContentLengthMatchesBody(BaseMatcher[Exchange]):
    def _matches(self, item: Exchange) -> bool:
        value = item.header("Content-Length")
        return value is not None and value.isdigit() and int(value) == len(item.body) and item.aborted_after is None

    def describe_to(self, description: Description) -> None:
        description.append_text("a complete body of exactly Content-Length bytes")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"Content-Length {item.header('Content-Length')!r} but {len(item.body)} body bytes "
                                f"were read in {exchange_line(item)}")


def content_length_matches_body() -> ContentLengthMatchesBody:
    return ContentLengthMatchesBody()


def first_difference(actual: bytes, expected: bytes) -> int | None:
    """Offset of the first differing byte (or of the end of the shorter), None if equal."""
    if actual == expected:
        return None
    limit = min(len(actual), len(expected))
    step = 4096
    for block in range(0, limit, step):
        if actual[block:block + step] != expected[block:block + step]:
            for offset in range(block, min(block + step, limit)):
                if actual[offset] != expected[offset]:
                    return offset
    return limit


class BodyEquals(BaseMatcher[Exchange]):
    """The body equals `expected`, the bytes of `source` from `offset` (file offsets in messages)."""

    def __init__(self, expected: bytes, source: str, offset: int = 0, partial_ok: bool = False) -> None:
        self.expected, self.source, self.offset, self.partial_ok = expected, source, offset, partial_ok

    def _matches(self, item: Exchange) -> bool:
        expected = self.expected[:len(item.body)] if self.partial_ok and item.aborted_after else self.expected
        return item.body == expected

    def describe_to(self, description: Description) -> None:
        digest = hashlib.sha256(self.expected).hexdigest()[:16]
        description.append_text(f"a body equal to bytes {self.offset}-{self.offset + len(self.expected) - 1} of "
                                f"{self.source} ({len(self.expected)} bytes, sha256 {digest}…)")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        at = first_difference(item.body, self.expected)
        text = f"{exchange_line(item)}: {len(item.body)} body bytes; "
        if at is None:
            text += "equal"
        elif at >= len(item.body) or at >= len(self.expected):
            text += f"the bodies agree up to byte {at} (file offset {self.offset + at}) where the shorter one ends"
        else:
            text += (f"first difference at body offset {at} (file offset {self.offset + at}): "
                     f"got 0x{item.body[at]:02x}, the file has 0x{self.expected[at]:02x}")
        description.append_text(text)


def body_equals(expected: bytes, source: str, offset: int = 0, partial_ok: bool = False) -> BodyEquals:
    return BodyEquals(expected, source, offset, partial_ok)


class WholeOrVisiblyCut(BaseMatcher[Exchange]):
    """The body is the whole of `expected`, or a prefix of it that the viewer can tell was
    cut off (the transport broke: a Content-Length not reached, a closed connection). A
    body that ends short without any sign is a silent truncation: a player would take it
    for the end of the video."""

    def __init__(self, expected: bytes, source: str) -> None:
        self.expected, self.source = expected, source

    def _matches(self, item: Exchange) -> bool:
        if item.body != self.expected[:len(item.body)]:
            return False
        return len(item.body) == len(self.expected) or item.error is not None

    def describe_to(self, description: Description) -> None:
        description.append_text(f"the whole of {self.source} ({len(self.expected)} bytes), or exact bytes up to "
                                "a visible cut (a broken transfer)")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        if item.body != self.expected[:len(item.body)]:
            BodyEquals(self.expected, self.source).describe_mismatch(item, description)
        else:
            description.append_text(f"{exchange_line(item)}: {len(item.body)} exact bytes, then the body ended "
                                    "without any error: a silent truncation")


def whole_or_visibly_cut(expected: bytes, source: str) -> WholeOrVisiblyCut:
    return WholeOrVisiblyCut(expected, source)


class HasNoBody(BaseMatcher[Exchange]):
    def _matches(self, item: Exchange) -> bool:
        return item.body == b""

    def describe_to(self, description: Description) -> None:
        description.append_text("a response without a body")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"{len(item.body)} body bytes in {exchange_line(item)}")


def has_no_body() -> HasNoBody:
    return HasNoBody()


class AnsweredWithin(BaseMatcher[Exchange]):
    """Timing budget: `which` is headers, first_byte or total."""

    def __init__(self, seconds: float, which: str) -> None:
        self.seconds, self.which = seconds, which

    def _value(self, item: Exchange) -> float | None:
        return {"headers": item.headers_after, "first_byte": item.first_byte_after, "total": item.elapsed}[self.which]

    def _matches(self, item: Exchange) -> bool:
        value = self._value(item)
        return value is not None and value <= self.seconds

    def describe_to(self, description: Description) -> None:
        description.append_text(f"a response whose {self.which.replace('_', ' ')} came within {self.seconds:g}s")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        value = self._value(item)
        shown = "never" if value is None else f"after {value:.3f}s"
        description.append_text(f"{self.which.replace('_', ' ')} came {shown} in {exchange_line(item)}")


def answered_within(seconds: float, which: str = "total") -> AnsweredWithin:
    return AnsweredWithin(seconds, which)
