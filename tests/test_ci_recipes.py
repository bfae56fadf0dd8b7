"""The CI recipes in infra/ci-recipes/ run as written, so they cannot rot.

The package is built from this tree into a wheel; a team's repository is made in a
temporary folder (the recipe's example target file and environment mapping, and a copy
of the bundled WebTorrent wrapper as "the backend this repository builds"); then each
recipe's process job runs its shell steps in order, the way its CI would (GitHub: each
`run:` in `bash -eo pipefail`, `$GITHUB_PATH` carried between steps, `if: always()`
honoured; GitLab: `script` in one shell, `after_script` in another), with only the
variables the recipe declares for that purpose pointed here: SWARMSPEC_PACKAGE at the
wheel, BACKEND_BUILD at the wrapper's `npm ci`, SWARMSPEC_ARGS at one feature. What the
recipe uploads must exist afterwards, and its matrix must carry the backend's grades.
Every `swarmspec` command line of every job (the image jobs included) must parse.

Cost: 436 s measured at load average 13 on the shared 2-core machine (two fresh venvs with
all dependencies, two runs of one feature); `-m "not recipes"` leaves it out.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra import PROJECT_ROOT
from infra.cli import _parser
from infra.cli.home import run_dir

pytestmark = [pytest.mark.integration, pytest.mark.recipes]

RECIPES = PROJECT_ROOT / "infra" / "ci-recipes"
WRAPPER = PROJECT_ROOT / "infra" / "backends" / "webtorrent"
STEP_TIMEOUT = 900
SKIP_IN_COPY = shutil.ignore_patterns(".venv", "node_modules", "reports", ".run", "media", "torrents", "manifest.json",
                                      "__pycache__", "build", "dist", "*.egg-info", ".git", ".pytest_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package built from this tree (a copy: building writes build/ and egg-info beside the sources)."""
    source = tmp_path_factory.mktemp("source") / "swarmspec"
    shutil.copytree(PROJECT_ROOT, source, ignore=SKIP_IN_COPY)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)], check=True,
                   timeout=300)
    return next(out.glob("swarmspec-*.whl"))


@pytest.fixture
def repo(tmp_path) -> Path:
    """A team's repository; the run state `swarmspec` keeps for it is removed afterwards."""
    made = team_repository(tmp_path)
    yield made
    shutil.rmtree(run_dir(made), ignore_errors=True)
    for big in ("runner", "venv", "cache", "repo/node_modules"):    # ~700 MB a test: not left for pytest's rotation
        shutil.rmtree(tmp_path / big, ignore_errors=True)


def team_repository(root: Path) -> Path:
    """A repository with a Node backend to build, a target file and an environment mapping."""
    repo = root / "repo"
    shutil.copytree(WRAPPER, repo, ignore=shutil.ignore_patterns("node_modules", "target.toml", "install.sh",
                                                                 "README.md"))
    for name in ("swarmspec-target.toml", "swarmspec.env"):
        shutil.copy(RECIPES / "example" / name, repo / name)
    # the wrapper's engine imports the shared control API from ../node_control, where the checkout
    # and the installed cache keep it beside the backend: the team's copy gets it there too
    shutil.copytree(WRAPPER.parent / "node_control", root / "node_control")
    return repo


def shim_sudo(root: Path) -> str:
    """As root without sudo (this machine), `sudo VAR=x cmd` is `env VAR=x cmd`; else the real one."""
    if shutil.which("sudo") or os.geteuid() != 0:
        return ""
    folder = root / "shims"
    folder.mkdir()
    (folder / "sudo").write_text('#!/bin/sh\nexec env "$@"\n')
    (folder / "sudo").chmod(0o755)
    return str(folder)


def overrides(wheel: Path, root: Path) -> dict[str, str]:
    return {
        "SWARMSPEC_PACKAGE": str(wheel),
        "BACKEND_BUILD": "npm ci --ignore-scripts --engine-strict=false --no-audit --no-fund --loglevel=error",
        "SWARMSPEC_ARGS": "-- streaming.feature",
        # the machine's own caches, so the test does not encode videos or fetch Allure again
        "SWARMSPEC_VIDEOS_DIR": str(PROJECT_ROOT / "videos"),
        "SWARMSPEC_CACHE_DIR": str(root / "cache"),
        "CI": "true",
    }


def shell(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT)


def check_matrix(repo: Path, row: str) -> None:
    matrix = json.loads((repo / "reports" / "matrix" / "matrix.json").read_text())
    text = json.dumps(matrix)
    assert row in text, f"the matrix has no row {row}: {text[:500]}"
    grades = json.loads((repo / "reports" / "matrix" / "runs" / row / "grades.json").read_text())
    assert grades["counts"]["strict"] > 0, f"{row} was not judged: {grades['counts']}"
    assert glob.glob(str(repo / "reports" / "matrix" / "runs" / row / "junit" / "*.xml")), "no JUnit XML"
    assert (repo / "reports" / "matrix" / "runs" / row / "allure-report" / "index.html").is_file(), "no Allure report"


