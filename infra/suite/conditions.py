"""Conditional request headers as a feature writes them, filled with the validators the
viewer holds (RFC 9110 §13.1): ``If-None-Match: {etag}``, ``If-Match: W/{etag}``,
``If-Modified-Since: {date-1}`` (one second before the Last-Modified the server sent),
several joined with `` + ``. A placeholder whose validator the server never sent is an
error that names the clause asking for it: the scenario cannot be judged without it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description

from infra.suite import library
from infra.suite.http import Exchange
from infra.suite.matchers import exchange_line

SEPARATOR = " + "
_DATE = re.compile(r"\{date([+-]\d+)?\}")


class MissingValidator(AssertionError):
    """The scenario needs a validator the server did not send (an RFC SHOULD, so a failure)."""


@dataclass(frozen=True)
class Validators:
    """The ETag and Last-Modified field values of the server's last plain answer, as sent."""

    etag: str | None
    last_modified: str | None

    def date(self, offset: int) -> str:
        """Last-Modified moved by `offset` seconds, as an IMF-fixdate (§5.6.7)."""
        if self.last_modified is None:
            raise MissingValidator("the server sent no Last-Modified (RFC 9110 §8.8.2 SHOULD), "
                                   "so no date can be compared with it")
        try:
            moment = parsedate_to_datetime(self.last_modified)
        except (TypeError, ValueError):
            raise MissingValidator(f"Last-Modified {self.last_modified!r} is not an HTTP-date (RFC 9110 §5.6.7)") from None
        return format_datetime(moment + timedelta(seconds=offset), usegmt=True)

    def fill(self, value: str, positions: dict[str, int]) -> str:
        """One header value with {etag}, {date}, {date-N} and range expressions filled in."""
        if "{etag}" in value:
            if self.etag is None:
                raise MissingValidator("the server sent no ETag (RFC 9110 §8.8.3 SHOULD), so the viewer has none to send")
            value = value.replace("{etag}", self.etag)
        value = _DATE.sub(lambda m: self.date(int(m.group(1) or 0)), value)
        return library.expand(value, positions) if "{" in value else value


def headers(spec: str, validators: Validators, positions: dict[str, int]) -> dict[str, str]:
    """``Name: value + Name: value`` -> the request headers, validators filled in."""
    out: dict[str, str] = {}
    for field in spec.split(SEPARATOR):
        name, colon, value = field.partition(":")
        if not colon:
            raise ValueError(f"{field!r} is not 'Name: value'")
        out[name.strip()] = validators.fill(value.strip(), positions)
    return out


class NotPerformed(BaseMatcher[Exchange]):
    """An answer that did not perform the method: it came, and it is not 2xx (§13.1.1)."""

    def _matches(self, item: Exchange) -> bool:
        return item.status is not None and not 200 <= item.status < 300

    def describe_to(self, description: Description) -> None:
        description.append_text("an answer that does not perform the method (no 2xx)")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(exchange_line(item))


def not_performed() -> NotPerformed:
    return NotPerformed()
