"""infra.suite.conditions (conditional headers as features write them) and
infra.suite.source_shapes (what the suite says of a video when it registers a source)."""

from __future__ import annotations

import pytest
from hamcrest import assert_that

from infra.suite import conditions
from infra.suite.http import Exchange
from infra.suite.source_shapes import design_description

HELD = conditions.Validators('"abc-0"', "Tue, 14 Nov 2023 22:13:20 GMT")
POSITIONS = {"size": 1000, "last": 999, "middle": 500, "piece": 256}


def test_headers_are_filled_with_the_held_validators():
    spec = 'If-None-Match: W/{etag}, "x" + If-Modified-Since: {date-1} + Range: bytes={size-10}-'
    assert conditions.headers(spec, HELD, POSITIONS) == {
        "If-None-Match": 'W/"abc-0", "x"',
        "If-Modified-Since": "Tue, 14 Nov 2023 22:13:19 GMT",
        "Range": "bytes=990-",
    }
    assert conditions.headers("If-Unmodified-Since: {date+86400}", HELD, POSITIONS) == {
        "If-Unmodified-Since": "Wed, 15 Nov 2023 22:13:20 GMT"}
    fixed = "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT, Fri, 01 Jan 2100 00:00:00 GMT"
    assert conditions.headers(fixed, HELD, POSITIONS) == {"If-Modified-Since": fixed.split(": ", 1)[1]}


@pytest.mark.parametrize("held, spec, clause", [
    (conditions.Validators(None, HELD.last_modified), "If-Match: {etag}", "§8.8.3"),
    (conditions.Validators(HELD.etag, None), "If-Modified-Since: {date}", "§8.8.2"),
    (conditions.Validators(HELD.etag, "last tuesday"), "If-Modified-Since: {date}", "§5.6.7"),
])
def test_a_missing_validator_fails_naming_the_clause(held, spec, clause):
    with pytest.raises(conditions.MissingValidator, match=clause):
        conditions.headers(spec, held, POSITIONS)


def test_a_field_without_a_colon_is_a_mistake_in_the_feature():
    with pytest.raises(ValueError):
        conditions.headers("If-Match", HELD, POSITIONS)


@pytest.mark.parametrize("status, matches", [(200, False), (206, False), (204, False), (412, True),
                                             (304, True), (404, True), (None, False)])   # None: no answer came
def test_not_performed(status, matches):
    exchange = Exchange("GET", "http://t/v", {}, status=status, error=None if status else "timed out")
    matcher = conditions.not_performed()
    assert matcher.matches(exchange) is matches
    if not matches:
        with pytest.raises(AssertionError, match="does not perform"):
            assert_that(exchange, matcher)


def test_the_design_description_of_the_test_videos():
    from types import SimpleNamespace
    described = design_description(SimpleNamespace(name="test-medium-1080p", size=5071913))
    assert described == {"quality": "FHD", "resolution": 1080, "size": 5071913, "videoCodec": "X264"}
    assert design_description(SimpleNamespace(name="test-large-4k", size=1))["quality"] == "4K"
    assert design_description(SimpleNamespace(name="test-small-720p", size=1))["quality"] == "HD"
