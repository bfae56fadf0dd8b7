"""The suite's own library: matchers, redaction, range expressions, the player's box walk."""

import json
import struct

import pytest
from hamcrest import assert_that
from hamcrest.core.string_description import StringDescription

from infra.suite import redact
from infra.suite.http import Exchange
from infra.suite.library import evaluate, expand
from infra.suite.matchers import (answered_within, body_equals, content_length_matches_body, first_difference,
                                  has_content_range, has_status)
from infra.suite.player import moov_offset, percentages, span_of, top_level_boxes


def exchange(status=206, body=b"", headers=None, rng="bytes=0-3", **timing) -> Exchange:
    return Exchange("GET", "http://127.0.0.1:1/api/stream/x?token=secret", {"Range": rng}, status=status,
                    reason="Partial Content", headers=headers or {}, body=body, **timing)


def mismatch(matcher, item) -> str:
    description = StringDescription()
    assert not matcher.matches(item)
    matcher.describe_mismatch(item, description)
    return str(description)


def test_first_difference():
    assert first_difference(b"abc", b"abc") is None
    assert first_difference(b"abX", b"abc") == 2
    assert first_difference(b"ab", b"abc") == 2
    big = bytes(10000)
    assert first_difference(big[:9000] + b"\x01" + big[9001:], big) == 9000


def test_body_mismatch_names_the_first_differing_file_offset_and_both_bytes():
    text = mismatch(body_equals(b"\x00\x01\x02\x03", "test-large-4k", offset=1000), exchange(body=b"\x00\x01\xff\x03"))
    assert "body offset 2 (file offset 1002)" in text
    assert "got 0xff, the file has 0x02" in text
    assert "token=secret" not in text and "[Range: bytes=0-3]" in text


def test_short_body_mismatch_says_where_it_ends():
    text = mismatch(body_equals(b"abcd", "f"), exchange(body=b"ab"))
    assert "agree up to byte 2" in text


def test_partial_ok_accepts_a_prefix_only_for_aborted_reads():
    aborted = exchange(body=b"ab")
    aborted.aborted_after = 2
    assert body_equals(b"abcd", "f", partial_ok=True).matches(aborted)
    assert not body_equals(b"abcd", "f", partial_ok=True).matches(exchange(body=b"ab"))


def test_status_mismatch_shows_the_json_error():
    text = mismatch(has_status(206), exchange(status=500, body=b'{"error": "boom"}',
                                              headers={"Content-Type": "application/json"}))
    assert "-> 500" in text and "boom" in text


def test_content_range_and_length_matchers():
    good = exchange(body=b"abcd", headers={"Content-Range": "bytes 0-3/10", "Content-Length": "4"})
    assert_that(good, has_content_range("bytes 0-3/10"))
    assert_that(good, content_length_matches_body())
    assert "was absent" in mismatch(has_content_range("bytes 0-3/10"), exchange())
    short = exchange(body=b"ab", headers={"Content-Length": "4"})
    assert "Content-Length '4' but 2 body bytes" in mismatch(content_length_matches_body(), short)


def test_answered_within():
    assert answered_within(1, "total").matches(exchange(elapsed=0.5))
    assert "after 2.000s" in mismatch(answered_within(1, "total"), exchange(elapsed=2.0))
    assert "came never" in mismatch(answered_within(1, "first_byte"), exchange())


def test_redaction_of_headers_urls_and_json():
    assert redact.headers({"Authorization": "Bearer abc.def.ghi", "Range": "bytes=0-1"}) == {
        "Authorization": "Bearer <redacted>", "Range": "bytes=0-1"}
    assert redact.text("/api/stream/x?token=eyJhbGciOi.eyJzdWIi.sig&a=1") == "/api/stream/x?token=<redacted>&a=1"
    body = json.loads(redact.json_body(b'{"token": "t", "nested": {"password": "p"}, "ok": 1}'))
    assert body == {"token": "<redacted>", "nested": {"password": "<redacted>"}, "ok": 1}
    assert redact.json_body(b"\x00\x01") is None


def test_exchange_summary_never_carries_secrets():
    ex = exchange(body=b'{"token": "eyJa.eyJb.c"}', headers={"Set-Cookie": "s=1"})
    ex.request_headers["Authorization"] = "Bearer eyJa.eyJb.c"
    text = json.dumps(ex.summary())
    assert "eyJa" not in text and "secret" not in text and "s=1" not in text


@pytest.mark.parametrize(("expression", "value"), [
    ("size", 1000), ("last", 999), ("size-8192", 1000 - 8192), ("3*piece-1", 767), ("piece+9", 265),
    ("middle", 500), ("size+99999", 100999), ("-5", -5),
])
def test_range_expressions(expression, value):
    assert evaluate(expression, {"size": 1000, "last": 999, "middle": 500, "piece": 256}) == value


@pytest.mark.parametrize("bad", ["__import__('os')", "size/2", "unknown", "1.5", "size**2"])
def test_range_expressions_refuse_anything_else(bad):
    with pytest.raises(ValueError):
        evaluate(bad, {"size": 1000})


def test_expand_header_templates():
    assert expand("bytes={size-100}-{last}", {"size": 1000, "last": 999}) == "bytes=900-999"
    assert expand("bytes=0-1023", {"size": 1}) == "bytes=0-1023"


def test_percentages():
    assert percentages("10%, 75%, 30%, 95% and back to 0%") == [10, 75, 30, 95, 0]
    with pytest.raises(ValueError):
        percentages("nowhere")


def test_span_of_follows_rfc_9110_not_the_response():
    assert span_of(exchange(rng="bytes=-8192"), 100000) == (100000 - 8192, 99999)
    assert span_of(exchange(rng="bytes=90-200"), 100) == (90, 99)
    assert span_of(exchange(rng="items=1-2"), 100) == (0, 99)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_top_level_boxes_and_moov_offset():
    data = box(b"ftyp", b"isom") + box(b"mdat", b"x" * 100) + box(b"moov", b"m" * 10)
    assert [(k, s) for _, k, s in top_level_boxes(data)] == [("ftyp", 12), ("mdat", 108), ("moov", 18)]
    assert moov_offset(data) == 12 + 108
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"abcd"
    assert list(top_level_boxes(large)) == [(0, "mdat", 20)]
    assert moov_offset(box(b"ftyp", b"")) is None
