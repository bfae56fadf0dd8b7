"""What was judged and by what: the version of a matrix row's target and of swarmspec
itself, recorded beside each row's grades so the history can say which release of a
backend got which grades (a grade change is read against a version change).

python -m infra.suite.versions TARGET      # prints the target's version ("unknown" if none can be told)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from infra import PROJECT_ROOT

BACKENDS = PROJECT_ROOT / "infra" / "backends"
OWN = ("reference", "range-server")        # our own servers: their version is swarmspec's
GIT_TIMEOUT = 10


def _git(cwd: Path, *args: str) -> str:
    """One git answer, or "" where there is no git, no checkout, or it does not answer in time."""
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def swarmspec() -> dict[str, str]:
    """swarmspec's version (the installed distribution's, else "unreleased") and commit."""
    try:
        version = metadata.version("swarmspec")
    except metadata.PackageNotFoundError:
        version = "unreleased"
    commit = _git(PROJECT_ROOT, "rev-parse", "--short=12", "HEAD")
    if commit and _git(PROJECT_ROOT, "status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    return {"version": version, "commit": commit or "unknown"}


def node_backend(directory: Path) -> str:
    """"webtorrent 3.0.21": the pinned packages of a bundled Node backend (not its stubs), as
    installed in its node_modules; the one named like the directory when there is one."""
    manifest = directory / "package.json"
    if not manifest.exists():
        return ""
    dependencies = json.loads(manifest.read_text()).get("dependencies", {})
    pinned = [name for name, spec in dependencies.items() if not str(spec).startswith("file:")]
    main = [name for name in pinned if directory.name.startswith(name)]
    found = []
    for name in main or pinned:
        installed = directory / "node_modules" / name / "package.json"
        version = json.loads(installed.read_text())["version"] if installed.exists() else f"{dependencies[name]} (not installed)"
        found.append(f"{name} {version}")
    return ", ".join(found)


def target(name: str, environ: dict[str, str] | None = None) -> str:
    """The version of the backend a target judges, as far as this machine can tell."""
    environ = dict(os.environ if environ is None else environ)
    if name in OWN:
        own = swarmspec()
        return f"swarmspec {own['version']} ({own['commit']})"
    if name == "miauflix":
        checkout = environ.get("SWARMSPEC_MIAUFLIX_CHECKOUT", "")
        described = _git(Path(checkout), "describe", "--always", "--dirty", "--tags") if checkout else ""
        return f"miauflix {described}" if described else "unknown"
    # an installed swarmspec keeps the Node backends' node_modules in its cache (infra/cli/home.py)
    directory = Path(environ.get("SWARMSPEC_BACKENDS_DIR") or BACKENDS) / name
    if "/" not in name and directory.is_dir():
        return node_backend(directory) or "unknown"
    return "unknown"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    print(target(sys.argv[1]))
