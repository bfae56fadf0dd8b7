"""Grades decided from what a server does with ranges (infra/suite/range_support.py),
shown on made-up servers (tests/fixtures/range_modes.py) that each behave like one kind of
real server, through real behave runs and a target file, then read from grades.json:

* one that ignores Range altogether (RFC 9110 §14.2 MAY): non-strict where it is allowed;
* one whose target claims ranges and whose answers say "Accept-Ranges: bytes", yet answers
  every satisfiable range with the whole video: its range scenarios are unimplemented, the
  evidence (the run's probe) in the grade's detail;
* one that sends a wrong Content-Range, one that sends wrong bytes: failed;
* the range server, the suite's byte oracle: strict.

The unit tests at the end pin the decision itself, without an ecosystem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.suite.grading import Contract, Judge, NonStrict
from infra.suite.http import Exchange
from infra.suite.range_support import Outcome, RangeEvidence, RangeHabit, RangeJudge, whole_video
from tests.fixtures.range_modes import Server

SEEKING = "features/seeking.feature"
STREAMING = "features/streaming.feature"
CONCURRENT = "features/concurrent_viewers.feature"
MALFORMED = "features/malformed_ranges.feature"
CONDITIONAL = "features/conditional_ranges.feature"


def run(target: str, tmp_path: Path, features: list[str]) -> dict[str, dict]:
    """behave on `features` against `target` (a name or a .toml); every scenario's grade entry."""
    reports = tmp_path / "reports"
    env = {**os.environ, "SWARMSPEC_REPORTS_DIR": str(reports)}
    proc = subprocess.run([sys.executable, "-m", "behave", "-f", "null", "-D", f"target={target}", *features],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    path = reports / "grades.json"
    assert path.exists(), f"no grades from the {target} run (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
    return {item["scenario"]: item for item in json.loads(path.read_text())["scenarios"]}


def made_up(mode: str, capabilities: list[str], tmp_path: Path, features: list[str]) -> dict[str, dict]:
    server = Server(mode)
    try:
        toml = tmp_path / f"{mode}.toml"
        toml.write_text(server.target_toml(f"made-up-{mode}", capabilities))
        return run(str(toml), tmp_path, features)
    finally:
        server.close()


def named(graded: dict[str, dict], fragment: str) -> list[dict]:
    found = [item for name, item in graded.items() if fragment in name]
    assert found, f"no scenario named like {fragment!r} in {sorted(graded)}"
    return found


def grades_of(graded: dict[str, dict], fragment: str) -> set[str]:
    return {item["grade"] for item in named(graded, fragment)}


def test_a_server_that_ignores_range_is_non_strict_where_rfc_9110_allows_it(tmp_path):
    graded = made_up("ignores", ["playback", "concurrency"], tmp_path, [STREAMING, CONCURRENT])
    assert "failed" not in {item["grade"] for item in graded.values()}, \
        {name: item["detail"][:300] for name, item in graded.items() if item["grade"] == "failed"}
    # Accept-Ranges: none is what §14.3 allows a server without ranges; swarmspec wants bytes
    assert grades_of(graded, "A viewer plays") == {"non-strict"}
    # each viewer got the whole video, byte for byte, instead of its part (§14.2 MAY ignore)
    assert grades_of(graded, "viewers watch different parts") == {"non-strict"}
    assert "§14.2" in named(graded, "Ten viewers on the same range")[0]["detail"]
    # a HEAD answered with the GET's headers, Accept-Ranges: none among them: §14.3 allows it,
    # swarmspec wants bytes (a HEAD with a Range is head_with_range.feature's, which needs the
    # ranges capability this server does not claim)
    head = named(graded, "Asking only for the headers")
    assert {item["grade"] for item in head} == {"non-strict"} and "Accept-Ranges" in head[0]["detail"], head


def test_a_server_that_claims_ranges_but_never_serves_one_is_unimplemented_with_the_evidence(tmp_path):
    graded = made_up("declares", ["playback", "seeking", "ranges"], tmp_path, [SEEKING, MALFORMED, CONDITIONAL])
    ranges = named(graded, "The viewer asks for")
    assert {item["grade"] for item in ranges} == {"unimplemented"}
    detail = ranges[0]["detail"]
    assert "serves no byte range although its target claims ranges, seeking" in detail
    assert "Accept-Ranges: bytes" in detail and "The run's probe: GET test-small-720p [Range: bytes=0-1023] -> 200, the whole video" in detail
    assert grades_of(graded, "as a player does") == {"unimplemented"}
    assert grades_of(graded, "A player reads the index") == {"unimplemented"}
    # a current If-Range on a server without ranges: §13.1.5 has it ignored, with the range
    assert grades_of(graded, "copy that is still current") == {"unimplemented"}
    # ignoring a malformed or unsatisfiable Range is allowed (§14.2); its "still serves" check is no range test
    assert grades_of(graded, "A malformed Range header") == {"non-strict"}
    assert grades_of(graded, "An unsatisfiable range") == {"non-strict"}
    assert grades_of(graded, "An unknown range unit is ignored") == {"strict"}


@pytest.mark.parametrize("mode, evidence", [("wrong-range", "Content-Range"), ("wrong-bytes", "first difference")])
def test_wrong_content_range_or_wrong_bytes_stay_failed(mode, evidence, tmp_path):
    graded = made_up(mode, ["playback", "seeking"], tmp_path, ["-n", "The viewer asks for", SEEKING])
    ranges = named(graded, "The viewer asks for")
    assert {item["grade"] for item in ranges} == {"failed"}, {i["scenario"]: i["grade"] for i in ranges}
    assert all(evidence in item["detail"] for item in ranges), [item["detail"][:300] for item in ranges]


def test_the_reference_behaviour_is_strict(tmp_path):
    graded = run("range-server", tmp_path, [SEEKING, CONCURRENT, "-n", "The viewer asks for|viewers"])
    assert graded and {item["grade"] for item in graded.values()} == {"strict"}, \
        {name: item["grade"] for name, item in graded.items()}


# -- the decision, without an ecosystem -----------------------------------------------------

class FakeVideo:
    name, size = "fake", 4096

    def __init__(self) -> None:
        self.data = bytes(range(256)) * 16

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end + 1]


