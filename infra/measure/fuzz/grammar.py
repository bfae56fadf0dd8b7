"""What the fuzzer sends, as Hypothesis strategies: Range headers from the RFC 9110 §14.1
grammar and deliberately off it, stream ids and paths, and JSON bodies for the reference
backend's endpoints.

Each strategy mixes three kinds of input, because each finds different bugs: valid input
(the answer must carry exactly the file's bytes), near-valid input (one rule broken:
reversed, a space inside, a unit in capitals, a number with 30 digits) and garbage.
Numbers are drawn around the file's own landmarks (0, the middle, the last byte, the
length, one past it) as well as anywhere, so boundaries are hit often.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hypothesis import strategies as st

#: Characters a header value may carry on the wire (requests refuses CR/LF, and a
#: leading space is stripped): visible ASCII, space and tab, and some latin-1.
HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f")


def positions(size: int) -> st.SearchStrategy[int]:
    """A byte position: the file's landmarks, small numbers, anything up to 2**64 and beyond."""
    landmarks = sorted({0, 1, size // 2, size - 2, size - 1, size, size + 1, 2**31 - 1, 2**32, 2**63 - 1, 2**64})
    return st.one_of(st.sampled_from(landmarks), st.integers(0, size + 1024), st.integers(0, 2**70))


def _digits(size: int) -> st.SearchStrategy[str]:
    return st.one_of(positions(size).map(str),
                     st.integers(0, size).map(lambda n: "0" * 5 + str(n)),          # leading zeros
                     st.text("0123456789", min_size=20, max_size=5000))              # huge numbers


def range_spec(size: int) -> st.SearchStrategy[str]:
    """One element of a range set: valid (``a-b``, ``a-``, ``-n``) or one rule off."""
    digits = _digits(size)
    valid = st.one_of(
        st.tuples(positions(size), positions(size)).map(lambda p: f"{min(p)}-{max(p)}"),
        st.builds(lambda a, b: f"{a}-{b}", digits, digits),
        digits.map(lambda a: f"{a}-"),
        digits.map(lambda n: f"-{n}"),
    )
    near = st.one_of(
        st.tuples(positions(size), positions(size)).filter(lambda p: p[0] != p[1])
          .map(lambda p: f"{max(p)}-{min(p)}"),                                      # reversed
        st.builds(lambda a, b, s: f"{a}{s}-{b}", digits, digits, st.sampled_from([" ", "\t", "  "])),
        st.builds(lambda a, b: f"{a}-{b}", digits, st.sampled_from(["-1", "+5", "1e3", "0x10", "½", "٣"])),
        st.sampled_from(["-", "--", "-0", "0--1", "a-b", "1-2-3", "", "=", ";", "0-1;q=1"]),
    )
    return st.one_of(valid, valid, near)


def range_header(size: int) -> st.SearchStrategy[str]:
    """A whole Range header value."""
    unit = st.sampled_from(["bytes", "bytes", "bytes", "Bytes", "BYTES", "byte", "bits", "items", "none", "", "x-custom"])
    sep = st.sampled_from([",", ", ", " ,", ",,", " , ", ",\t"])
    sets = st.one_of(
        st.lists(range_spec(size), min_size=1, max_size=3),
        st.lists(range_spec(size), min_size=4, max_size=80),                         # many ranges
        st.lists(st.tuples(positions(size), st.integers(0, 64)).map(lambda p: f"{p[0]}-{p[0] + p[1]}"),
                 min_size=2, max_size=40),                                           # overlapping, adjacent
    )
    structured = st.builds(lambda u, eq, specs, s, pad: f"{pad}{u}{eq}{s.join(specs)}",
                           unit, st.sampled_from(["=", "=", "= ", " =", ":", ""]), sets, sep,
                           st.sampled_from(["", "", " ", "\t"]))
    garbage = st.one_of(st.text(HEADER_CHARS, max_size=200), st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
    return st.one_of(structured, structured, structured, garbage).map(_on_the_wire)


def _on_the_wire(value: str) -> str:
    """A header value as a client puts it on the wire: no CR/LF (requests refuses them),
    characters past latin-1 as their UTF-8 bytes (what a UTF-8 client sends)."""
    value = value.replace("\r", "").replace("\n", "")
    return value if all(ord(c) < 256 for c in value) else value.encode("utf-8").decode("latin-1")


# -- conditional request headers (RFC 9110 §13.1) -------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _formats(moment: datetime) -> list[str]:
    """`moment` as each of the three HTTP-date formats (§5.6.7), locale-free."""
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    clock = f"{moment.hour:02}:{moment.minute:02}:{moment.second:02}"
    return [f"{day}, {moment.day:02} {month} {moment.year} {clock} GMT",
            f"{_LONG_DAYS[moment.weekday()]}, {moment.day:02}-{month}-{moment.year % 100:02} {clock} GMT",
            f"{day} {month} {moment.day:2} {clock} {moment.year}"]


def http_date(around: datetime) -> st.SearchStrategy[str]:
    """An If-(Un)Modified-Since value: a date a second or a few years from `around` (the
    video's Last-Modified) in any of the three formats, or one rule off (lower case, a
    list of two, 31 February, a number, another zone), or garbage."""
    moments = st.one_of(st.integers(-2, 2), st.integers(-10**8, 10**8)).map(lambda s: around + timedelta(seconds=s))
    valid = st.builds(lambda m, i: _formats(m)[i], moments, st.integers(0, 2))
    near = st.one_of(
        valid.map(str.lower), valid.map(lambda d: f"{d}, {d}"), valid.map(lambda d: d.replace("GMT", "+0000")),
        st.sampled_from(["Sat, 31 Feb 2024 00:00:00 GMT", "Sun, 06 Nov 1994 25:61:61 GMT", "1700000000", "",
                         "Sun, 06 Nov 99999 08:49:37 GMT", "Sun Nov  0 08:49:37 1994"]),
    )
    garbage = st.text(HEADER_CHARS, max_size=80)
    return st.one_of(valid, valid, near, garbage).map(_on_the_wire)


def entity_tags(current: str) -> st.SearchStrategy[str]:
    """An If-Match / If-None-Match value: the current tag strong or weak, ``*``, other tags,
    lists of them with any spacing, one rule off (no quotes, a quote inside), garbage."""
    tag = st.one_of(st.sampled_from([current, "W/" + current, "*", '"swarmspec-old"', 'W/"x"', '""']),
                    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='"'),
                            max_size=30).map(lambda t: f'"{t}"'))
    listed = st.builds(lambda tags, sep: sep.join(tags), st.lists(tag, min_size=2, max_size=8),
                       st.sampled_from([",", ", ", " ,", ",,", " , "]))
    near = st.sampled_from([current.strip('"'), current[:-1], f"{current} {current}", '"a"b"', "W/", "w/" + current])
    return st.one_of(tag, listed, listed, near, st.text(HEADER_CHARS, max_size=80)).map(_on_the_wire)


def conditions(current: str, around: datetime, size: int) -> st.SearchStrategy[dict[str, str]]:
    """Some of If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and Range."""
    return st.fixed_dictionaries({}, optional={
        "If-Match": entity_tags(current), "If-None-Match": entity_tags(current),
        "If-Modified-Since": http_date(around), "If-Unmodified-Since": http_date(around),
        "Range": range_header(size),
    }).map(lambda headers: {name: value.lstrip() for name, value in headers.items()})


# -- ids and paths ------------------------------------------------------------------------

TRAVERSAL = ["..", "../", "..%2f", "%2e%2e%2f", "%2e%2e/", "..%5c", "%252e%252e%252f", "..;/", "%c0%ae%c0%ae/",
             "....//", "/etc/passwd", "%00", "\\..\\", "./", "%2f", "//"]


def path_segment(known: list[str]) -> st.SearchStrategy[str]:
    """A stream key or path segment as a client might send it: the real ones, edited
    ones, traversal, percent-encodings (valid, invalid, double), unicode, very long."""
    mutated = st.builds(lambda k, i, c: k[:i] + c + k[i + 1:], st.sampled_from(known),
                        st.integers(0, 50), st.sampled_from(["", "x", "G", "%", "/", "..", " ", "\u00e9", "0"]))
    return st.one_of(
        st.sampled_from(known),
        mutated,
        st.builds(lambda k, t: t + k, st.sampled_from(known), st.sampled_from(TRAVERSAL)),
        st.lists(st.sampled_from(TRAVERSAL), min_size=1, max_size=12).map("".join),
        st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80),
        st.binary(min_size=1, max_size=40).map(lambda b: "".join(f"%{x:02X}" for x in b)),
        st.integers(1, 20_000).map(lambda n: "a" * n),                             # very long
        st.sampled_from(["%", "%G0", "%0", "%%", "%u2215", "?", "#", ";", "~", "*"]),
    )


