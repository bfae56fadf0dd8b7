"""The suite's judgement, checked on real servers: against the bundled third-party
servers it must keep grading their known defects as failed (and their RFC-allowed
deviations as non-strict), and it must grade our own servers strict everywhere.

Each test runs behave on a few features against one target (its own ecosystem, its own
reports directory) and reads the grades.json the run wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import PROJECT_ROOT

FEATURES = ["features/malformed_ranges.feature", "features/conditional_ranges.feature",
            "features/multiple_ranges.feature", "features/cors.feature"]


def grades(target: str, tmp_path: Path, features: list[str] = FEATURES) -> dict[str, str]:
    reports = tmp_path / target
    env = {"SWARMSPEC_REPORTS_DIR": str(reports), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "behave", "-f", "null", "-D", f"target={target}", *features],
                          cwd=PROJECT_ROOT, env={**__import__("os").environ, **env}, capture_output=True,
                          text=True, timeout=600)
    path = reports / "grades.json"
    assert path.exists(), f"no grades from the {target} run (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
    return {item["scenario"].split(" -- @")[0] + item["location"].rsplit(":", 1)[-1]: item["grade"]
            for item in json.loads(path.read_text())["scenarios"]}


def by_name(graded: dict[str, str], fragment: str) -> list[str]:
    found = [grade for name, grade in graded.items() if fragment in name]
    assert found, f"no scenario named like {fragment!r} in {sorted(graded)}"
    return found


@pytest.mark.parametrize("target", ["reference", "range-server"])
def test_our_servers_are_strict_everywhere(target, tmp_path):
    graded = grades(target, tmp_path)
    assert graded and set(graded.values()) == {"strict"}, {k: v for k, v in graded.items() if v != "strict"}


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="no node: the third-party servers need nodejs")


@needs_node
@pytest.mark.parametrize("target", ["webtorrent", "peerflix"])
def test_known_defects_of_third_party_servers_are_failed(target, tmp_path):
    graded = grades(target, tmp_path)
    # RFC 9110 §14.2: an unknown range unit MUST be ignored; both answer 206.
    assert by_name(graded, "An unknown range unit is ignored") == ["failed"]
    # RFC 9110 §13.1.5: a stale If-Range MUST get the whole representation; both answer 206.
    assert set(by_name(graded, "A range of a copy that is not current")) == {"failed"}
    # RFC 9110 §8.8.3: no ETag at all (SHOULD).
    assert by_name(graded, "carries the same strong validators") == ["failed"]
    # RFC 9110 §14.2 allows ignoring a malformed Range (200): graded non-strict, not failed.
    assert set(by_name(graded, "A malformed Range header")) == {"non-strict"}


@pytest.mark.parametrize("target", ["reference", pytest.param("webtorrent", marks=needs_node),
                                    pytest.param("peerflix", marks=needs_node)])
def test_the_first_byte_of_a_fresh_torrent_is_measured_on_any_backend_that_streams_any_magnet(target, tmp_path):
    """A fresh copy of a video (a new info hash) needs no idle clean-up: every target that
    can stream any magnet is measured, none is left 'unimplemented' for lack of lifecycle."""
    graded = grades(target, tmp_path, ["-n", "first byte of a fresh torrent", "features/performance.feature"])
    assert by_name(graded, "The first byte of a fresh torrent") == ["strict"]
