"""infra.swarm.ranges.resolve: the swarmspec Range contract (RFC 9110 §14) as tables, plus property loops."""

from __future__ import annotations

import random

import pytest

from infra.swarm.ranges import MAX_PARTS, Full, Multipart, Partial, Unsatisfiable, resolve

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
        # leading zeros are digits
        ("bytes=0010-0019", N, Partial(10, 19, N)),
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
        ("bytes=,", N),              # a list of empty elements is no range at all
        ("bytes= , ,", N),
        ("bytes=0-1,x", N),          # one bad element spoils the set (§14.1.1)
        ("bytes=0-1,5-1", N),
        ("bytes=0-1,-", N),
        ("bytes=5 - 6", N),          # no whitespace inside a range
        ("bytes=+5-6", N),
        ("bytes=\u0665-6", N),       # an Arabic-Indic five: DIGIT is ASCII
        ("bytes=0x10-0x20", N),
        ("bytes=-1-5", N),
        ("bytes 0-1", N),            # no '='
        ("bytes", N),
        ("bytes =0-1", N),           # a range-unit is a token
        ("by tes=0-1", N),
        # several ranges, none satisfiable (§15.5.17)
        ("bytes=1000-,2000-3000", N),
        ("bytes=-0,1000-", N),
        ("bytes=0-1,4-5", 0),
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


def M(*spans: tuple[int, int], length: int = N) -> Multipart:
    """A Multipart of these (start, end) spans, in this order."""
    return Multipart(tuple(Partial(start, end, length) for start, end in spans), length)


# Several ranges (RFC 9110 §14.2, §15.3.7): unsatisfiable ones dropped, overlapping or
# adjacent ones coalesced, the client's order kept; one part left is a plain Partial.
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-1,4-5", M((0, 1), (4, 5))),
        ("bytes=0-1,,4-5", M((0, 1), (4, 5))),                # empty elements are ignored (§5.6.1)
        ("bytes=,0-1", Partial(0, 1, N)),
        ("bytes=0-1,", Partial(0, 1, N)),
        ("bytes=0-1 ,\t4-5 ", M((0, 1), (4, 5))),             # whitespace around elements
        ("bytes=1000-,0-1", Partial(0, 1, N)),                # the unsatisfiable range is dropped
        ("bytes=-0,0-1", Partial(0, 1, N)),
        ("bytes=0-5,3-9", Partial(0, 9, N)),                  # overlapping
        ("bytes=0-1,2-3", Partial(0, 3, N)),                  # adjacent
        ("bytes=0-1,3-4", M((0, 1), (3, 4))),                 # a gap of one byte is kept
        ("bytes=0-1,0-1", Partial(0, 1, N)),                  # repeated
        ("bytes=0-10,5-20", Partial(0, 20, N)),
        ("bytes=0-1,4-5,2-3", Partial(0, 5, N)),
        ("bytes=0-,5-9", Partial(0, 999, N)),
        ("bytes=-5000,0-1", Partial(0, 999, N)),
        ("bytes=990-,-20", Partial(980, 999, N)),
        ("bytes=500-599,0-99", M((500, 599), (0, 99))),       # the client's order (§15.3.7.2)
        ("bytes=-10,0-1", M((990, 999), (0, 1))),
        ("bytes=500-,0-99", M((500, 999), (0, 99))),
        ("bytes=10-20,0-5", M((10, 20), (0, 5))),
        ("bytes=10-19,0-1,15-30", M((10, 30), (0, 1))),       # a merged part stands where its first range stood
        ("bytes=0-1,10-19,5-12", M((0, 1), (5, 19))),
        ("bytes=100-199, 300-399, 500-", M((100, 199), (300, 399), (500, 999))),
        ("bytes=0-0,-1", M((0, 0), (999, 999))),
        ("bytes=0-0,998-5000,2000-", M((0, 0), (998, 999))),
    ],
)
def test_several_ranges(header, expected):
    assert resolve(header, N) == expected