class FakeScenario:
    def __init__(self, tags: tuple[str, ...]) -> None:
        self.effective_tags, self.skipped = tags, None

    def skip(self, reason: str) -> None:
        self.skipped = reason


def answer(status: int, video: FakeVideo, body: bytes | None = None, **headers: str) -> Exchange:
    body = video.data if body is None else body
    return Exchange("GET", "http://127.0.0.1:1/v", {"Range": "bytes=100-199"}, status=status, body=body,
                    headers={"Content-Length": str(len(body)), **headers})


def judge_for(tags: tuple[str, ...], habit: RangeHabit, contract: Contract = Contract.RFC9110):
    scenario = FakeScenario(tags)
    evidence = RangeEvidence(habit, ("GET [Range: bytes=0-1023] -> 200, the whole video (4096 bytes)",), True)
    return RangeJudge(scenario, Judge(contract), lambda: evidence, "fake", ("ranges",)), scenario


def test_a_206_with_the_right_bytes_is_served():
    video = FakeVideo()
    ranges, scenario = judge_for(("needs.ranges",), RangeHabit.SERVES)
    exchange = answer(206, video, video.read(100, 199), **{"Content-Range": "bytes 100-199/4096"})
    assert ranges.answer(exchange, video, (100, 199)) is Outcome.SERVED and not ranges.judge.deviations


@pytest.mark.parametrize("headers, body, message", [
    ({"Content-Range": "bytes 101-200/4096"}, slice(100, 200), "Content-Range"),
    ({"Content-Range": "bytes 100-199/4096"}, slice(101, 201), "first difference"),
])
def test_a_206_with_a_wrong_content_range_or_wrong_bytes_fails(headers, body, message):
    video = FakeVideo()
    ranges, _ = judge_for(("needs.ranges",), RangeHabit.SERVES)
    with pytest.raises(AssertionError, match=message):
        ranges.answer(answer(206, video, video.data[body], **headers), video, (100, 199))


def test_a_200_with_wrong_bytes_or_length_fails_whatever_the_habit():
    video = FakeVideo()
    for habit in RangeHabit:
        ranges, _ = judge_for(("needs.ranges",), habit)
        with pytest.raises(AssertionError, match="whole"):
            ranges.answer(answer(200, video, video.data[:-1] + b"!"), video, (100, 199))
        with pytest.raises(AssertionError, match="whole"):
            ranges.answer(answer(200, video, video.data[:2048]), video, (100, 199))
        broken = answer(200, video, video.data[:2048], **{"Content-Length": "4096"})
        broken.error = "ReadTimeout: the server went silent"
        with pytest.raises(AssertionError, match="broke off"):
            ranges.answer(broken, video, (100, 199))


