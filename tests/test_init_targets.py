"""`swarmspec init` against every bundled backend yields a target that grades like the shipped one.

One ecosystem with the optional services (WebTorrent, peerflix); `init` probes each backend
with the run's credentials and a seeder magnet; then the shipped target and `init`'s are
run on the same feature, attached to that ecosystem, and their grades must be equal
scenario by scenario. (The README's table is the same comparison on 11 features.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from infra import PROJECT_ROOT
from infra.cli.probe import Prober
from infra.cli.scaffold import render
from infra.config import Settings
from infra.ecosystem.local import LocalProvider
from infra.suite.targets import declarative
from infra.suite.targets.registry import SHIPPED
from videos.recipes import RECIPES

pytestmark = pytest.mark.integration

#: bundled target -> the ecosystem service it runs as, and the shape `init` must find
BUNDLED = {"reference": ("backend", "reference"), "webtorrent": ("webtorrent", "control"),
           "peerflix": ("peerflix", "control"), "range-server": ("range_server", "by-name")}
FEATURE = "malformed_ranges.feature"     # strict, non-strict and unimplemented grades among the bundled targets


@pytest.fixture(scope="module")
def swarm():
    base = Path(tempfile.mkdtemp(prefix="swarmspec-init-"))
    base.chmod(0o755)                    # opentracker runs as nobody and reads its whitelist here
    settings = Settings(run_dir=base / "run", reports_dir=base / "reports", extra_services="webtorrent,peerflix")
    provider = LocalProvider(settings, progress=False)
    try:
        endpoints = provider.up()
        path = base / "endpoints.json"
        endpoints.write(path)
        yield base, endpoints, path
    finally:
        provider.down()
        shutil.rmtree(base, ignore_errors=True)


def grades(target: str, endpoints_file: Path, out: Path) -> dict[tuple[str, str], str]:
    env = {**os.environ, "SWARMSPEC_REPORTS_DIR": str(out), "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run([sys.executable, "-m", "behave", "-f", "null", "-D", f"target={target}", "-D",
                    f"endpoints={endpoints_file}", str(PROJECT_ROOT / "features" / FEATURE)],
                   cwd=PROJECT_ROOT, env=env, timeout=600, stdout=subprocess.DEVNULL)
    data = json.loads((out / "grades.json").read_text())
    return {(s["location"], s["scenario"]): s["grade"] for s in data["scenarios"]}


@pytest.mark.parametrize("shipped", list(BUNDLED))
def test_init_of_a_bundled_backend_grades_like_its_shipped_target(swarm, shipped):
    base, endpoints, endpoints_file = swarm
    service, shape = BUNDLED[shipped]
    credentials = json.loads(Path(endpoints.credentials_file).read_text())
    magnets = requests.get(f"{endpoints.seeder}/torrents", timeout=10).json()
    magnet = next(t["magnetURI"] for t in magnets if t.get("seeded", True))
    user, password = (credentials["email"], credentials["password"]) if shipped == "reference" else (None, None)
    found = Prober(endpoints.services[service]["url"], user, password, None, magnet,
                   tuple(r.name for r in RECIPES)).probe()
    assert (found.shape, found.verified_stream) == (shape, True), found.notes
    mine = base / f"{shipped}-init.toml"
    mine.write_text(render(found, f"{shipped}-init", found.base))
    assert set(declarative.load(mine).capabilities) == set(declarative.load(SHIPPED[shipped]).capabilities)
    theirs = grades(shipped, endpoints_file, base / f"{shipped}-shipped")
    ours = grades(str(mine), endpoints_file, base / f"{shipped}-init")
    assert theirs and ours == theirs
