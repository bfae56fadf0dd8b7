"""The matrix split into shards and joined again equals the unsharded matrix (matrix.json
minus wall times), with one Allure report of every row; every full matrix leaves a history
record with its versions, and the history page shows the targets' grades over runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.suite import matrix, matrix_allure, matrix_history, matrix_shards, versions
from infra.suite.matrix_shards import ShardError

LABELS = ["reference", "range-server", "webtorrent", "webtorrent2", "peerflix"]


def test_every_row_lands_in_exactly_one_shard_in_listed_order():
    for n in range(1, 7):
        shares = [matrix_shards.select(LABELS, f"{i}/{n}") for i in range(1, n + 1)]
        assert sorted(sum(shares, [])) == sorted(LABELS), n
        for share in shares:
            assert share == [label for label in LABELS if label in share]
    assert matrix_shards.select(LABELS, "2/2") == ["range-server", "webtorrent2"]
    assert matrix_shards.select(LABELS, "6/6") == []


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_a_shard_spelled_wrongly_is_refused(spec):
    with pytest.raises(ShardError, match="--shard"):
        matrix_shards.select(LABELS, spec)


def _row(runs: Path, label: str, grades: dict[str, str], wall: float) -> None:
    """A row as infra/run-matrix.sh leaves it: grades.json, run.json, allure-results."""
    row = runs / label
    (row / "allure-results").mkdir(parents=True)
    scenarios = [{"feature": "Seeking", "scenario": name, "grade": grade, "clauses": ["RFC 9110 §14.2"],
                  "location": f"features/seeking.feature:{i}", "detail": "" if grade == "strict" else f"{name}: why"}
                 for i, (name, grade) in enumerate(grades.items())]
    counts = {g: sum(1 for s in scenarios if s["grade"] == g) for g in matrix.GRADES}
    (row / "grades.json").write_text(json.dumps({"target": label, "contract": "rfc9110", "provider": "local",
                                                 "counts": counts, "scenarios": scenarios}))
    (row / "run.json").write_text(json.dumps({"target": label, "version": f"{label} 1.0", "wall_seconds": wall,
                                              "exit_status": 0}))
    for i, name in enumerate(grades):
        (row / "allure-results" / f"{label}-{i}-result.json").write_text(json.dumps(
            {"name": name, "fullName": f"Seeking: {name}", "historyId": f"h{i}", "testCaseId": f"t{i}",
             "labels": [{"name": "feature", "value": "Seeking"}], "parameters": []}))
    (row / "allure-results" / "environment.properties").write_text(f"target={label}\n")


def _grades(label: str) -> dict[str, str]:
    return {"first KiB": "strict", "middle": "non-strict" if label.startswith("web") else "strict",
            "suffix": "failed" if label == "peerflix" else "strict"}


def _build(out: Path) -> dict:
    assert matrix.main(["--runs", str(out / "runs"), "--out", str(out), "--require", ""]) == 0
    matrix_allure.combine(out / "runs", out / "allure-results")
    data = json.loads((out / "matrix.json").read_text())
    for row in data["targets"]:
        row.pop("wall_seconds")
    return data


def test_two_shards_merged_equal_the_unsharded_matrix_and_report(tmp_path):
    whole = tmp_path / "whole"
    for k, label in enumerate(LABELS):
        _row(whole / "runs", label, _grades(label), wall=10.0 + k)
    shard_dirs = []
    for i in (1, 2):
        shard = tmp_path / f"shard-{i}"
        for k, label in enumerate(matrix_shards.select(LABELS, f"{i}/2")):
            _row(shard / "runs", label, _grades(label), wall=99.0 - k)    # other wall times: dropped
        shard_dirs.append(shard)
    merged = tmp_path / "merged"
    assert sorted(matrix_shards.gather(merged, shard_dirs)) == sorted(LABELS)
    assert _build(merged) == _build(whole)
    report = {p.name: json.loads(p.read_text()) if p.suffix == ".json" else p.read_text()
              for p in (merged / "allure-results").iterdir()}
    assert report == {p.name: json.loads(p.read_text()) if p.suffix == ".json" else p.read_text()
                      for p in (whole / "allure-results").iterdir()}
    assert len([name for name in report if name.endswith("-result.json")]) == 3 * len(LABELS)


def test_a_row_in_two_shards_or_a_shard_without_runs_is_refused(tmp_path):
    for i in (1, 2):
        _row(tmp_path / f"s{i}" / "runs", "webtorrent", _grades("webtorrent"), 1.0)
    with pytest.raises(ShardError, match="row webtorrent is in two shards"):
        matrix_shards.gather(tmp_path / "out", [tmp_path / "s1", tmp_path / "s2"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ShardError, match="no runs/ directory"):
        matrix_shards.gather(tmp_path / "out", [tmp_path / "empty"])


def test_allure_keeps_the_same_scenario_of_two_targets_apart():
    result = {"name": "s", "fullName": "F: s", "historyId": "h", "testCaseId": "t", "labels": [], "parameters": []}
    one, two = matrix_allure.mark(result, "webtorrent"), matrix_allure.mark(result, "webtorrent2")
    assert one["historyId"] != two["historyId"] and one["testCaseId"] != two["testCaseId"]
    assert {"name": "target", "value": "webtorrent2"} in two["parameters"]
    assert {"name": "parentSuite", "value": "webtorrent2"} in two["labels"]
    assert result["parameters"] == [], "the original is not modified"


def test_history_keeps_each_run_with_versions_and_shows_grades_over_runs(tmp_path):
    out = tmp_path / "matrix"
    for label in ("webtorrent", "webtorrent2"):
        _row(out / "runs", label, _grades(label), 5.0)
    _build(out)
    history = tmp_path / "history"
    start = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    first = matrix_history.record(out, history, now=start)
    _row_again = json.loads((out / "runs" / "webtorrent2" / "grades.json").read_text())
    _row_again["scenarios"][1]["grade"] = "strict"
    _row_again["counts"] = {**_row_again["counts"], "strict": 3, "non-strict": 0}
    (out / "runs" / "webtorrent2" / "grades.json").write_text(json.dumps(_row_again))
    _build(out)
    second = matrix_history.record(out, history, now=start + timedelta(days=1))
    assert first != second
    record = json.loads(second.read_text())
    assert record["date"] == "2026-12-02T12:00:00Z"
    assert {"version", "commit"} <= set(record["swarmspec"])
    assert [row["version"] for row in record["targets"]] == ["webtorrent 1.0", "webtorrent2 1.0"]
    records = matrix_history.load(history)
    assert [r["date"] for r in records] == ["2026-12-01T12:00:00Z", "2026-12-02T12:00:00Z"]
    assert matrix_history.changes(records[0], records[1]) == [("webtorrent2", "Seeking", "middle", "non-strict", "strict")]
    page = matrix_history.write_page(history).read_text()
    assert page.count("2026-12-0") >= 2 and "webtorrent2 1.0" in page
    assert "<td>non-strict</td><td>strict</td>" in page
    assert "2 / 1 / 0 / 0" in page and "3 / 0 / 0 / 0" in page     # webtorrent2's counts, run after run


def test_versions_name_the_bundled_engines_as_installed():
    assert versions.target("webtorrent") == "webtorrent 3.0.21"
    assert versions.target("webtorrent2") == "webtorrent 2.8.5"
    assert versions.target("peerflix") == "peerflix 0.39.0"
    assert versions.target("reference").startswith("swarmspec ")
    assert versions.target("miauflix", {}) == "unknown"
    assert versions.target("some/target.toml") == "unknown"


@pytest.mark.integration
def test_the_matrix_run_as_two_shards_and_merged_equals_the_unsharded_run(tmp_path):
    """The real thing, small: two quick rows, one feature, through infra/run-matrix.sh."""
    env = {**os.environ, "SWARMSPEC_MATRIX_TARGETS": "range-server reference"}
    feature = ["--", "features/multiple_ranges.feature"]

    def run(*args: str) -> None:
        done = subprocess.run(["bash", "infra/run-matrix.sh", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"run-matrix.sh {' '.join(args)}: exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"

    run("--out", str(tmp_path / "whole"), "--history", str(tmp_path / "history"), *feature)
    run("--shard", "1/2", "--out", str(tmp_path / "s1"), *feature)
    run("--shard", "2/2", "--out", str(tmp_path / "s2"), *feature)
    run("merge", "--out", str(tmp_path / "merged"), "--history", str(tmp_path / "history"),
        str(tmp_path / "s1"), str(tmp_path / "s2"))

    def without_walls(out: Path) -> dict:
        data = json.loads((out / "matrix.json").read_text())
        for row in data["targets"]:
            row.pop("wall_seconds")
        return data

    assert without_walls(tmp_path / "merged") == without_walls(tmp_path / "whole")
    assert [r.name for r in sorted((tmp_path / "merged" / "runs").iterdir())] == ["range-server", "reference"]
    assert (tmp_path / "merged" / "allure-report" / "index.html").exists()
    assert len(matrix_history.load(tmp_path / "history")) == 2
    assert "reference" in (tmp_path / "history" / "index.html").read_text()


def test_merge_refuses_a_missing_shard_a_foreign_one_or_a_shard_that_stopped_early(tmp_path):
    rows = ["reference", "range-server", "webtorrent"]
    dirs = []
    for i in (1, 2):
        shard = tmp_path / f"s{i}"
        for label in matrix_shards.record(shard / "shard.json", rows, f"{i}/2"):
            _row(shard / "runs", label, _grades(label), 1.0)
        dirs.append(shard)
    with pytest.raises(ShardError, match=r"missing \[2\]"):
        matrix_shards.gather(tmp_path / "out", dirs[:1])
    other = tmp_path / "other"
    matrix_shards.record(other / "shard.json", rows + ["peerflix"], "2/2")
    (other / "runs").mkdir()
    with pytest.raises(ShardError, match="different matrices"):
        matrix_shards.gather(tmp_path / "out", [dirs[0], other])
    shutil.rmtree(dirs[0] / "runs" / "webtorrent")
    with pytest.raises(ShardError, match=r"not in its runs/: \['webtorrent'\]"):
        matrix_shards.gather(tmp_path / "out", dirs)


def test_shards_record_their_labels_with_the_providers_suffix(tmp_path):
    chosen = matrix_shards.record(tmp_path / "shard.json", ["reference", "webtorrent"], "1/2", "@docker")
    assert chosen == ["reference"]
    assert json.loads((tmp_path / "shard.json").read_text()) == {
        "shard": "1/2", "rows": ["reference@docker", "webtorrent@docker"], "weights": {},
        "selected": ["reference@docker"]}


#: wall times of the full matrix's rows (README's matrix): the long ones are rows 1, 3 and 5
WALLS = {"reference": 135.0, "range-server": 21.0, "webtorrent": 109.0, "webtorrent2": 110.0, "peerflix": 146.0}


def test_weights_split_the_rows_so_the_jobs_end_together():
    def loads(split):
        return [sum(WALLS[row] for row in share) for share in split]

    for n in range(1, 7):
        split = [matrix_shards.select(LABELS, f"{i}/{n}", WALLS) for i in range(1, n + 1)]
        assert sorted(sum(split, [])) == sorted(LABELS), n
    round_robin = [matrix_shards.select(LABELS, f"{i}/2") for i in (1, 2)]
    balanced = [matrix_shards.select(LABELS, f"{i}/2", WALLS) for i in (1, 2)]
    assert loads(round_robin) == [390.0, 131.0]
    assert balanced == [["webtorrent", "peerflix"], ["reference", "range-server", "webtorrent2"]]
    assert loads(balanced) == [255.0, 266.0]
    assert matrix_shards.select(LABELS + ["new"], "2/2", WALLS) == ["reference", "webtorrent2", "new"], \
        "a row without a wall time counts as an average one (104 s)"


def test_weights_come_from_the_newest_record_of_each_row_and_shards_split_alike(tmp_path):
    out = tmp_path / "matrix"
    for label in LABELS:
        _row(out / "runs", label, _grades(label), WALLS[label])
    _build(out)
    history = tmp_path / "history"
    matrix_history.record(out, history, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert matrix_shards.weights_from(history) == {label: WALLS[label] for label in LABELS}
    dirs = []
    for i in (1, 2):
        shard = tmp_path / f"s{i}"
        for label in matrix_shards.record(shard / "shard.json", LABELS, f"{i}/2", history=history):
            _row(shard / "runs", label, _grades(label), 1.0)
        dirs.append(shard)
    assert sorted(matrix_shards.gather(tmp_path / "merged", dirs)) == sorted(LABELS)
    unweighted = tmp_path / "s2-unweighted"
    matrix_shards.record(unweighted / "shard.json", LABELS, "2/2")
    (unweighted / "runs").mkdir()
    with pytest.raises(ShardError, match="different matrices"):
        matrix_shards.gather(tmp_path / "merged2", [dirs[0], unweighted])


def test_a_row_that_ended_before_grading_is_in_the_matrix_and_fails_a_required_target(tmp_path):
    runs = tmp_path / "runs"
    for label in ("reference", "webtorrent2@docker"):
        (runs / label).mkdir(parents=True)
        (runs / label / "run.json").write_text(json.dumps({"target": label.split("@")[0], "version": "x",
                                                           "wall_seconds": 3.0, "exit_status": 1}))
    loaded = matrix.load_runs(runs)
    assert [(r.label, r.broken) for r in loaded] == [("reference", True), ("webtorrent2@docker", True)]
    assert "not graded: the run ended (exit 1) before grading" in matrix.to_markdown(loaded, detail_rows=False)
    assert matrix.violations(loaded, {"reference"}) == [
        "reference: not graded: the run ended (exit 1) before grading; runs/reference/console.log says why"]
