"""A crowd end to end: Locust (in processes of its own) plays a file from a small range
server in this test, checks every byte, and reports back; a server that returns wrong
bytes is caught, a fixed-level ramp and a master with a worker both report every viewer.
About 15 s each."""

from __future__ import annotations

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from infra.suite.crowd import knee, launch
from infra.suite.crowd.audience import Audience
from infra.suite.crowd.digests import ChunkTable
from infra.suite.crowd.model import Habits
from infra.suite.crowd.plan import Plan


def serve(path: Path, corrupt_at: int | None = None):
    """A range server for one file on a free loopback port; `corrupt_at` flips that byte."""
    data = bytearray(path.read_bytes())
    if corrupt_at is not None:
        data[corrupt_at] ^= 0xFF

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            first, last = (int(match.group(1)), min(int(match.group(2)), len(data) - 1)) if match else (0, len(data) - 1)
            self.send_response(206 if match else 200)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            self.wfile.write(bytes(data[first:last + 1]))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/video"


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "video.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))
    return path


def test_a_crowd_plays_and_checks_every_byte(video, tmp_path):
    server, url = serve(video)
    try:
        audience = Audience(4, 6, url, {}, video, bitrate=video.stat().st_size / 60, folder=tmp_path / "crowd").start()
        audience.wait_until_playing(timeout=60)
        outcome = audience.wait()
    finally:
        server.shutdown()
    assert len(outcome.tallies) >= 4
    assert outcome.with_wrong_bytes() == [] and outcome.errors == []
    assert outcome.received_bytes >= 4 * video.stat().st_size // 2        # the 30 s buffer goal of a 60 s file
    assert all(t["startups"] for t in outcome.tallies)
    assert (tmp_path / "crowd" / "locust.html").exists()
    usage = launch.read_usage(tmp_path / "crowd" / "usage.jsonl")
    assert usage and all(set(by) == {"locust"} for by in usage.values()), usage


def test_wrong_bytes_are_caught_at_their_chunk(video, tmp_path):
    server, url = serve(video, corrupt_at=70_000)                           # in the second 64 KiB chunk
    try:
        audience = Audience(2, 5, url, {}, video, bitrate=video.stat().st_size / 60, folder=tmp_path / "crowd").start()
        outcome = audience.wait()
    finally:
        server.shutdown()
    wrong = outcome.with_wrong_bytes()
    assert wrong, outcome.summary()
    assert "the chunk at byte 65536 differs" in wrong[0]["wrong_bytes"][0]


def test_a_master_and_a_worker_report_every_viewer_of_every_level(video, tmp_path):
    server, url = serve(video)
    table = ChunkTable.of_file(video)
    plan = Plan([{"url": url, "headers": {}}], table.size, table.chunk, list(table.digests),
                Habits(bitrate=table.size / 60), levels=[2, 4], level_seconds=5, stop_after_failure=False)
    outputs = launch.Outputs(tmp_path / "ramp")
    try:
        peaks = launch.run(plan, outputs, workers=1)
    finally:
        server.shutdown()
    by_level = knee.read_tallies(outputs.tallies)
    assert len(by_level.get(2, [])) >= 2 and len(by_level.get(4, [])) >= 4, {k: len(v) for k, v in by_level.items()}
    assert {"master", "worker-1"} <= set(peaks)
    assert knee.locust_latencies(outputs.stats_csv).get("range @4", {}).get("count")
    usage = launch.read_usage(outputs.usage)          # each process measured itself, per level, over Locust's messages
    assert set(usage) == {2, 4} and all(set(by) == {"master", "worker-1"} for by in usage.values()), usage
    assert usage[4]["worker-1"] > 0, usage           # the worker played 4 viewers: it used some CPU
