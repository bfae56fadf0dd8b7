"""The crowd's pure parts: chunk digests, the playback model on a fake clock, the knee,
and the capacity column of the matrix. No Locust (it would patch this process with
gevent: it runs only in processes of its own), no server."""

from __future__ import annotations

import json
import os

import pytest

from infra.suite import matrix
from infra.suite.crowd import knee
from infra.suite.crowd.digests import ChunkTable, WrongBytes
from infra.suite.crowd.model import ENDED, PLAYING, STALLED, STARTING, Habits, Playback
from infra.suite.crowd.plan import Criteria, Plan


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "video.bin"
    path.write_bytes(os.urandom(5 * 1024 + 100))
    return path


def test_whole_chunks_from_the_source_are_verified(source):
    table = ChunkTable.of_file(source, chunk=1024)
    data = source.read_bytes()
    assert table.verified(0, data) == len(data)
    assert table.verified(2048, data[2048:2048 + 1500]) == 1024       # the partial chunk is not counted
    assert table.verified(5120, data[5120:]) == 100                    # the file's short last chunk is whole


def test_a_byte_from_elsewhere_is_caught_at_its_chunk(source):
    table = ChunkTable.of_file(source, chunk=1024)
    data = bytearray(source.read_bytes())
    data[3000] ^= 0xFF
    with pytest.raises(WrongBytes) as caught:
        table.verified(0, bytes(data))
    assert caught.value.offset == 2048
    with pytest.raises(WrongBytes):
        table.verified(1024, bytes(source.read_bytes()[:1024]))         # the right bytes at the wrong offset


def test_the_table_survives_its_file(source, tmp_path):
    table = ChunkTable.of_file(source, chunk=1024)
    table.save(tmp_path / "table.json")
    assert ChunkTable.load(tmp_path / "table.json") == table
    with pytest.raises(ValueError):
        table.verified(10, b"x")                                        # not on a chunk boundary


HABITS = Habits(bitrate=100.0, goal_seconds=10.0, start_seconds=2.0, resume_seconds=2.0, request_bytes=300)


def test_startup_ends_once_the_first_seconds_are_in():
    playback = Playback(10_000, HABITS, now=0.0)
    assert playback.next_range(0.0) == (0, 199)                        # as little as starts playback
    assert playback.received(0.5, 200) == ("startup", 0.5)
    assert playback.state == PLAYING
    assert playback.next_range(0.5) == (200, 499)                      # then the buffer goal, a range at a time


def test_ranges_end_on_whole_chunks():
    playback = Playback(10_000, HABITS, now=0.0, chunk=64)
    assert playback.next_range(0.0) == (0, 255)                        # 200 bytes wanted, 4 chunks of 64 asked
    playback.received(0.1, 256)
    assert playback.next_range(0.1) == (256, 575)                      # 300 wanted from 256: up to 576


def test_a_full_buffer_is_topped_up_at_the_bitrate():
    playback = Playback(10_000, HABITS, now=0.0)
    playback.received(0.0, 200)
    playback.received(0.0, 900)                                        # 11 s buffered: past the goal
    assert playback.next_range(0.0) is None
    assert playback.wait_seconds(0.0) == pytest.approx(4.0)            # 1100 - (1000 - 300) bytes at 100 B/s
    assert playback.next_range(4.0) == (1100, 1399)


def test_a_stall_is_measured_from_the_empty_buffer_to_the_resume():
    playback = Playback(10_000, HABITS, now=0.0)
    playback.received(0.0, 200)                                        # 2 s buffered, playing from t=0
    playback.advance(3.0)
    assert playback.state == STALLED and playback.stall_from == pytest.approx(2.0)
    assert playback.open_stall(3.0) == pytest.approx(1.0)
    assert playback.received(3.5, 250) == ("rebuffer", pytest.approx(1.5))


def test_a_seek_starts_again_where_the_viewer_went_and_the_end_ends():
    playback = Playback(1000, HABITS, now=0.0)
    playback.received(0.0, 200)
    playback.seek(1.0, 800)
    assert playback.state == STARTING and playback.next_range(1.0) == (800, 999)
    assert playback.received(1.2, 200)[0] == "seek"
    playback.advance(10.0)
    assert playback.state == ENDED


def tally(viewer, level, startups=(0.2,), rebuffers=(), wrong=()):
    return {"viewer": viewer, "level": level, "startups": list(startups), "seeks": [], "rebuffers": list(rebuffers),
            "bytes": 1000, "watched": 10.0, "errors": [], "wrong_bytes": list(wrong), "slowest": 0.1}


def test_the_knee_is_the_last_level_before_the_first_failure():
    criteria = Criteria(share=0.99)
    good = {level: [tally(f"v{i}", level) for i in range(level)] for level in (10, 20, 40)}
    good[40][0] = tally("v0", 40, rebuffers=(1.0,))                    # 1 of 40 stalls 1 s: 97.5 % < 99 %
    levels = [knee.judge(level, tallies, criteria) for level, tallies in good.items()]
    assert [lv.passed for lv in levels] == [True, True, False]
    assert knee.capacity(levels) == (20, True)
    assert levels[2].long_rebuffers == 1


