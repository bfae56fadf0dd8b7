"""`swarmspec run`: the suite against one target, its reports under the current directory.

What `infra/behave-run.sh` does for the checkout (behave with the Allure and JUnit
formatters, the figures summary, the Allure HTML report even when scenarios failed),
for a home that may be an installed package: behave is pointed at the shipped
features by absolute path and runs in the caller's directory, so a relative target
file or `-D backend_env=FILE` means what the user typed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infra.ecosystem import clock
from infra.cli.home import Home, HomeError
from infra.suite.targets import declarative
from infra.suite.targets.registry import SHIPPED

#: Seconds `allure generate` may take (as in behave-run.sh).
ALLURE_TIMEOUT = 300


@dataclass
class RunRequest:
    target: str | None = None                 # name, FILE.toml or module:Class; None: the cwd's one, else reference
    backend_command: str | None = None
    backend_image: str | None = None
    backend_env: str | None = None
    backend_url: str | None = None
    ecosystem: str | None = None
    contract: str | None = None
    endpoints: str | None = None
    reports: str | None = None                # default ./reports (or SWARMSPEC_REPORTS_DIR)
    tags: list[str] = field(default_factory=list)
    behave_args: list[str] = field(default_factory=list)


def default_target(work: Path) -> str:
    """The target a bare `swarmspec run` judges: the one target file in the directory, else reference."""
    candidates = [p for p in sorted(work.glob("*.toml")) if p.name != "pyproject.toml"]
    if len(candidates) == 1:
        return str(candidates[0])
    if len(candidates) > 1:
        raise HomeError(f"{len(candidates)} target files here ({', '.join(p.name for p in candidates)}): "
                        "choose one with --target FILE")
    return "reference"


def resolve_target(target: str | None, work: Path) -> str:
    target = target or default_target(work)
    if target.endswith(".toml"):
        path = (work / target).resolve()
        if not path.is_file():
            raise HomeError(f"target file {target} not found (from {work})")
        return str(path)
    return target


def target_service(target: str) -> str | None:
    """The ecosystem service a target file names (to install a bundled Node backend first)."""
    path = SHIPPED.get(target) or (Path(target) if target.endswith(".toml") else None)
    return declarative.load(path).service if path else None


def behave_argv(home: Home, request: RunRequest, target: str, results: Path, junit: Path, fmt: str) -> list[str]:
    options = {"target": target, "ecosystem": request.ecosystem, "contract": request.contract,
               "endpoints": _absolute(request.endpoints, home.work), "backend_url": request.backend_url,
               "backend_command": in_directory(request.backend_command, home.work) if request.backend_command
               and not request.backend_image else request.backend_command, "backend_image": request.backend_image,
               "backend_env": _absolute(request.backend_env, home.work)}
    argv = [sys.executable, "-m", "behave", "-f", "allure_behave.formatter:AllureFormatter", "-o", str(results),
            "-f", fmt, "--junit", "--junit-directory", str(junit)]
    for name, value in options.items():
        if value:
            argv += ["-D", f"{name}={value}"]
    for expression in request.tags:
        argv += ["--tags", expression]
    argv += [shipped_feature(home, arg) for arg in request.behave_args]
    if not any(_is_feature_path(arg) for arg in request.behave_args):
        argv.append(str(home.features))
    return argv


def run(home: Home, request: RunRequest) -> int:
    """Run behave, then the figures summary and the Allure report; behave's exit status
    (3 when the report cannot be generated, as behave-run.sh)."""
    target = resolve_target(request.target, home.work)
    if request.reports:
        os.environ["SWARMSPEC_REPORTS_DIR"] = str((home.work / request.reports).resolve())
    os.environ.update(home.environ())
    service = target_service(target)
    if service:
        home.ensure_node_backend(service)
    home.ensure_allure()
    reports = home.reports
    results, junit = reports / "allure-results", reports / "junit"
    shutil.rmtree(results, ignore_errors=True)
    shutil.rmtree(junit, ignore_errors=True)
    (reports / "figures.json").unlink(missing_ok=True)
    results.mkdir(parents=True)
    junit.mkdir(parents=True)
    history = reports / "allure-report" / "history"
    if history.is_dir():                           # Allure's trend charts carry over
        shutil.copytree(history, results / "history")
    shutil.rmtree(reports / "allure-report", ignore_errors=True)
    fmt = "progress" if os.environ.get("CI") or not sys.stdout.isatty() else "pretty"
    argv = behave_argv(home, request, target, results, junit, fmt)
    print(f"[swarmspec] judging {target} (reports: {reports})", flush=True)
    started = clock.monotonic()
    status = subprocess.run(argv, cwd=home.work).returncode
    wall = clock.monotonic() - started
    print(f"[swarmspec] behave finished with status {status} in {wall:.0f}s", flush=True)
    # what infra/run-matrix.sh writes beside a row: any run directory can be a matrix row
    (reports / "run.json").write_text(json.dumps({"wall_seconds": round(wall, 3), "exit_status": status}) + "\n")
    subprocess.run([sys.executable, "-m", "infra.suite.figures", str(reports / "figures.json")], cwd=home.work)
    return _allure_report(home, results, reports / "allure-report") or status


def _allure_report(home: Home, results: Path, out: Path) -> int:
    if allure_generate(home, results, out):
        return 3
    print(f"[swarmspec] Allure report: {out}/index.html (open it with: {home.allure} open {out})")
    print(f"[swarmspec] JUnit XML: {results.parent / 'junit'}; grades: {results.parent / 'grades.json'}")
    return 0


def allure_generate(home: Home, results: Path, out: Path) -> int:
    """`allure generate` with a deadline: 0, or 3 with the reason printed (as behave-run.sh)."""
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "1"}
    try:
        done = subprocess.run([str(home.allure), "generate", str(results), "-o", str(out), "--clean"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=ALLURE_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"[swarmspec] ERROR: allure generate took over {ALLURE_TIMEOUT} s", file=sys.stderr)
        return 3
    if done.returncode != 0:
        print(f"[swarmspec] ERROR: allure generate failed (it needs java: Debian's default-jre-headless):\n"
              f"{done.stderr[-2000:]}", file=sys.stderr)
        return 3
    return 0


def in_directory(command: str, work: Path) -> str:
    """The command started in the caller's directory (`node server.js` means ./server.js), where
    behave's -D backend_command starts in SWARMSPEC_DATA_DIR; exec keeps it the process the ecosystem stops."""
    return shlex.join(["sh", "-c", 'cd "$0" && exec "$@"', str(work), *shlex.split(command)])


def _absolute(value: str | None, work: Path) -> str | None:
    """A file option made absolute against the caller's directory (an inline value is kept)."""
    if not value:
        return value
    path = work / value
    return str(path.resolve()) if path.exists() else value


def shipped_feature(home: Home, arg: str) -> str:
    """`streaming.feature` or `features/streaming.feature[:12]` not found here: the shipped one."""
    path, _, line = arg.partition(":")
    if _is_feature_path(arg) and not (home.work / path).exists():
        for candidate in (home.suite_root / path, home.features / Path(path).name):
            if candidate.exists():
                return str(candidate) + (f":{line}" if line else "")
    return arg


def _is_feature_path(arg: str) -> bool:
    return not arg.startswith("-") and (arg.endswith(".feature") or Path(arg).is_dir() or ".feature:" in arg)
