"""`swarmspec init` against every bundled backend yields a target that grades like the shipped one.

One ecosystem with the optional services (WebTorrent, peerflix); `init` probes each backend
with the run's credentials and a seeder magnet; then the shipped target and `init`'s are
run on the same features, attached to that ecosystem, and their grades must be equal
scenario by scenario: a range feature, and the multi-file one, which plays the chosen files
through the `file_url` init learnt from what the backend answered. (The README's table is
the same comparison on 11 features.)
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
           "webtorrent2": ("webtorrent2", "control"), "peerflix": ("peerflix", "control"),
           "range-server": ("range_server", "by-name")}
#: strict, non-strict and unimplemented grades among the bundled targets; the files of a pack
#: (its browser scenario left out: the comparison is of file_url, not of Chromium)
FEATURES = ("malformed_ranges.feature", "multi_file_torrents.feature")


@pytest.fixture(scope="module")
def swarm():
    base = Path(tempfile.mkdtemp(prefix="swarmspec-init-"))
    base.chmod(0o755)                    # opentracker runs as nobody and reads its whitelist here
    settings = Settings(run_dir=base / "run", reports_dir=base / "reports", extra_services="webtorrent,webtorrent2,peerflix")
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
                    f"endpoints={endpoints_file}", "--tags", "not @browser",
                    *(str(PROJECT_ROOT / "features" / feature) for feature in FEATURES)],
                   cwd=PROJECT_ROOT, env=env, timeout=600, stdout=subprocess.DEVNULL)
    data = json.loads((out / "grades.json").read_text())
    return {(s["location"], s["scenario"]): s["grade"] for s in data["scenarios"]}


@pytest.mark.parametrize("shipped", list(BUNDLED))
def test_init_of_a_bundled_backend_grades_like_its_shipped_target(swarm, shipped):
    base, endpoints, endpoints_file = swarm
    service, shape = BUNDLED[shipped]
    credentials = json.loads(Path(endpoints.credentials_file).read_text())
    magnets = requests.get(f"{endpoints.seeder}/torrents", timeout=10).json()
    # a pack (several files, in a folder): init sees its files[] named by the control answer
    magnet = next(t["magnetURI"] for t in magnets if t.get("seeded", True) and "/" in t.get("mainFile", "/"))
    user, password = (credentials["email"], credentials["password"]) if shipped == "reference" else (None, None)
    found = Prober(endpoints.services[service]["url"], user, password, None, magnet,
                   tuple(r.name for r in RECIPES), tuple(r.main_file for r in RECIPES)).probe()
    assert (found.shape, found.verified_stream) == (shape, True), found.notes
    mine = base / f"{shipped}-init.toml"
    mine.write_text(render(found, f"{shipped}-init", found.base))
    spec, theirs = declarative.load(mine), declarative.load(SHIPPED[shipped])
    assert set(spec.capabilities) == set(theirs.capabilities), found.notes
    assert spec.stream.file_url == theirs.stream.file_url, found.notes
    theirs = grades(shipped, endpoints_file, base / f"{shipped}-shipped")
    ours = grades(str(mine), endpoints_file, base / f"{shipped}-init")
    assert theirs and ours == theirs
