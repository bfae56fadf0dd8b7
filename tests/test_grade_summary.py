"""The grade summary reaches the console: printed by the run script from grades.json after
behave exits (behave captures what after_all prints), in GradeBook.summary's words, with a
line per failed and non-strict scenario."""

from __future__ import annotations

import subprocess
import sys

from infra import PROJECT_ROOT
from infra.suite import grade_summary
from infra.suite.grading import Contract, Grade, GradeBook, ScenarioGrade


def _book() -> GradeBook:
    book = GradeBook("webtorrent2", Contract.RFC9110, "local")
    for i, grade in enumerate([Grade.STRICT, Grade.NON_STRICT, Grade.FAILED, Grade.STRICT, Grade.UNIMPLEMENTED]):
        book.add(ScenarioGrade("Seeking", f"scenario {i}", grade, (), "why" if grade is Grade.FAILED else "",
                               f"features/seeking.feature:{10 + i}"))
    return book


def test_the_summary_is_the_grade_books_and_names_what_to_look_at(tmp_path):
    book = _book()
    book.write(tmp_path / "grades.json")
    done = subprocess.run([sys.executable, "-m", "infra.suite.grade_summary", str(tmp_path / "grades.json")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    out = done.stdout.splitlines()
    assert done.returncode == 0 and out[0] == book.summary()
    assert out[1].split() == ["FAILED", "features/seeking.feature:12", "scenario", "2"]
    assert out[2].split() == ["NON-STRICT", "features/seeking.feature:11", "scenario", "1"]
    assert len(out) == 3


def test_a_run_that_did_not_get_to_grading_says_so(tmp_path, capsys):
    assert grade_summary.main([str(tmp_path / "grades.json")]) == 0
    assert "did not get to grading" in capsys.readouterr().out


def test_the_run_script_prints_it_after_behave():
    script = (PROJECT_ROOT / "infra" / "behave-run.sh").read_text()
    assert script.index("-m infra.suite.grade_summary") > script.index("-m behave")
