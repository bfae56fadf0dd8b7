"""Conditional requests (RFC 9110 §13.1.1-§13.1.4) evaluated in the order of §13.2.2.

The range server and the reference backend answer a stream request through
`infra.swarm.http_media`, which asks this module first: a browser revalidating a cached
video sends If-None-Match (or If-Modified-Since), and answering it with 200 and the whole
video wastes the viewer's bandwidth; a client that only wants the bytes of a version it
knows sends If-Match (or If-Unmodified-Since) and must not get another version's bytes.

Only GET and HEAD reach this module (OPTIONS is a CORS preflight, answered before), and
the resource exists by then (§13.2.1: a 404 or 401 takes precedence over preconditions).
The order, with what each step decides for a GET or HEAD:

1. If-Match present: no listed tag matches the current ETag by *strong* comparison (a
   weak tag never matches) and it is not ``*``  -> 412 (§13.1.1 MUST NOT perform);
2. else If-Unmodified-Since, a valid HTTP-date, before Last-Modified -> 412 (§13.1.4;
   ignored when If-Match is present or the date is invalid, a list included);
3. If-None-Match present: a listed tag matches by *weak* comparison, or ``*`` -> 304
   (§13.1.2 MUST, for GET and HEAD);
4. else If-Modified-Since, a valid single HTTP-date, at or after Last-Modified -> 304
   (§13.1.3; ignored when If-None-Match is present, the date is invalid or a list);
5. otherwise the request goes on to If-Range and Range (§13.1.5, §14).

An entity-tag list that cannot be parsed matches nothing (If-Match then fails: the
client cannot show it holds the current version; If-None-Match then lets the request go
on: the whole answer is always correct). Dates compare at whole seconds, the resolution
of the Last-Modified field the client got them from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Union

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "(" + "|".join(_MONTHS) + ")"
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
#: §5.6.7: a recipient MUST accept all three formats. Group order: day, month, year, h, m, s.
_IMF_FIXDATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) " + _MONTH + r" (\d{4}) " + _TIME + " GMT")
_RFC850 = re.compile(r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-" + _MONTH
                     + r"-(\d{2}) " + _TIME + " GMT")
_ASCTIME = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MONTH + r" ([ \d]\d) " + _TIME + r" (\d{4})")
#: §8.8.3: entity-tag = [ weak ] opaque-tag; etagc = %x21 / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")')
_OWS = " \t"


@dataclass(frozen=True)
class NotModified:
    """Answer 304 without a body: the client's copy is current (§15.4.5)."""

    reason: str


@dataclass(frozen=True)
class PreconditionFailed:
    """Answer 412: the client asked for a version that is no longer the current one (§15.5.13)."""

    reason: str


Outcome = Union[NotModified, PreconditionFailed, None]


def http_date(value: str) -> datetime | None:
    """The instant an HTTP-date names (§5.6.7), or None if the value is not exactly one."""
    value = value.strip(_OWS)
    if (match := _IMF_FIXDATE.fullmatch(value)) is not None:
        day, month, year, hour, minute, second = match.groups()
    elif (match := _RFC850.fullmatch(value)) is not None:
        day, month, year, hour, minute, second = match.groups()
        # §5.6.7: a two-digit year more than 50 years in the future is in the past century
        this_year = datetime.now(timezone.utc).year
        year = str(2000 + int(year)) if 2000 + int(year) <= this_year + 50 else str(1900 + int(year))
    elif (match := _ASCTIME.fullmatch(value)) is not None:
        month, day, hour, minute, second, year = match.groups()
    else:
        return None
    try:
        return datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second),
                        tzinfo=timezone.utc)
    except ValueError:      # 31 Feb, hour 25, second 61: not a date
        return None


def entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque-tag) of each member of ``#entity-tag`` (empty members ignored, §5.6.1),
    or None if the list cannot be parsed."""
    tags = []
    for member in value.split(","):
        member = member.strip(_OWS)
        if not member:
            continue
        match = _ENTITY_TAG.fullmatch(member)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
    return tags


def _any_matches(value: str, etag: str, strong: bool) -> bool:
    """Whether ``*`` or a listed entity tag matches `etag` (§8.8.3.2 strong or weak comparison)."""
    if value.strip(_OWS) == "*":
        return True
    tags = entity_tags(value)
    if not tags:
        return False
    current_weak, current = etag.startswith("W/"), etag.removeprefix("W/")
    return any(tag == current and not (strong and (weak or current_weak)) for weak, tag in tags)


def evaluate(method: str, headers: Mapping[str, str], etag: str, last_modified: datetime) -> Outcome:
    """What the preconditions of a GET or HEAD decide, in §13.2.2's order; None: go on."""
    modified = last_modified.astimezone(timezone.utc).replace(microsecond=0)
    if_match = headers.get("If-Match")
    if if_match is not None:
        if not _any_matches(if_match, etag, strong=True):
            return PreconditionFailed(f"If-Match {_shown(if_match)} does not match the current ETag {etag}")
    elif (since := _date(headers.get("If-Unmodified-Since"))) is not None and modified > since:
        return PreconditionFailed(f"the video was modified at {modified.isoformat()}, after If-Unmodified-Since")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if _any_matches(if_none_match, etag, strong=False):
            return NotModified(f"If-None-Match {_shown(if_none_match)} matches the current ETag {etag}")
    elif method in ("GET", "HEAD") and (since := _date(headers.get("If-Modified-Since"))) is not None \
            and modified <= since:
        return NotModified(f"the video was not modified since {since.isoformat()}")
    return None


def _date(value: str | None) -> datetime | None:
    return None if value is None else http_date(value)


def _shown(text: str) -> str:
    """A header for a reason (it may be 8 KiB; reasons end up in logs and bodies)."""
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")