# -- JSON bodies ---------------------------------------------------------------------------

def json_scalars() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(-2**70, 2**70), st.sampled_from([0, -1, 2**63, 2**64, -(2**63) - 1, 10**400]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=50),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),   # lone surrogates
        st.integers(0, 1_200_000).map(lambda n: "x" * n),                           # up to past the 1 MiB body limit
    )


def json_values() -> st.SearchStrategy[object]:
    return st.recursive(json_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)), max_leaves=20)


def deep_nesting() -> st.SearchStrategy[bytes]:
    """JSON nested deeper than any parser's recursion limit (valid JSON all the same)."""
    return st.integers(10, 200_000).flatmap(lambda n: st.sampled_from([
        b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n]))


def json_body(fields: dict[str, st.SearchStrategy[object]]) -> st.SearchStrategy[bytes]:
    """A body for an endpoint whose fields are `fields` (their good values): the fields
    with good or hostile values, any JSON value, deep nesting, or bytes that are not JSON."""
    hostile = {name: st.one_of(good, good, json_values()) for name, good in fields.items()}
    shaped = st.fixed_dictionaries({}, optional=hostile)
    extra = st.dictionaries(st.text(max_size=20), json_values(), max_size=3)
    as_object = st.builds(lambda a, b: {**b, **a}, shaped, extra)
    return st.one_of(
        as_object.map(_dumps), as_object.map(_dumps),
        json_values().map(_dumps),
        deep_nesting(),
        st.binary(max_size=300),
        st.sampled_from([b"", b"{", b'{"a":}', b"\xff\xfe{}", b'{"a": NaN}', b"null", b'"\\ud800"', b"\x00"]),
    )


def _dumps(value: object) -> bytes:
    """JSON as a client might send it: `allow_nan` (Python's json.loads accepts NaN) and
    lone surrogates escaped (ensure_ascii), never raising."""
    return json.dumps(value, allow_nan=True).encode()


def content_types() -> st.SearchStrategy[str]:
    return st.sampled_from(["application/json", "application/json", "application/json; charset=utf-8",
                            "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin-1",
                            "application/json; charset=x-unknown", "application/json; charset=utf-16"])
