"""Rows of the conformance matrix for backends the project does not bundle (Miauflix):
started through infra/backends/<target>/matrix-args.sh, or skipped with its reason; and,
with a checkout configured, the suite's judgement of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.suite import matrix

HOOK = PROJECT_ROOT / "infra" / "backends" / "miauflix" / "matrix-args.sh"
CHECKOUT = os.environ.get("SWARMSPEC_MIAUFLIX_CHECKOUT", "")


def hook(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SWARMSPEC_MIAUFLIX")}
    return subprocess.run(["bash", str(HOOK), *args], env={**base, **env}, capture_output=True, text=True, timeout=30)


def test_without_a_checkout_the_row_is_skipped_with_the_reason():
    done = hook({})
    assert done.returncode == 3 and "no Miauflix checkout configured" in done.stdout


def test_a_checkout_that_is_not_built_is_skipped_with_the_reason(tmp_path):
    done = hook({"SWARMSPEC_MIAUFLIX_CHECKOUT": str(tmp_path)})
    assert done.returncode == 3 and "is not built (no dist/backend/app.js)" in done.stdout


def test_a_built_checkout_gives_the_options_that_start_it(tmp_path):
    app = tmp_path / "dist" / "backend" / "app.js"
    app.parent.mkdir(parents=True)
    app.write_text("")
    (app.parent / "node_modules").mkdir()
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho 22\n")
    node.chmod(0o755)
    done = hook({"SWARMSPEC_MIAUFLIX_CHECKOUT": str(tmp_path), "SWARMSPEC_MIAUFLIX_NODE": str(node)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["-D", f"backend_command={node} {app}", "-D",
                                        f"backend_env={HOOK.parent / 'miauflix.env'}", "-D", "backend_health=/api/health"]


def test_under_docker_it_needs_an_image():
    assert "SWARMSPEC_MIAUFLIX_IMAGE" in hook({}, "docker").stdout
    done = hook({"SWARMSPEC_MIAUFLIX_IMAGE": "miauflix:local"}, "docker")
    assert done.returncode == 0 and "backend_image=miauflix:local" in done.stdout


def test_a_skipped_row_is_in_the_matrix_with_its_reason_and_no_scenarios(tmp_path):
    runs = tmp_path / "runs"
    (runs / "miauflix").mkdir(parents=True)
    (runs / "miauflix" / "run.json").write_text(json.dumps({"target": "miauflix", "skipped": "no checkout"}))
    loaded = matrix.load_runs(runs)
    assert [(r.label, r.skipped) for r in loaded] == [("miauflix", "no checkout")]
    summary = matrix.to_markdown(loaded, detail_rows=False).splitlines()
    assert summary[2].startswith("| miauflix | – | – | skipped: no checkout |")
    assert summary[2].count("|") == summary[0].count("|")
    assert matrix.to_json(loaded)["targets"][0]["skipped"] == "no checkout"
    assert "skipped: no checkout" in matrix.to_html(loaded)
    assert matrix.violations(loaded, {"miauflix"}) == []


@pytest.mark.skipif(not CHECKOUT, reason="no Miauflix checkout configured (SWARMSPEC_MIAUFLIX_CHECKOUT)")
def test_miauflix_as_it_is_its_stream_hang_is_failed_in_time_with_its_own_log(tmp_path):
    """Its stream route never answers (upstream): graded failed within the suite's read
    deadline, not a stuck run, and the failure carries Miauflix's log, not ours."""
    options = hook({"SWARMSPEC_MIAUFLIX_CHECKOUT": CHECKOUT})
    if options.returncode == 3:
        pytest.skip(options.stdout.strip())
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "behave", "-f", "allure_behave.formatter:AllureFormatter",
                           "-o", str(reports / "allure-results"), "-f", "null", "-D", "target=miauflix",
                           *options.stdout.splitlines(), "features/streaming.feature:20"],
                          cwd=PROJECT_ROOT, env={**os.environ, "SWARMSPEC_REPORTS_DIR": str(reports)},
                          capture_output=True, text=True, timeout=400)
    assert (reports / "grades.json").exists(), f"no grades (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    graded = json.loads((reports / "grades.json").read_text())
    [scenario] = graded["scenarios"]
    assert scenario["grade"] == "failed", scenario
    assert "Read timed out" in scenario["detail"]
    assert proc.returncode != 0
    assert (reports / "logs" / "miauflix.log").read_text().count("Server is listening") == 1
    attached = [p.read_text(errors="replace") for p in (reports / "allure-results").glob("*attachment*")]
    assert any("Server is listening" in text for text in attached), "Miauflix's log tail is attached"
