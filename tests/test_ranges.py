"""infra.swarm.ranges.resolve: the swarmspec Range contract as a table, plus a property loop."""

from __future__ import annotations

import random

import pytest

from infra.swarm.ranges import Full, Partial, Unsatisfiable, resolve

LONG = 20_237_382          # the size of test-large-4k.mp4
N = 1000


@pytest.mark.parametrize(
    ("header", "length", "expected"),
    [
        # no header / blank -> whole representation
        (None, N, Full(N)),
        ("", N, Full(N)),
        ("   ", N, Full(N)),
        # plain ranges
        ("bytes=0-1023", LONG, Partial(0, 1023, LONG)),
        ("bytes=1048576-1056767", LONG, Partial(1048576, 1056767, LONG)),
        ("bytes=0-0", N, Partial(0, 0, N)),
        ("bytes=999-999", N, Partial(999, 999, N)),          # the last byte
        ("bytes=10-19", N, Partial(10, 19, N)),
        ("BYTES=10-19", N, Partial(10, 19, N)),              # the unit is case-insensitive
        # suffix ranges
        ("bytes=-8192", LONG, Partial(LONG - 8192, LONG - 1, LONG)),
        ("bytes=-1", N, Partial(N - 1, N - 1, N)),
        ("bytes=-5000", N, Partial(0, N - 1, N)),            # longer than the file: all of it, 206
        ("bytes=-1000", N, Partial(0, N - 1, N)),            # exactly the file
        # open-ended
        ("bytes=500-", N, Partial(500, N - 1, N)),
        ("bytes=0-", N, Partial(0, N - 1, N)),
        ("bytes=999-", N, Partial(999, 999, N)),
        # end past EOF is clamped
        ("bytes=900-5000", N, Partial(900, 999, N)),
        ("bytes=0-99999999999999999999", N, Partial(0, 999, N)),
        # several ranges: only the first is served
        ("bytes=0-1,5-9", N, Partial(0, 1, N)),
        ("bytes=100-199, 300-399, 500-", N, Partial(100, 199, N)),
        ("bytes=0-0,-1", N, Partial(0, 0, N)),
        # a unit other than bytes is ignored -> 200
        ("items=0-5", N, Full(N)),
        ("pages=1-2", N, Full(N)),
    ],
)
def test_resolve_satisfiable(header, length, expected):
    decision = resolve(header, length)
    assert decision == expected
    if isinstance(decision, Partial):
        assert decision.content_range == f"bytes {decision.start}-{decision.end}/{length}"
        assert decision.size == decision.end - decision.start + 1


@pytest.mark.parametrize(
    ("header", "length"),
    [
        # first byte at or past the end
        ("bytes=1000-", N),
        ("bytes=1000-1000", N),
        ("bytes=1001-2000", N),
        ("bytes=20237382-", LONG),
        # zero-length suffix
        ("bytes=-0", N),
        # malformed bytes headers: the contract answers 416, not 200
        ("bytes=invalid-range", N),
        ("bytes=", N),
        ("bytes=-", N),
        ("bytes=5-1", N),
        ("bytes=abc-def", N),
        ("bytes=--1", N),
        ("bytes=1-2-3", N),
        ("bytes=1.5-2", N),
        ("bytes=0-1,", N),
        ("bytes=,0-1", N),
        ("bytes 0-1", N),            # no '='
        ("bytes", N),
        # any range on an empty representation
        ("bytes=0-0", 0),
        ("bytes=0-", 0),
        ("bytes=-1", 0),
        ("bytes=0-1023", 0),
    ],
)
def test_resolve_unsatisfiable(header, length):
    decision = resolve(header, length)
    assert isinstance(decision, Unsatisfiable), decision
    assert decision.length == length
    assert decision.content_range == f"bytes */{length}"
    assert decision.reason  # says why


# The module's contract is "several ranges -> only the first one is served", but werkzeug's
# parser returns None (-> 416) for syntactically valid sets that are not ascending and
# disjoint, or that continue after a suffix / open-ended range (RFC 9110 allows any order).
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=-10,0-1", Partial(990, 999, N)),
        ("bytes=500-,0-99", Partial(500, 999, N)),
        ("bytes=10-20,0-5", Partial(10, 20, N)),
        ("bytes=0-10,5-20", Partial(0, 10, N)),
    ],
)
def test_multi_range_in_any_order_serves_the_first(header, expected):
    assert resolve(header, N) == expected


def test_unsatisfiable_reason_names_the_header_or_position():
    assert "bytes=abc-def" in resolve("bytes=abc-def", N).reason
    assert "1000" in resolve("bytes=1000-", N).reason


def test_zero_length_representation_without_range_is_full():
    assert resolve(None, 0) == Full(0)
    assert resolve("items=0-1", 0) == Full(0)


def test_partial_and_unsatisfiable_header_values():
    p = Partial(1048576, 1056767, LONG)
    assert p.size == 8192
    assert p.content_range == f"bytes 1048576-1056767/{LONG}"
    assert Unsatisfiable(LONG, "x").content_range == f"bytes */{LONG}"


def test_random_ranges_stay_inside_the_representation():
    rng = random.Random(20261124)
    for _ in range(3000):
        length = rng.choice([1, 2, 7, 1000, LONG, rng.randint(1, 10**9)])
        start = rng.randint(0, length + 10)
        end = start + rng.randint(0, 2 * length)
        kind = rng.randrange(3)
        header = (f"bytes={start}-{end}", f"bytes={start}-", f"bytes=-{end + 1}")[kind]
        decision = resolve(header, length)
        if kind != 2 and start >= length:
            assert isinstance(decision, Unsatisfiable), (header, length, decision)
            continue
        assert isinstance(decision, Partial), (header, length, decision)
        assert 0 <= decision.start <= decision.end < length, (header, length, decision)
        assert decision.size == decision.end - decision.start + 1
        assert decision.length == length
        if kind == 0:
            assert (decision.start, decision.end) == (start, min(end, length - 1))
        elif kind == 1:
            assert (decision.start, decision.end) == (start, length - 1)
        else:
            assert decision.size == min(end + 1, length) and decision.end == length - 1
