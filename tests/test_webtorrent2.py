"""WebTorrent 2.8 beside WebTorrent 3: the same engine wrapper and control API over its own
pinned node_modules, an optional service of its own (local and docker), its own image,
and one control wrapper and installer shared by every bundled Node backend."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import requests

from infra import PROJECT_ROOT
from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.ecosystem.docker import images, layout
from infra.suite.targets.registry import optional_services

BACKENDS = PROJECT_ROOT / "infra" / "backends"


def test_it_is_a_shipped_target_with_a_service_of_its_own():
    assert optional_services("webtorrent2") == ("webtorrent2",)
    spec = ecosystem.spec("webtorrent2")
    assert spec.optional and spec.stream_ports == "fixed" and spec.image == "webtorrent2"


def test_its_lockfile_pins_webtorrent_2_8_with_the_stubs_and_the_uint8_util_it_runs_with():
    lock = json.loads((BACKENDS / "webtorrent2" / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/webtorrent"]["version"].startswith("2.8.")
    assert lock["node_modules/webrtc-polyfill"]["version"].endswith("-swarmspec.stub")
    versions = {v["version"] for k, v in lock.items() if k.endswith("node_modules/uint8-util")}
    assert versions == {"2.2.6"}, "uint8-util 2.3's arr2hex crashes webtorrent 2.8.5 on every magnet (README.md)"


def test_its_image_copies_the_shared_wrapper_and_its_own_packages_only():
    rel = {p.relative_to(PROJECT_ROOT).as_posix() for p in images.copy_sources(images.dockerfile("webtorrent2"))}
    assert {"infra/backends/webtorrent2/server.js", "infra/backends/webtorrent/engine.mjs",
            "infra/backends/node_control/control.cjs"} <= rel
    assert "infra/backends/webtorrent2/node_modules/webtorrent/package.json" in rel
    assert not any(r.startswith("infra/backends/webtorrent/node_modules") for r in rel), "not WebTorrent 3's packages"
    assert "infra/backends/webtorrent/package.json" not in rel, (
        "the shared engine is engine.mjs: an ES module by its name, with no package.json beside it in the image")
    assert "infra/backends/node_control/control.cjs" in {
        p.relative_to(PROJECT_ROOT).as_posix() for p in images.copy_sources(images.dockerfile("webtorrent"))}


def test_under_docker_it_is_started_like_webtorrent_3():
    config = layout.container_config(ecosystem.spec("webtorrent2"), layout.DockerLayout("r1"), Settings(), {},
                                     41000, 41001)
    assert config["entrypoint"][:2] == ["node", "/app/infra/backends/webtorrent2/server.js"]
    assert config["ports"][f"{layout.STREAM_CONTAINER_PORT}/tcp"] == ("127.0.0.1", 41001)


def test_every_node_backend_installs_through_the_one_installer():
    for name in ("webtorrent", "webtorrent2", "peerflix"):
        script = (BACKENDS / name / "install.sh").read_text()
        assert "node_control/npm-install.sh" in script, name
        assert "npm ci" not in script.replace("(npm ci", ""), f"{name} runs npm itself"


@pytest.mark.parametrize("name,version", [("webtorrent", "3."), ("webtorrent2", "2.8."), ("peerflix", "0.39.")])
def test_each_wrapper_starts_answers_its_control_api_and_stops_clean(tmp_path, name, version):
    """The shared control API over each engine: health, a bad magnet refused, an empty list,
    SIGTERM ends it at once and its temporary data goes with it."""
    proc = subprocess.Popen(["node", str(BACKENDS / name / "server.js"), "--host", "127.0.0.1", "--port", "0",
                             "--stream-port", "0", "--run-id", f"t{name}"],
                            stdout=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    try:
        line = proc.stdout.readline()
        assert f" {version}" in line, line
        base = "http://" + re.search(r"control http://([0-9.:]+)", line)[1]
        assert requests.get(f"{base}/health", timeout=5).json() == {"status": "healthy"}
        bad = requests.post(f"{base}/streams", json={"magnetUri": "magnet:?xt=urn:btih:nothex"}, timeout=5)
        assert bad.status_code == 400 and "magnetUri" in bad.json()["error"]
        assert requests.get(f"{base}/streams", timeout=5).json() == []
        assert requests.delete(f"{base}/streams/{'0' * 40}", timeout=5).status_code == 404
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
    assert list(Path(tmp_path).iterdir()) == [], "its temporary data directory is removed"
