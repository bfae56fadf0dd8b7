"""Where the `swarmspec` command finds what it ships and puts what it makes.

Two homes, one interface: a *checkout* (the repository, where `infra/setup.sh` keeps the
Node modules beside their lockfiles and the videos under `videos/`) and an *installed*
package (site-packages is read-only in spirit: the behave tree comes from the data package
`swarmspec_suite` through importlib.resources, while videos, the Node backends' node_modules
and the Allure command line go to a user cache, installed there with `npm ci` on first use).
Reports always go under the current directory, wherever the command is run from.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

from infra import PROJECT_ROOT

#: The bundled Node backends (an `install.sh` beside their lockfile) the ecosystem runs as services.
NODE_BACKENDS = ("webtorrent", "webtorrent2", "peerflix")
#: Folders a Node backend reads beside its own: the shared control API and installer, and
#: WebTorrent's engine, which WebTorrent 2.8 shares with 3.0.
NODE_SHARED = {"webtorrent": ("node_control",), "webtorrent2": ("node_control", "webtorrent"), "peerflix": ("node_control",)}
#: Seconds `npm ci` may take (the registry, a cold cache).
NPM_TIMEOUT = float(os.environ.get("SWARMSPEC_NPM_TIMEOUT", "600"))


class HomeError(RuntimeError):
    """Something the command needs cannot be had; the message names the package that brings it."""


def is_checkout(root: Path = PROJECT_ROOT) -> bool:
    """True when `infra` is imported from a repository (features/ and requirements.txt beside it)."""
    return (root / "features").is_dir() and (root / "requirements.txt").is_file()


def cache_dir() -> Path:
    """The user cache: SWARMSPEC_CACHE_DIR, else $XDG_CACHE_HOME/swarmspec, else ~/.cache/swarmspec."""
    explicit = os.environ.get("SWARMSPEC_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "swarmspec"


@dataclass(frozen=True)
class Home:
    checkout: bool
    suite_root: Path          # holds features/, steps/, environment.py
    package_root: Path        # holds infra/ (the checkout, or site-packages)
    cache: Path               # the user cache (installed) or the checkout (where setup.sh installs)
    work: Path                # the current directory: reports/ and, installed, .run/

    @classmethod
    def find(cls, work: Path | None = None) -> "Home":
        work = (work or Path.cwd()).resolve()
        if is_checkout():
            return cls(True, PROJECT_ROOT, PROJECT_ROOT, PROJECT_ROOT, work)
        # a namespace package (no __init__.py: its directory is the checkout's top level at build
        # time), so files() is a MultiplexedPath; a file inside it is a plain Path
        suite = Path(resources.files("swarmspec_suite").joinpath("environment.py")).parent
        return cls(False, suite, PROJECT_ROOT, cache_dir(), work)

    @property
    def features(self) -> Path:
        return self.suite_root / "features"

    @property
    def reports(self) -> Path:
        return Path(os.environ.get("SWARMSPEC_REPORTS_DIR") or self.work / "reports").resolve()

    @property
    def backends(self) -> Path:
        """Where the Node backends run from, with their node_modules."""
        return self.package_root / "infra" / "backends" if self.checkout else self.cache / "backends"

    @property
    def report_tool(self) -> Path:
        """The folder of the Allure command line's package.json and node_modules."""
        return self.package_root / "infra" / "report" if self.checkout else self.cache / "report"

    @property
    def allure(self) -> Path:
        return self.report_tool / "node_modules" / ".bin" / "allure"

    def environ(self) -> dict[str, str]:
        """The variables a run's processes need to find this home (added to os.environ)."""
        env = {"SWARMSPEC_REPORTS_DIR": str(self.reports)}
        if not self.checkout:
            env["SWARMSPEC_RUN_DIR"] = os.environ.get("SWARMSPEC_RUN_DIR") or str(run_dir(self.work))
            env["SWARMSPEC_VIDEOS_DIR"] = os.environ.get("SWARMSPEC_VIDEOS_DIR") or str(self.cache / "videos")
            env["SWARMSPEC_BACKENDS_DIR"] = str(self.backends)
            env["SWARMSPEC_REQUIREMENTS"] = str(self.suite_root / "requirements.txt")   # build-images.sh's pins
        return env

    def ensure_node_backend(self, name: str) -> None:
        """The backend's node_modules, installed by its own install.sh (npm ci from its
        lockfile; a stamp makes a warm call instant). Installed: a copy of its files in the cache."""
        if name not in NODE_BACKENDS:
            return
        with self._locked():
            if not self.checkout:
                for folder in (*NODE_SHARED[name], name):
                    _copy_tree(self.package_root / "infra" / "backends" / folder, self.backends / folder)
            _run(["bash", str(self.backends / name / "install.sh")], f"installing {name} (npm ci)")

    def ensure_allure(self) -> None:
        """The Allure command line from its lockfile (npm ci), as infra/setup.sh installs it."""
        with self._locked():
            folder = self.report_tool
            if not self.checkout:
                _copy_tree(self.package_root / "infra" / "report", folder)
            lock = folder / "package-lock.json"
            want = hashlib.sha256(lock.read_bytes()).hexdigest()
            stamp = folder / "node_modules" / ".package-lock.sha256"
            if self.allure.exists() and stamp.is_file() and stamp.read_text().strip() == want:
                return
            require("npm", "npm", "the Allure report and the Node backends")
            print("[swarmspec] installing the Allure command line (npm ci)", file=sys.stderr, flush=True)
            _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], "npm ci of the Allure command line", cwd=folder)
            stamp.write_text(want + "\n")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One installer at a time per cache (two runs starting together share it)."""
        lock = cache_dir() / ".install.lock"           # the user cache, even for a checkout's installs
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def run_dir(work: Path) -> Path:
    """`.run/` in the current directory, unless root runs in a folder others cannot traverse
    (/root, pytest's tmp): opentracker, started as `nobody`, must read its whitelist there, so
    the state goes to a folder of /tmp named after the directory (the same one for up and down)."""
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (work, *work.parents)):
        return work / ".run"
    folder = Path(tempfile.gettempdir()) / f"swarmspec-run-{hashlib.sha1(str(work).encode()).hexdigest()[:12]}"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o755)
    return folder


def require(command: str, package: str, why: str) -> str:
    """The path of `command`, or a HomeError naming the Debian package that brings it."""
    found = shutil.which(command)
    if not found:
        raise HomeError(f"{command} is missing ({why}); install the Debian package: sudo apt-get install {package}"
                        "  (`swarmspec doctor` lists everything)")
    return found


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy a shipped folder's files (not its node_modules, not Python caches) over `dest`."""
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if path.is_dir() or "node_modules" in rel.parts or "__pycache__" in rel.parts:
            continue
        target = dest / rel
        if target.is_file() and target.read_bytes() == path.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    """Run an installer with a deadline; its output is shown when it said something or failed."""
    try:
        done = subprocess.run(argv, cwd=cwd, timeout=NPM_TIMEOUT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    except subprocess.TimeoutExpired:
        raise HomeError(f"{what}: no end after {NPM_TIMEOUT:.0f} s (SWARMSPEC_NPM_TIMEOUT); it needs the npm registry") from None
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-20:])
        raise HomeError(f"{what} failed (exit {done.returncode}):\n{tail}")
    if done.stdout.strip():
        print(done.stdout.rstrip(), file=sys.stderr, flush=True)
