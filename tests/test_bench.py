"""The benchmark's arithmetic and checks (infra.measure.bench): limits, ratios, verdicts, the
table, process figures and the byte check. The benchmark itself is run by hand
(`python -m infra.measure.bench`), never as a timed test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.measure import procstat
from infra.measure.bench import probes, report
from infra.measure.bench.figures import MIB, Condition, judge
from infra.suite.http import Exchange
from infra.swarm.content import Content, ContentFile

SIZE = 20 * MIB + 12345


def condition(rate: int = 0, piece: int = 256 * 1024) -> Condition:
    seek = (int(SIZE * 0.75), int(SIZE * 0.75) + MIB - 1)
    return Condition(piece, rate, "test-large-4k", SIZE, 50, seek)


def test_bytes_needed_are_whole_pieces_clipped_to_the_file():
    c = condition(piece=MIB)
    assert c.pieces_bytes(0, 0) == MIB
    assert c.pieces_bytes(MIB - 1, MIB) == 2 * MIB          # a range across a boundary needs both pieces
    assert c.pieces_bytes(SIZE - 10, SIZE - 1) == SIZE - 20 * MIB   # the last piece is short


def test_transfer_limits_only_on_a_throttled_swarm():
    assert condition().transfer_limit("cold_first_byte") is None
    c = condition(rate=2_000_000)
    assert c.transfer_limit("cold_first_byte") == pytest.approx(256 * 1024 / 2e6)
    assert c.transfer_limit("full_get") == pytest.approx(SIZE / 2e6)
    start, end = c.seek
    assert c.transfer_limit("cold_seek") == pytest.approx(c.pieces_bytes(start, end) / 2e6)
    assert c.transfer_limit("crowd_p95") is None


def test_verdicts_are_ratios_within_the_run():
    c = condition()
    for server, seconds in (("file server", 0.01), ("webtorrent", 1.0), ("peerflix", 2.0), ("reference", 0.4)):
        c.add("full_get", server, seconds, seconds * 2, seconds * 3)       # median = 2 × seconds
        c.add("cold_first_byte", server, seconds / 10)
        c.add("crowd_p95", server, seconds / 10)
    c.add("peak_rss", "webtorrent", 100, 140)
    c.add("peak_rss", "reference", 60, 75)                                # peak = the maximum
    verdicts = {v.goal.figure: v for v in judge(c)}
    assert verdicts["full_get"].ratio == pytest.approx(0.4) and verdicts["full_get"].met
    assert verdicts["cold_first_byte"].basis == pytest.approx(0.1)      # the best third-party server
    assert verdicts["crowd_p95"].ratio == pytest.approx(40) and verdicts["crowd_p95"].met is False
    assert verdicts["peak_rss"].ratio == pytest.approx(75 / 140) and verdicts["peak_rss"].met is False
    assert verdicts["cold_seek"].met is None                            # not measured: no verdict either way
    throttled = condition(rate=2_000_000)
    throttled.add("full_get", "reference", SIZE / 2e6 * 1.05)
    assert {v.goal.figure: v.met for v in judge(throttled)}["full_get"] is True


def test_the_table_states_the_limit_and_every_server():
    c = condition(rate=2_000_000)
    for server in ("file server", "webtorrent", "reference"):
        c.add("cold_first_byte", server, 0.2, 0.3, 0.25)
    text = report.text([c], ["file server", "webtorrent", "reference"], "# run")
    assert "131" in text                                  # 256 KiB at 2 MB/s, in ms
    assert "250 (200–300)" in text                        # median (min–max), in ms
    assert "cold first byte" in text and "NOT met" in text


def test_process_usage_counts_children():
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; x = b'1' * (40 << 20); print('ready', flush=True); "
                              "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        alone = procstat._status_kib(os.getpid(), "VmRSS") / 1024
        together = procstat.usage(os.getpid())
        assert together.rss_mib >= alone + 40
        assert together.peak_rss_mib >= together.rss_mib - 1 and together.cpu_seconds > 0
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert procstat.usage(child.pid) == procstat.Usage()     # gone: nothing


def test_a_wrong_byte_stops_the_benchmark(tmp_path: Path):
    data = bytes(range(256)) * 64
    (tmp_path / "v.mp4").write_bytes(data)
    video = Content("v", "v.mp4", "v.mp4", (ContentFile("v.mp4", len(data)),), len(data), media_dir=tmp_path)
    good = Exchange("GET", "http://x/v", {"Range": "bytes=10-19"}, status=206, body=data[10:20])
    probes.check(good, "s", video, 10, 19, 206)
    bad = Exchange("GET", "http://x/v", {"Range": "bytes=10-19"}, status=206, body=data[10:15] + b"\0" + data[16:20])
    with pytest.raises(probes.WrongAnswer, match="first difference at byte 15"):
        probes.check(bad, "s", video, 10, 19, 206)
    with pytest.raises(probes.WrongAnswer, match="expected 206"):
        probes.check(Exchange("GET", "http://x/v", {}, status=200, body=data), "s", video, 10, 19, 206)
    hung_up = Exchange("GET", "http://x/v", {}, status=206, body=data[:100], aborted_after=100)
    probes.check(hung_up, "s", video, 0, len(data) - 1, 206)          # what was read is compared


def test_crowd_spans_cover_the_video_without_running_past_it():
    video = Content("v", "v.mp4", "v.mp4", (ContentFile("v.mp4", SIZE),), SIZE)
    spans = probes.crowd_spans(video, 50)
    assert len(spans) == 50 and spans[0][0] == 0 and spans[-1][1] < SIZE
    assert all(end - start + 1 == MIB for start, end in spans)


def test_the_soak_is_flat_when_the_memory_levels_off_and_growing_when_it_climbs():
    from infra.measure.bench import soak

    settled = [(t, 60.0 + (t % 10) / 10) for t in range(0, 720, 5)]          # noise around 60 MiB
    flat = soak.verdict(settled, served=10**9, peak=70.0, minutes=12)
    assert flat["flat"] and abs(flat["growthMiB"]) < 2 and flat["settledRssMiB"] == pytest.approx(60.4, abs=1)
    climbing = [(t, 60.0 + t / 30) for t in range(0, 720, 5)]                 # +2 MiB a minute
    growing = soak.verdict(climbing, served=10**9, peak=90.0, minutes=12)
    assert not growing["flat"] and growing["growthMiB"] > soak.FLAT_MIB


def test_crowd_mode_takes_ratios_round_by_round_against_the_file_server():
    from infra.measure.bench import crowd

    assert crowd.percentile([0.3, 0.1, 0.2, 0.5, 0.4], 0.95) == 0.5
    assert crowd.percentile([0.3, 0.1, 0.2, 0.5, 0.4], 0.5) == 0.3
    samples = {
        "file server": crowd.Samples(p50=[0.1, 0.2, 0.4], p95=[0.2, 0.4, 0.8], cpu=[0.1, 0.1, 0.1]),
        "reference": crowd.Samples(p50=[0.1, 0.1, 0.1], p95=[0.3, 0.4, 0.4], cpu=[0.05, 0.06, 0.07]),
    }
    figures = crowd.summary(samples, "file server")
    assert figures["file server"]["p95Ratio"] == 1.0
    # ratios per round: 1.5, 1.0, 0.5 -> median 1.0 (not 0.4 / 0.4, the ratio of the medians)
    assert figures["reference"]["p95Ratio"] == 1.0
    assert figures["reference"]["p95Ms"] == 400.0
    assert figures["reference"]["cpuMsPerCrowd"] == 60.0
    table = crowd.text(figures, "file server", 50, 262144, "header")
    assert "| reference | 100 ms | 400 ms | 1.00x" in table