def test_other_statuses_fail():
    video = FakeVideo()
    for status in (416, 500):
        ranges, _ = judge_for((), RangeHabit.SERVES)
        with pytest.raises(AssertionError, match="206"):
            ranges.answer(answer(status, video, b""), video, (100, 199))


def test_a_whole_video_where_the_range_is_incidental_is_non_strict():
    video = FakeVideo()
    ranges, scenario = judge_for(("needs.playback",), RangeHabit.IGNORES)
    assert ranges.answer(answer(200, video), video, (100, 199)) is Outcome.IGNORED
    assert scenario.skipped is None and "§14.2" in ranges.judge.deviations[0]
    assert ranges.was_ignored(ranges.ignored[0])


def test_under_the_strict_contract_non_strict_fails_the_scenario_but_is_graded_non_strict():
    video = FakeVideo()
    ranges, _ = judge_for((), RangeHabit.IGNORES, Contract.STRICT)
    with pytest.raises(NonStrict):
        ranges.answer(answer(200, video), video, (100, 199))


def test_a_whole_video_where_the_range_is_the_point_is_unimplemented_only_if_no_range_is_ever_served():
    video = FakeVideo()
    ranges, scenario = judge_for(("needs.seeking",), RangeHabit.IGNORES)
    assert ranges.answer(answer(200, video), video, (100, 199)) is Outcome.UNIMPLEMENTED
    assert scenario.skipped.startswith("unimplemented: target 'fake' serves no byte range although its target "
                                       "claims ranges and its answers carry Accept-Ranges: bytes")
    assert "The run's probe: GET [Range: bytes=0-1023] -> 200" in scenario.skipped
    for habit in (RangeHabit.SERVES, RangeHabit.UNCLEAR):
        ranges, scenario = judge_for(("needs.seeking",), habit)
        assert ranges.answer(answer(200, video), video, (100, 199)) is Outcome.IGNORED and scenario.skipped is None


def test_a_range_a_clause_requires_fails_as_a_whole_video_on_a_target_that_serves_ranges():
    video = FakeVideo()
    ranges, _ = judge_for(("needs.ranges",), RangeHabit.SERVES)
    with pytest.raises(AssertionError, match="13.1.5"):
        ranges.answer(answer(200, video), video, (100, 199), required_by="RFC 9110 §13.1.5 SHOULD")


def test_a_reader_that_hung_up_early_is_compared_as_far_as_it_read():
    video = FakeVideo()
    exchange = answer(200, video, video.data[:1000], **{"Content-Length": "4096"})
    exchange.aborted_after = 1000
    assert whole_video(video).matches(exchange)
    exchange.body = video.data[:999] + b"\x00"
    assert not whole_video(video).matches(exchange)


def test_skip_if_never_served_skips_only_a_target_that_serves_no_range():
    ranges, scenario = judge_for((), RangeHabit.SERVES)
    assert ranges.skip_if_never_served("the browser never jumped") is False and scenario.skipped is None
    ranges, scenario = judge_for((), RangeHabit.IGNORES)
    assert ranges.skip_if_never_served("the browser never jumped") is True
    assert "the browser never jumped" in scenario.skipped


def test_the_run_probes_once_as_a_plain_viewer_and_again_while_unclear(monkeypatch):
    from types import SimpleNamespace

    from infra.suite import range_support
    from infra.suite.world import World

    habits = [RangeHabit.UNCLEAR, RangeHabit.IGNORES, RangeHabit.SERVES]
    asked = []

    def probe(viewer, video):
        asked.append((viewer.token_override, viewer.client, video))
        return RangeEvidence(habits.pop(0), (), False)

    monkeypatch.setattr(range_support, "probe", probe)
    world = SimpleNamespace(range_evidence=None, target="target", library={"the small video": "small"})
    scenario_viewer = SimpleNamespace(client="client", token_override="a forged token")
    assert World.ranges_of(world, scenario_viewer).habit is RangeHabit.UNCLEAR
    assert World.ranges_of(world, scenario_viewer).habit is RangeHabit.IGNORES
    assert World.ranges_of(world, scenario_viewer).habit is RangeHabit.IGNORES   # decided: kept for the run
    assert asked == [(None, "client", "small")] * 2
