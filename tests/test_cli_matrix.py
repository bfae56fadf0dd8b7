"""`swarmspec matrix` installed: `--shard i/n` and `merge DIR...` spelled as infra/run-matrix.sh
spells them, over the same modules (matrix_shards, matrix, matrix_allure, matrix_history).

The fast tests replace each row's run by a fake one that leaves what a run leaves (grades,
run.json, Allure results), so the split, the join, the report and the history are checked
without an ecosystem; the integration test runs two real rows (range-server, reference) on
one feature, as an installed home would, sharded and merged, against the unsharded run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.cli import main
from infra.cli import matrix as cli_matrix
from infra.cli.home import Home, run_dir
from infra.suite import matrix_history
from tests.test_matrix_shards import _grades, _row

ROWS = ["reference", "range-server", "webtorrent"]


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Home:
    """A home as `pip install` makes it (checkout=False; `infra` importable from any directory),
    its cache borrowing this checkout's Allure command line and videos (no npm, no encoding);
    the environment is restored after."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "report").symlink_to(PROJECT_ROOT / "infra" / "report")
    (cache / "videos").symlink_to(PROJECT_ROOT / "videos")
    work = tmp_path / "work"
    work.mkdir()
    saved = dict(os.environ)
    monkeypatch.setenv("SWARMSPEC_CACHE_DIR", str(cache))
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))     # `infra` importable from anywhere, as installed
    monkeypatch.delenv("SWARMSPEC_REPORTS_DIR", raising=False)
    monkeypatch.delenv("SWARMSPEC_MATRIX_TARGETS", raising=False)
    yield Home(False, PROJECT_ROOT, PROJECT_ROOT, cache, work)
    os.environ.clear()
    os.environ.update(saved)                 # run() points os.environ at the home
    shutil.rmtree(run_dir(work), ignore_errors=True)


@pytest.fixture
def fake_rows(monkeypatch) -> list[str]:
    """Each row's `swarmspec run` replaced by the files a run leaves; the targets run, in order."""
    ran: list[str] = []

    def fake_run(home, request):
        row = Path(request.reports)
        _row(row.parent, row.name, _grades(row.name), wall=1.0 + len(ran))
        ran.append(request.target)
        return 0

    monkeypatch.setattr(cli_matrix, "run", fake_run)
    return ran


def _without_walls(out: Path) -> dict:
    data = json.loads((out / "matrix.json").read_text())
    for row in data["targets"]:
        row.pop("wall_seconds")
    return data


def test_installed_shards_merged_equal_the_unsharded_matrix_with_report_and_history(installed, fake_rows):
    targets = ["--targets", " ".join(ROWS)]
    assert cli_matrix.run_matrix(installed, [*targets, "--out", "whole", "--history", "history"]) == 0
    assert fake_rows == ROWS
    fake_rows.clear()
    assert cli_matrix.run_matrix(installed, [*targets, "--shard", "1/2", "--out", "s1"]) == 0
    assert fake_rows == ["reference", "webtorrent"]             # round robin, as run-matrix.sh splits
    assert cli_matrix.run_matrix(installed, [*targets, "--shard", "2/2", "--out", "s2"]) == 0
    assert fake_rows == ["reference", "webtorrent", "range-server"]
    work = installed.work
    assert json.loads((work / "s2" / "shard.json").read_text())["selected"] == ["range-server"]
    assert [r["label"] for r in json.loads((work / "s1" / "matrix.json").read_text())["targets"]] == \
        ["reference", "webtorrent"]                              # a shard's matrix: its own rows
    assert not (work / "s1" / "allure-report").exists() and not (work / "s1" / "history").exists()

    assert cli_matrix.run_matrix(installed, ["merge", "--out", "merged", "--history", "history", "s1", "s2"]) == 0
    assert _without_walls(work / "merged") == _without_walls(work / "whole")
    assert (work / "merged" / "allure-report" / "index.html").is_file()
    records = matrix_history.load(work / "history")
    assert len(records) == 2 and (work / "history" / "index.html").is_file()
    assert {row["version"] for row in records[-1]["targets"]} >= {"webtorrent 3.0.21"}   # the version judged, noted


def test_installed_balance_from_splits_by_the_last_wall_times(installed, fake_rows):
    targets = ["--targets", " ".join(ROWS)]
    assert cli_matrix.run_matrix(installed, [*targets, "--out", "whole"]) == 0     # walls 1, 2, 3 s
    fake_rows.clear()
    history = str(installed.work / "whole" / "history")
    assert cli_matrix.run_matrix(installed, [*targets, "--shard", "1/2", "--balance-from", history, "--out", "s1"]) == 0
    assert fake_rows == ["webtorrent"]                  # the longest row alone; the two shorter ones together
    assert json.loads((installed.work / "s1" / "shard.json").read_text())["weights"] == \
        {"reference": 1.0, "range-server": 2.0, "webtorrent": 3.0}


def test_installed_merge_refuses_a_missing_shard_and_a_wrong_shard(installed, fake_rows, capsys):
    targets = ["--targets", " ".join(ROWS)]
    assert cli_matrix.run_matrix(installed, [*targets, "--shard", "1/2", "--out", "s1"]) == 0
    assert cli_matrix.run_matrix(installed, ["merge", "--out", "merged", "s1"]) == 2
    assert "missing [2]" in capsys.readouterr().err and not (installed.work / "merged" / "matrix.json").exists()
    assert cli_matrix.run_matrix(installed, [*targets, "--shard", "3/2", "--out", "s3"]) == 2
    assert "--shard '3/2'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_matrix.run_matrix(installed, [*targets, "--balance-from", "h", "--out", "x"])   # without --shard


def test_a_checkout_forwards_shard_merge_and_behave_args_to_run_matrix_sh(monkeypatch):
    calls = []
    monkeypatch.setattr("infra.cli._call", lambda home, argv, cwd=None: calls.append(argv) or 0)
    assert main(["matrix", "--shard", "1/2", "--out", "reports/m1", "--", "streaming.feature"]) == 0
    assert main(["matrix", "merge", "--out", "reports/m", "reports/m1", "reports/m2"]) == 0
    script = str(PROJECT_ROOT / "infra" / "run-matrix.sh")
    assert calls == [["bash", script, "--shard", "1/2", "--out", "reports/m1", "--", "streaming.feature"],
                     ["bash", script, "merge", "--out", "reports/m", "reports/m1", "reports/m2"]]


@pytest.mark.integration
def test_installed_matrix_of_two_real_rows_sharded_and_merged_equals_the_unsharded_one(installed):
    """The real thing, small: range-server and reference on one feature, each row its own ecosystem."""
    rows = ["--targets", "range-server reference"]
    feature = ["--", "multiple_ranges.feature"]
    assert cli_matrix.run_matrix(installed, [*rows, "--out", "whole", "--history", "history", *feature]) == 0
    assert cli_matrix.run_matrix(installed, [*rows, "--shard", "1/2", "--out", "s1", *feature]) == 0
    assert cli_matrix.run_matrix(installed, [*rows, "--shard", "2/2", "--out", "s2", *feature]) == 0
    assert cli_matrix.run_matrix(installed, ["merge", "--out", "merged", "--history", "history", "s1", "s2"]) == 0
    work = installed.work
    merged = _without_walls(work / "merged")
    assert merged == _without_walls(work / "whole")
    assert all(row["counts"]["strict"] > 0 for row in merged["targets"]), merged["targets"]
    assert sorted(p.name for p in (work / "merged" / "runs").iterdir()) == ["range-server", "reference"]
    assert len(matrix_history.load(work / "history")) == 2