def test_at_most_max_parts_are_served_as_multipart():
    spans = [(10 * i, 10 * i + 1) for i in range(MAX_PARTS)]
    header = "bytes=" + ",".join(f"{a}-{b}" for a, b in reversed(spans))
    assert resolve(header, N) == M(*reversed(spans))                  # any order, up to the limit
    assert resolve(header + f",{10 * MAX_PARTS}-{10 * MAX_PARTS}", N) == Full(N)  # one more: ignored (§14.2 MAY)
    assert resolve("bytes=" + ",".join(["0-0"] * 2000), N) == Partial(0, 0, N)     # counted after coalescing
    touching = ",".join(f"{i}-{i}" for i in range(999, -1, -1))
    assert resolve("bytes=" + touching, N) == Partial(0, 999, N)


def test_numbers_longer_than_python_converts():
    huge = "9" * 5000
    assert resolve(f"bytes=0-{huge}", N) == Partial(0, 999, N)
    assert isinstance(resolve(f"bytes={huge}-", N), Unsatisfiable)
    assert resolve(f"bytes=-{huge}", N) == Partial(0, 999, N)
    assert resolve(f"bytes={huge}-,0-1", N) == Partial(0, 1, N)
    reversed_huge = resolve(f"bytes=0-1,{huge}-{huge[:-1]}8", N)           # ends before it starts: malformed
    assert isinstance(reversed_huge, Unsatisfiable) and "malformed" in reversed_huge.reason
    assert len(reversed_huge.reason) < 300                                 # the reason shows a prefix


def test_unsatisfiable_reason_names_the_header_or_position():
    assert "bytes=abc-def" in resolve("bytes=abc-def", N).reason
    assert "1000" in resolve("bytes=1000-", N).reason


def test_zero_length_representation_without_range_is_full():
    assert resolve(None, 0) == Full(0)
    assert resolve("items=0-1", 0) == Full(0)


def test_multipart_size_counts_representation_bytes():
    assert M((0, 1), (4, 5)).size == 4


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


def test_random_range_sets_select_exactly_the_union():
    """resolve() against a model: the bytes selected are the union of the satisfiable
    ranges; parts are disjoint, not adjacent, and ordered by their first range."""
    rng = random.Random(9110)
    for _ in range(2000):
        length = rng.choice([1, 2, 10, 100, 1000])
        specs = []
        for _ in range(rng.randint(1, 6)):
            start = rng.randint(0, length + 3)
            specs.append(rng.choice([f"{start}-{start + rng.randint(0, length)}", f"{start}-",
                                     f"-{rng.randint(0, length + 3)}", ""]))
        header = "bytes=" + ",".join(specs)
        selected: list[set[int]] = []
        for spec in filter(None, specs):
            first, _, last = spec.partition("-")
            if not first:
                selected.append(set(range(max(0, length - int(last)), length)) if int(last) else set())
            else:
                end = length - 1 if not last else min(int(last), length - 1)
                selected.append(set(range(int(first), end + 1)))
        union = set().union(*selected)
        decision = resolve(header, length)
        if not any(specs):
            assert isinstance(decision, Unsatisfiable), header
            continue
        if not union:
            assert isinstance(decision, Unsatisfiable) and decision.content_range == f"bytes */{length}", header
            continue
        parts = decision.parts if isinstance(decision, Multipart) else (decision,)
        assert isinstance(decision, Partial) or len(parts) >= 2, (header, decision)
        got = [set(range(p.start, p.end + 1)) for p in parts]
        assert set().union(*got) == union, (header, decision)
        ordered = sorted(parts, key=lambda p: p.start)
        assert all(a.end + 1 < b.start for a, b in zip(ordered, ordered[1:])), (header, decision)
        firsts = [min(i for i, s in enumerate(selected) if s & g) for g in got]
        assert firsts == sorted(firsts), (header, decision)
