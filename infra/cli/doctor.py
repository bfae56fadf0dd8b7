"""`swarmspec doctor`: what this machine lacks, and the package that brings each thing.

Every check is a fact read from the machine (a command on PATH, a module importable, a
Docker engine answering, Node new enough), never a guess; the exit status is 1 only when
something the plain local run needs is missing (optional pieces are reported, and which
scenarios or commands go without them).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

from infra.cli.home import NODE_BACKENDS, Home


@dataclass(frozen=True)
class Check:
    what: str
    needed_for: str
    source: str               # the package that brings it: "Debian: x", "PyPI: y", "npm: z"
    required: bool
    probe: Callable[[], str | None]    # None: present; otherwise what is wrong


def command(name: str) -> Callable[[], str | None]:
    return lambda: None if shutil.which(name) else f"`{name}` not on PATH"


def module(name: str) -> Callable[[], str | None]:
    return lambda: None if importlib.util.find_spec(name) else f"Python module `{name}` not importable"


def node_version() -> str | None:
    if not shutil.which("node"):
        return "`node` not on PATH"
    try:
        out = subprocess.run(["node", "-p", "process.versions.node"], capture_output=True, text=True, timeout=10).stdout
        major = int(out.split(".")[0])
    except (subprocess.TimeoutExpired, ValueError, OSError) as exc:
        return f"`node -p process.versions.node` failed: {exc}"
    return None if major >= 18 else f"Node.js {out.strip()} is older than 18"


def docker_engine() -> str | None:
    if module("docker")() is not None:
        return "the docker SDK is missing"
    import docker

    try:
        docker.from_env(timeout=5).ping()
    except Exception as exc:      # noqa: BLE001 - any failure means "no engine answers", said as it is
        return f"no Docker engine answers: {str(exc)[:120]}"
    return None


def python_version() -> str | None:
    return None if sys.version_info >= (3, 11) else f"Python {sys.version.split()[0]} is older than 3.11"


def checks(home: Home) -> list[Check]:
    node_for = "the WebTorrent and peerflix targets, the Allure report"
    return [
        Check("Python 3.11+", "everything", "Debian: python3 (3.11+)", True, python_version),
        Check("opentracker", "the swarm's tracker", "Debian: opentracker", True, command("opentracker")),
        Check("ffmpeg", "generating the test videos", "Debian: ffmpeg", True, command("ffmpeg")),
        Check("ffprobe", "decoders.feature (an independent demuxer)", "Debian: ffmpeg", True, command("ffprobe")),
        Check("node 18+", node_for, "Debian: nodejs", False, node_version),
        Check("npm", node_for + " (installed on first use with npm ci)", "Debian: npm", False, command("npm")),
        Check("java", "the Allure HTML report (allure generate)", "Debian: default-jre-headless", False, command("java")),
        Check("chromium", "@browser scenarios (skipped, graded not run, without it)", "Debian: chromium", False,
              command("chromium")),
        Check("docker engine", "--ecosystem docker", "Debian: docker.io", False, docker_engine),
        Check("tc, ip", "@needs.netem network conditions (as root)", "Debian: iproute2", False, command("tc")),
        Check("iptables", "@needs.netem network conditions (as root)", "Debian: iptables", False, command("iptables")),
        Check("nsenter, unshare", "@needs.netem network conditions (as root)", "Debian: util-linux", False,
              command("nsenter")),
        *[Check(f"python: {mod}", "the suite and its services", f"PyPI: {pkg}", True, module(mod)) for mod, pkg in (
            ("libtorrent", "libtorrent"), ("aiohttp", "aiohttp"), ("behave", "behave"), ("hamcrest", "PyHamcrest"),
            ("allure_behave", "allure-behave"), ("requests", "requests"), ("jwt", "PyJWT"), ("tenacity", "tenacity"),
            ("httplint", "httplint"), ("dotenv", "python-dotenv"), ("playwright", "playwright"),
            ("docker", "docker"), ("imageio_ffmpeg", "imageio-ffmpeg"))],
        Check("python: matplotlib", "the benchmark's chart (swarmspec bench)", "PyPI: matplotlib", False,
              module("matplotlib")),
    ]


def report(home: Home, out=None) -> int:
    """Print one line per check; 1 if a required one fails."""
    out = out or sys.stdout
    failed_required = False
    where = "a checkout" if home.checkout else "an installed package"
    print(f"swarmspec doctor: running from {where} ({home.package_root}); user cache {home.cache}", file=out)
    width = max(len(c.what) for c in checks(home))
    for check in checks(home):
        problem = check.probe()
        if problem is None:
            print(f"  ok       {check.what:<{width}}", file=out)
            continue
        failed_required |= check.required
        label = "MISSING" if check.required else "optional"
        print(f"  {label:<8} {check.what:<{width}}  {problem}; needed for {check.needed_for}; install: {check.source}",
              file=out)
    for name in NODE_BACKENDS:
        installed = (home.backends / name / "node_modules").is_dir()
        print(f"  {'ok' if installed else 'later':<8} {name + ' node_modules':<{width}}  "
              f"{'installed' if installed else 'installed with npm ci on first use'} in {home.backends / name}", file=out)
    if failed_required:
        print("Something the local run needs is missing (MISSING above).", file=out)
    return 1 if failed_required else 0
