"""What the suite checks of what a viewer feels and of every exchange: httplint's grade
(and what it leaves out), the stall detector in the client, budgets derived from the
transfer limit, the decoders' verdicts, and how the browser is found and cleaned up."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from hamcrest.core.string_description import StringDescription

from infra.suite import budgets, decoders, lint
from infra.suite.browser import chromium
from infra.suite.figures import StallWatch, is_stream
from infra.suite.grading import Grade, grade_of
from infra.suite.http import Client, Exchange
from videos import MANIFEST_PATH, MEDIA_DIR, load_manifest


def answer(status=206, headers=None, body=b"", method="GET", rng="bytes=0-3") -> Exchange:
    exchange = Exchange(method, "http://127.0.0.1:9/videos/x", {"Range": rng, "User-Agent": "swarmspec-test"},
                        status=status, reason="Partial Content", body=body)
    exchange.headers = headers or {}
    return exchange


def graded(exchange: Exchange, level: str) -> list[str]:
    return [note.name for note in lint.problems(lint.lint(exchange), level)]


# -- httplint -------------------------------------------------------------------------------

GOOD_206 = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-3/10", "Content-Length": "4",
            "Accept-Ranges": "bytes", "Date": "Mon, 01 Jan 2024 00:00:00 GMT"}


def test_a_correct_range_answer_has_no_graded_errors():
    assert graded(answer(headers=GOOD_206, body=b"abcd"), lint.ERROR) == []


def test_a_partial_answer_without_content_range_is_an_error():
    headers = {k: v for k, v in GOOD_206.items() if k != "Content-Range"}
    assert "PARTIAL_WITHOUT_RANGE" in graded(answer(headers=headers, body=b"abcd"), lint.ERROR)


def test_a_multipart_answer_carries_content_range_in_its_parts_so_that_note_is_not_graded():
    headers = {**GOOD_206, "Content-Type": "multipart/byteranges; boundary=B", "Content-Length": "4"}
    del headers["Content-Range"]
    notes = lint.lint(answer(headers=headers, body=b"abcd", rng="bytes=0-1,2-3"))
    ignored = [n for n in notes if n.name == "PARTIAL_WITHOUT_RANGE"]
    assert ignored and not ignored[0].graded and "§14.6" in ignored[0].out_of_grade


def test_a_wrong_content_length_is_an_error_but_not_after_head_or_a_hang_up():
    wrong = {**GOOD_206, "Content-Length": "9"}
    assert "CL_INCORRECT" in graded(answer(headers=wrong, body=b"abcd"), lint.ERROR)
    assert "CL_INCORRECT" not in graded(answer(headers=GOOD_206, method="HEAD"), lint.ERROR)
    aborted = answer(headers={**GOOD_206, "Content-Length": "9"}, body=b"ab")
    aborted.aborted_after = 2
    assert "CL_INCORRECT" not in graded(aborted, lint.ERROR)


def test_preflight_only_cors_headers_on_an_ordinary_answer_are_an_error():
    headers = {**GOOD_206, "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Range"}
    assert "CORS_PREFLIGHT_ONLY" in graded(answer(headers=headers, body=b"abcd"), lint.ERROR)


def test_caching_advice_and_notes_on_the_suites_own_request_are_reported_not_graded():
    notes = lint.lint(answer(headers={**GOOD_206, "Expires": "soon"}, body=b"abcd"))
    caching = [n for n in notes if n.category == "Caching"]
    assert caching and all(not n.graded for n in caching)
    assert all(not n.graded for n in notes if n.message == "request")


def test_the_lint_matcher_names_the_answer_and_the_note():
    bad = answer(headers={**GOOD_206, "Content-Length": "9"}, body=b"abcd")
    matcher = lint.lint_clean(lint.ERROR)
    assert not matcher.matches([bad]) and not matcher.matches([])
    description = StringDescription()
    matcher.describe_mismatch([bad], description)
    assert "CL_INCORRECT" in str(description) and "[Range: bytes=0-3]" in str(description)


# -- the stall detector ---------------------------------------------------------------------

def _server_with_a_pause(pause: float, first: int, rest: int) -> tuple[socket.socket, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %d\r\n\r\n" % (first + rest))
            conn.sendall(b"a" * first)
            time.sleep(pause)
            conn.sendall(b"b" * rest)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_the_client_records_the_longest_pause_between_two_chunks_and_where_it_ended():
    listener, thread = _server_with_a_pause(0.4, 2 * 65536, 2 * 65536)
    client = Client()
    try:
        exchange = client.request("GET", f"http://127.0.0.1:{listener.getsockname()[1]}/", deadline=10)
    finally:
        client.close()
        thread.join(5)
        listener.close()
    assert len(exchange.body) == 4 * 65536 and exchange.error is None
    assert 0.3 <= exchange.longest_pause < 3
    assert exchange.longest_pause_at == 2 * 65536
    watch = StallWatch()
    watch.observe(exchange)
    assert watch.exchanges == 1 and watch.longest == exchange.longest_pause and "131072" in watch.where


def test_only_media_answers_count_as_stream_exchanges():
    assert is_stream(answer(headers={"Content-Type": "video/mp4"}))
    assert is_stream(answer(headers={"Content-Type": "multipart/byteranges; boundary=x"}))
    assert not is_stream(answer(status=200, headers={"Content-Type": "application/json"}))
    assert not is_stream(answer(status=416, headers={"Content-Type": "video/mp4"}))


# -- budgets --------------------------------------------------------------------------------

class _Video:
    """The few facts of a VideoRef a budget reads."""

    def __init__(self, size: int, piece: int = 100) -> None:
        self.size, self.piece_length, self.name, self.main_path = size, piece, "v", Path("/nonexistent")


def test_a_budget_is_whole_pieces_over_the_rate_plus_the_margin():
    need = budgets.whole(_Video(1001))
    assert need.bytes == 1100 and need.seconds_at(rate=100, margin=2) == pytest.approx(13.0)
    assert "11 pieces" in need.describe(100 * budgets.MB, 2)


def test_a_seek_needs_the_pieces_from_its_key_frame_to_the_frame_shown():
    packets = [decoders.Packet(t, 1000 + 50 * i, 50, key=(t % 2 == 0)) for i, t in enumerate(range(10))]
    need = budgets.frame_at(_Video(2000), 5.0, packets)   # key frame at 4 s (pos 1200), frame 5 s ends at 1299
    assert need.pieces == frozenset({12})
    need = budgets.frame_at(_Video(2000), 7.0, packets)   # key frame at 6 s (pos 1300), frame 7 s ends at 1399
    assert need.pieces == frozenset({13})


# -- decoders -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    if not MANIFEST_PATH.exists():
        pytest.skip("no test videos (python -m videos.generate)")
    video = load_manifest().get("test-small-720p")
    return video, str(MEDIA_DIR / video.main_file)


def test_ffprobe_reads_the_manifests_duration_and_codecs_from_the_local_file(small):
    video, path = small
    probe = decoders.probe(path)
    assert probe.duration == pytest.approx(video.duration, abs=0.1)
    assert (probe.video_codec, probe.audio_codec) == (video.video_codec, video.audio_codec)


def test_a_decoded_frame_hash_tells_two_moments_apart_and_repeats_for_the_same_one(small):
    _, path = small
    first, again, later = decoders.frame_at(path, 2.0), decoders.frame_at(path, 2.0), decoders.frame_at(path, 7.5)
    assert first == again
    assert first.sha256 != later.sha256 and first.size == later.size == 1280 * 720 * 3 // 2


def test_a_decoder_that_cannot_read_says_so(tmp_path):
    with pytest.raises(decoders.DecoderError, match="ffprobe"):
        decoders.probe(str(tmp_path / "missing.mp4"))


# -- the browser ----------------------------------------------------------------------------

def test_without_chromium_the_error_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    with pytest.raises(chromium.BrowserUnavailable, match="apt-get install chromium"):
        chromium.find_chromium()


def test_a_killed_runs_profile_is_removed_and_a_live_ones_kept(tmp_path):
    dead = tmp_path / f"{chromium.PROFILE_PREFIX}999999999-x"
    live = tmp_path / f"{chromium.PROFILE_PREFIX}{os.getpid()}-y"
    dead.mkdir(), live.mkdir()
    assert chromium.reap_stale_profiles(tmp_path) == [dead]
    assert live.exists() and not dead.exists()


def test_a_browser_scenario_skipped_for_want_of_a_browser_is_not_run_never_passed():
    reason = "@browser: no Chromium on PATH (looked for chromium): install the Debian package `chromium`"
    assert grade_of("skipped", {"browser"}, None, [], reason) is Grade.NOT_RUN