def test_slow_starts_and_wrong_bytes_fail_a_viewer_but_short_stalls_do_not():
    criteria = Criteria()
    assert knee.viewer_ok(tally("a", 5, rebuffers=(0.99,)), criteria)
    assert not knee.viewer_ok(tally("a", 5, startups=(2.01,)), criteria)
    assert not knee.viewer_ok(tally("a", 5, wrong=("chunk at 0",)), criteria)


def test_the_plan_round_trips():
    plan = Plan([{"url": "http://127.0.0.1:1/v", "headers": {}}], 10, 4, [1, 2, 3], HABITS, [5, 10], 3.0)
    assert Plan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert plan.schedule_seconds() == 2 * 3.0 + plan.flush_seconds


def test_the_matrix_summary_gains_a_capacity_column(tmp_path):
    capacity = tmp_path / "capacity.json"
    capacity.write_text(json.dumps({"targets": [
        {"target": "reference", "mode": "warm", "capacity": 80, "failed_level": 120},
        {"target": "range-server", "mode": "warm", "capacity": 320, "failed_level": None}]}))
    summary = ("| target | provider | wall time |\n|---|---|---|\n| reference | local | 1 s |\n"
               "| reference@docker | docker | 2 s |\n| range-server | local | 3 s |\n\n| feature | x |\n")
    shown = matrix.with_capacity_column(summary, matrix.capacities(capacity))
    assert "| reference | local | 1 s | 80 (warm) |" in shown
    assert "| reference@docker | docker | 2 s | – |" in shown
    assert "| range-server | local | 3 s | ≥ 320 (warm) |" in shown
    assert shown.endswith("| feature | x |\n")                          # the detail table is left alone


def test_the_readme_summary_carries_the_capacity_column_too(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{matrix.README_START}\nold\n{matrix.README_END}\nrest\n")
    matrix.update_readme(readme, [], {"reference": "80 (warm)"})
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith(f"{matrix.README_END}\nrest\n")
    assert "capacity |" in text.split(matrix.README_START)[1].splitlines()[1]


def test_the_benchmark_gains_a_capacity_row():
    from infra.measure.bench.report import capacity_table
    from infra.measure.capacity.runner import TargetResult

    level = knee.Level(40, 40, True, 1.0, 0.3, 0.5, None, 0, 0, 0.0, 5.0, 0, 0, range_p95=120.0)
    results = [TargetResult("range-server", "warm", 40, 60, [level], None, {}, "", ""),
               TargetResult("reference", "warm", 40, None, [level], None, {}, "", "")]
    table = capacity_table(results, ["file server", "webtorrent", "reference"])
    assert table.splitlines()[-1] == "| capacity: viewers at once, warm | 40 (p95 120 ms) | – | ≥ 40 (p95 120 ms) |"


def test_a_worker_in_a_container_plays_the_streams_at_their_in_network_addresses():
    mapping = {"http://127.0.0.1:40001": "http://backend:8080", "http://127.0.0.1:4000": "http://webtorrent:8081"}
    plan = Plan([{"url": "http://127.0.0.1:40001/api/stream/x", "headers": {}}, {"url": "http://127.0.0.1:4000/x",
                 "headers": {}}, {"url": "http://127.0.0.1:5/x", "headers": {}}], 10, 4, [1, 2, 3], HABITS, [5], 3.0)
    assert [s["url"] for s in plan.with_urls_mapped(mapping).streams] == [
        "http://backend:8080/api/stream/x", "http://webtorrent:8081/x", "http://127.0.0.1:5/x"]   # 4000 is not 40001


def test_docker_url_map_names_every_published_port():
    from types import SimpleNamespace

    from infra.measure.capacity.docker_workers import url_map

    container = SimpleNamespace(reload=lambda: None, attrs={"NetworkSettings": {"Ports": {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "40001"}], "8081/tcp": [{"HostPort": "40002"}],
        "6881/udp": None}}})
    provider = SimpleNamespace(services={"webtorrent": SimpleNamespace(container=container)})
    assert url_map(provider) == {"http://127.0.0.1:40001": "http://webtorrent:8080",
                                 "http://127.0.0.1:40002": "http://webtorrent:8081"}


def test_only_the_locustfile_imports_locust_or_gevent():
    """Locust patches the standard library with gevent on import: anything behave, a backend
    or the capacity command imports must not pull it in."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("infra/**/*.py"), *root.glob("steps/*.py"), root / "environment.py"]:
        if "node_modules" in path.parts or path.name == "locustfile.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("locust", "gevent") or n.endswith("crowd.locustfile") for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def test_a_levels_new_viewers_arrive_spread_over_its_first_seconds():
    plan = Plan([], 10, 4, [1, 2, 3], HABITS, levels=[10, 12, 40], level_seconds=15.0, arrival_seconds=5.0)
    assert [plan.spawn_rate_at(step) for step in range(3)] == [2.0, 1.0, 5.6]     # 10, 2 and 28 new viewers over 5 s
    assert Plan([], 10, 4, [1, 2, 3], HABITS, levels=[10], level_seconds=15.0).spawn_rate_at(0) == 50.0
