"""Hostile input, the deterministic subset CI runs: a fixed seed and a few hundred
Hypothesis examples against the reference backend and the range server (the full run,
10,000+ examples per target, is `python -m infra.measure.fuzz`; its figures are in README.md).
The invariants themselves are unit-tested on made-up answers first, so a check that
cannot fail would be caught here."""

from __future__ import annotations

import shutil

import pytest

from infra.measure.fuzz import invariants
from infra.measure.fuzz.campaign import Campaign, Figures
from infra.measure.fuzz.__main__ import report
from infra.ecosystem.local import LocalProvider
from infra.suite.http import Exchange
from infra.suite.targets import load_credentials
from tests.test_local_provider import settings_in, world_readable_dir

SEED = 20261129
FILE = bytes(range(256)) * 4          # 1024 bytes


def answer(status: int, body: bytes = b"", **headers: str) -> Exchange:
    return Exchange("GET", "http://127.0.0.1/x", {}, status=status, headers=headers, body=body)


# -- the invariants on made-up answers -----------------------------------------------------

def kinds(problems) -> list[str]:
    return [p.kind for p in problems]


def test_a_right_answer_has_no_problem():
    ok = answer(206, FILE[10:20], **{"Content-Range": "bytes 10-19/1024", "Content-Length": "10"})
    assert invariants.check_media(ok, FILE, "bytes=10-19") == []
    assert invariants.check_media(answer(200, FILE, **{"Content-Length": "1024"}), FILE, "bytes=5-1") != []  # 416 wanted
    assert invariants.check_media(answer(416, b"{}", **{"Content-Range": "bytes */1024"}), FILE, "bytes=5-1") == []


def test_each_broken_invariant_is_caught():
    assert kinds(invariants.check_media(answer(500, b"oops"), FILE)) == [invariants.SERVER_ERROR]
    assert kinds(invariants.check_api(Exchange("GET", "u", {}, error="ReadTimeout: x"))) == [invariants.NO_ANSWER]
    short = answer(206, FILE[10:19], **{"Content-Range": "bytes 10-19/1024", "Content-Length": "10"})
    assert invariants.FRAMING in kinds(invariants.check_media(short, FILE))
    wrong = answer(206, b"\0" * 10, **{"Content-Range": "bytes 10-19/1024", "Content-Length": "10"})
    assert kinds(invariants.check_media(wrong, FILE)) == [invariants.BYTES]
    lying = answer(206, FILE[10:20], **{"Content-Range": "bytes 10-20/1024", "Content-Length": "10"})
    assert kinds(invariants.check_media(lying, FILE)) == [invariants.FRAMING]
    assert kinds(invariants.check_media(answer(416, b"{}"), FILE)) == [invariants.FRAMING]   # no bytes */N
    assert kinds(invariants.check_media(answer(206, b"x", **{"Content-Length": "1"}), FILE)) == [invariants.FRAMING]
    deviation = invariants.check_media(answer(200, FILE, **{"Content-Length": "1024"}), FILE, "bytes=0-9")
    assert kinds(deviation) == [invariants.CONTRACT]


def test_conditional_answers():
    from datetime import datetime, timezone
    etag, modified = '"v1"', datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    at = "Tue, 14 Nov 2023 22:13:20 GMT"

    def judged(exchange, **headers):
        return kinds(invariants.check_conditional(exchange, FILE, {k.replace("_", "-"): v for k, v in headers.items()},
                                                  etag, modified))
    assert judged(answer(304), If_None_Match=etag) == []
    assert judged(answer(304, b"x"), If_None_Match=etag) == [invariants.FRAMING]          # a 304 has no body
    assert judged(answer(412, b"{}", **{"Content-Length": "2"}), If_Match='"old"') == []
    assert judged(answer(200, FILE, **{"Content-Length": "1024"}), If_Match='"old"') == [invariants.CONTRACT]
    assert judged(answer(200, FILE, **{"Content-Length": "1024"}), If_Modified_Since=at) == [invariants.CONTRACT]
    assert judged(answer(200, FILE, **{"Content-Length": "1024"}), If_Modified_Since=at + ", " + at) == []
    partial = answer(206, FILE[10:20], **{"Content-Range": "bytes 10-19/1024", "Content-Length": "10"})
    assert judged(partial, If_Match=etag, Range="bytes=10-19") == []
    assert judged(answer(206, b"\0" * 10, **{"Content-Range": "bytes 10-19/1024", "Content-Length": "10"}),
                  If_None_Match='"old"', Range="bytes=10-19") == [invariants.BYTES]
    assert judged(answer(500, b"oops"), If_Match=etag) == [invariants.SERVER_ERROR]


def test_a_header_with_control_characters_has_no_range_contract():
    bad = answer(400, b"", **{"Content-Length": "0"})
    assert invariants.check_media(bad, FILE, "bytes=0-1\x01") == []


# -- the campaigns ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def eco():
    base = world_readable_dir("swarmspec-fuzz-")
    provider = LocalProvider(settings_in(base), progress=False)
    try:
        yield provider, provider.up()
    finally:
        provider.down()
        shutil.rmtree(base, ignore_errors=True)


def campaign(eco, target: str, examples: int) -> Figures:
    provider, endpoints = eco
    credentials = load_credentials(endpoints.credentials_file, {})
    figures = Campaign(endpoints, target, credentials, SEED).run(examples, hostile_rounds=1)
    print(report(figures))
    return figures


@pytest.mark.integration
@pytest.mark.parametrize("target, examples", [("reference", 400), ("range-server", 300)])
def test_hostile_input_breaks_no_invariant(eco, target, examples):
    figures = campaign(eco, target, examples)
    assert sum(figures.examples.values()) >= examples * 0.9, figures.examples    # Hypothesis really ran them
    assert figures.examples["conditions"] >= examples * 0.09, figures.examples  # preconditions with ranges
    assert figures.requests > examples
    assert not figures.failures(), report(figures)
    assert figures.count(invariants.CONTRACT) == 0, report(figures)   # our servers keep the strict contract
    assert figures.healthy_after, report(figures)
    assert figures.before is not None and figures.after is not None, "RSS/fd figures are read from /proc"
    assert not figures.leaked, report(figures)
    assert set(figures.refusals) and all(not k.endswith(("no answer", "5")) for k in figures.refusals)