def test_github_actions_process_job_runs_as_written(wheel, repo, tmp_path):
    recipe = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    job = recipe["jobs"]["process"]
    github_path = tmp_path / "github_path"
    github_path.write_text("")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    env = {**os.environ, **recipe.get("env", {}), **job.get("env", {}), **overrides(wheel, tmp_path),
           "RUNNER_TEMP": str(runner_temp), "GITHUB_PATH": str(github_path), "GITHUB_WORKSPACE": str(repo)}
    env["PATH"] = os.pathsep.join(filter(None, (shim_sudo(tmp_path), env["PATH"])))
    failed, uploads, transcript = None, [], []
    for step in job["steps"]:
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                uploads += step["with"]["path"].split()
            continue
        if failed and step.get("if") != "always()":
            continue
        added = [line for line in github_path.read_text().splitlines() if line]
        step_env = {**env, "PATH": os.pathsep.join([*reversed(added), env["PATH"]])}
        done = shell(step["run"], step_env, repo)
        transcript.append(f"--- {step.get('name')}: exit {done.returncode}\n{done.stdout[-3000:]}")
        if done.returncode != 0 and failed is None:
            failed = step.get("name")
    assert failed is None, f"step {failed!r} failed:\n" + "\n".join(transcript)
    for path in uploads:
        assert (repo / path).exists(), f"the recipe uploads {path}, which the run did not make"
    check_matrix(repo, recipe["env"]["BACKEND_NAME"])


def test_gitlab_ci_process_job_runs_as_written(wheel, repo, tmp_path):
    recipe = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    job = recipe["swarmspec-process"]
    env = {**os.environ, **recipe["variables"], **job.get("variables", {}), **overrides(wheel, tmp_path),
           "SWARMSPEC_VENV": str(tmp_path / "venv")}
    done = shell("\n".join(job["script"]), env, repo)
    after = shell("\n".join(job.get("after_script", [])), env, repo)
    assert done.returncode == 0, f"script failed (exit {done.returncode}):\n{done.stdout[-4000:]}"
    assert after.returncode == 0, f"after_script failed:\n{after.stdout[-2000:]}"
    for path in job["artifacts"]["paths"]:
        assert (repo / path).exists(), f"the job keeps {path}, which the run did not make"
    assert glob.glob(str(repo / job["artifacts"]["reports"]["junit"])), "the JUnit report glob matches nothing"
    check_matrix(repo, recipe["variables"]["BACKEND_NAME"])


def swarmspec_lines() -> list[tuple[str, str]]:
    """(recipe, command line) for every `swarmspec ...` invocation in every job."""
    lines = []
    for recipe in ("github-actions.yml", "gitlab-ci.yml"):
        text = (RECIPES / recipe).read_text().replace("\\\n", " ")
        for match in re.finditer(r"""(?:^|[\s"'/])swarmspec(?:"|') ((?:run|matrix|doctor|init|check-target)\b[^\n']*)"""
                                 r"""|(?:^|\s|- )swarmspec ((?:run|matrix|doctor|init|check-target)\b[^\n']*)""",
                                 text, re.M):
            lines.append((recipe, match.group(1) or match.group(2)))
    return lines


@pytest.mark.parametrize("recipe,line", swarmspec_lines(), ids=lambda v: v[:60] if isinstance(v, str) else v)
def test_every_swarmspec_line_of_the_recipes_parses(recipe, line):
    argv = shlex.split(line.replace("$SWARMSPEC_ARGS", ""))
    args, rest = _parser().parse_known_args(argv)
    assert args.command, f"{recipe}: {line}"
    if args.command == "run":
        assert all(not a.startswith("--") for a in rest), f"{recipe}: unknown options in {line}: {rest}"


def test_the_recipes_use_every_job_of_the_brief():
    github = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    gitlab = yaml.safe_load((RECIPES / "gitlab-ci.yml").read_text())
    assert {"process", "image"} <= github["jobs"].keys()
    assert {"swarmspec-process", "swarmspec-image"} <= gitlab.keys()
    assert len(swarmspec_lines()) >= 8


def test_the_wheel_ships_the_suite_and_nothing_generated(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    features = {n for n in names if n.startswith("swarmspec_suite/features/") and n.endswith(".feature")}
    assert len(features) == len(list((PROJECT_ROOT / "features").glob("*.feature")))
    for needed in ("swarmspec_suite/environment.py", "swarmspec_suite/requirements.txt", "infra/cli/__init__.py",
                   "infra/backends/webtorrent/package-lock.json", "infra/backends/webtorrent/server.js",
                   "infra/report/package-lock.json", "infra/backends/reference/target.toml",
                   "infra/ecosystem/docker/Dockerfile.runtime", "infra/suite/browser/page/index.html",
                   "videos/recipes.py"):
        assert needed in names, f"{needed} is not in {wheel.name}"
    generated = [n for n in names if "node_modules" in n or "/media/" in n or n.endswith(("manifest.json", ".mp4"))]
    assert not generated, generated[:5]
    assert len({n for n in names if n.startswith("swarmspec_suite/steps/")}) == len(list((PROJECT_ROOT / "steps").glob("*.py")))


def test_the_wheel_ships_every_tracked_file_the_suite_runs_from(wheel):
    """A backend's new kind of file (control.cjs, engine.mjs) must not be left out by the
    package-data globs: everything git tracks under infra/, videos/ and the behave tree is in
    the wheel, under the name `infra.cli.home` reads it by."""
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "infra", "videos", "features", "steps", "environment.py",
                              "requirements.txt"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, check=True,
                             timeout=30).stdout.split()
    assert len(tracked) > 200, f"git ls-files found only {len(tracked)} files: is {PROJECT_ROOT} a checkout?"
    in_wheel = {path: path if path.startswith(("infra/", "videos/")) else f"swarmspec_suite/{path}" for path in tracked}
    missing = sorted(path for path, name in in_wheel.items() if name not in names)
    assert not missing, f"{len(missing)} tracked files are not in {wheel.name} (pyproject's package-data): {missing}"
