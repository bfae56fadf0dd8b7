"""The Docker foundation: engine reachability, the swarmspec runtime image.

Skipped (with the reason) when no Docker engine answers. When one does and
the runtime image is missing, it is built once with
infra/ecosystem/docker/build-images.sh (cached: a warm run of that script takes < 1 s);
with the image present the whole module takes a few seconds.

Start an engine with ``infra/ecosystem/docker/ensure-engine.sh`` (as root).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

docker = pytest.importorskip("docker", reason="docker SDK not installed (pip install -r requirements.txt)")

ROOT = Path(__file__).resolve().parents[1]
DOCKER_DIR = ROOT / "infra" / "ecosystem" / "docker"
RUN_DIR = Path(os.environ.get("SWARMSPEC_RUN_DIR", ROOT / ".run"))
RUNTIME_REF_FILE = RUN_DIR / "docker" / "runtime-image.txt"
RUNTIME_LATEST = "swarmspec/runtime:latest"
RUNTIME_PKGS = ("libtorrent", "aiohttp", "PyJWT", "tenacity", "locust", "psutil")
TEST_LABEL = {"org.swarmspec.test": "test_docker_images"}
EXIT_NO_ENGINE = 3


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


@pytest.fixture(scope="module")
def client():
    try:
        probe = docker.from_env(timeout=10)
        probe.ping()
    except Exception as exc:  # DockerException, requests errors, timeouts
        pytest.skip(
            f"no Docker engine reachable ({type(exc).__name__}: {str(exc)[:200]}); "
            "start one with infra/ecosystem/docker/ensure-engine.sh (as root)"
        )
    probe.close()
    c = docker.from_env(timeout=120)
    yield c
    c.close()


@pytest.fixture(scope="module")
def runtime_image(client):
    """The runtime image reference; built with build-images.sh if missing."""
    candidates = []
    if RUNTIME_REF_FILE.exists():
        candidates.append(RUNTIME_REF_FILE.read_text().strip())
    candidates.append(RUNTIME_LATEST)
    for ref in candidates:
        try:
            client.images.get(ref)
            return ref
        except docker.errors.ImageNotFound:
            continue
    proc = subprocess.run(
        [str(DOCKER_DIR / "build-images.sh")],
        capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode == EXIT_NO_ENGINE:
        pytest.skip(f"build-images.sh: no engine: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, f"build-images.sh failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


def _run(client, image, command, **kw):
    """docker run --rm; returns stdout (bytes). Raises ContainerError on exit != 0.

    End the output with a newline: with dockerd 20.10 a last line without
    one is sometimes missing from the logs that run() returns (seen here in
    3 of 10 runs of `printf 200`)."""
    return client.containers.run(image, command, remove=True, labels=TEST_LABEL, stdout=True, stderr=True, **kw)


PROBE = r"""
import json, subprocess, sys
from importlib.metadata import version
import libtorrent, aiohttp, jwt, tenacity
ot = subprocess.run(["opentracker", "-h"], capture_output=True, text=True)
print(json.dumps({
    "python": "{0}.{1}".format(*sys.version_info[:2]),
    "executable": sys.executable,
    "libtorrent_module": libtorrent.__version__,
    "dists": {n: version(n) for n in PKGS},
    "opentracker_rc": ot.returncode,
    "opentracker_usage": (ot.stdout + ot.stderr)[:200],
}))
""".replace("PKGS", repr(list(RUNTIME_PKGS)))


@pytest.fixture(scope="module")
def probe(client, runtime_image):
    out = _run(client, runtime_image, ["python", "-c", PROBE])
    return json.loads(out.decode().strip().splitlines()[-1])


def test_runtime_image_imports_the_service_libs(probe):
    assert probe["python"] == "3.11"  # what the wheelhouse is resolved for
    assert probe["executable"].startswith("/opt/venv/")
    assert probe["libtorrent_module"].startswith("2.1.1")


def test_runtime_image_versions_match_requirements(probe):
    pins = _pins()
    for name, got in probe["dists"].items():
        assert got == pins[name.lower()], f"{name}: image has {got}, requirements.txt pins {pins[name.lower()]}"


def test_runtime_image_has_opentracker(probe):
    assert probe["opentracker_rc"] == 0, probe["opentracker_usage"]
    assert "Usage: opentracker" in probe["opentracker_usage"]


def test_runtime_image_config(client, runtime_image):
    cfg = client.images.get(runtime_image).attrs["Config"]
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert cfg["Entrypoint"] == ["tini", "--"]
    assert cfg["WorkingDir"] == "/app"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].split(":")[0] == "/opt/venv/bin"


def test_sigterm_reaches_python_under_tini(client, runtime_image):
    """`docker stop` must not wait for its kill timeout (tini forwards SIGTERM).

    The stop is sent only once Python runs (it says so), and the kill timeout is long
    (30 s) against the bound (15 s): on a loaded machine a container start or stop can
    take seconds, but only a SIGTERM that never reached Python takes the whole timeout."""
    c = client.containers.run(
        runtime_image, ["python", "-c", "import time; print('ready', flush=True); time.sleep(120)"],
        detach=True, labels=TEST_LABEL,
    )
    try:
        end = time.monotonic() + 30
        while b"ready" not in c.logs():
            assert time.monotonic() < end, "python did not start in the container within 30 s"
            time.sleep(0.1)
        t0 = time.monotonic()
        c.stop(timeout=30)
        took = time.monotonic() - t0
        c.reload()
        assert took < 15, f"docker stop took {took:.1f}s: SIGTERM did not reach python"
        assert c.attrs["State"]["ExitCode"] != 137, "python was SIGKILLed, not stopped by SIGTERM"
    finally:
        c.remove(force=True)


def _get(url: str, deadline_s: float) -> int:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except (OSError, socket.timeout):
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_bridge_network_names_and_loopback_port(client, runtime_image):
    """What the Docker provider relies on: containers on a user-defined bridge
    reach each other by name, and a port published on 127.0.0.1 answers the
    host."""
    tag = uuid.uuid4().hex[:8]
    net = client.networks.create(f"swarmspec-test-{tag}", driver="bridge", labels=TEST_LABEL)
    web = None
    try:
        web = client.containers.run(
            runtime_image, ["python", "-m", "http.server", "8000"],
            name=f"swarmspec-test-web-{tag}", network=net.name, detach=True,
            ports={"8000/tcp": ("127.0.0.1", None)}, labels=TEST_LABEL,
        )
        web.reload()
        host_port = int(web.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
        assert _get(f"http://127.0.0.1:{host_port}/", deadline_s=15) == 200
        out = _run(
            client, runtime_image,
            ["curl", "-sS", "--retry", "5", "--retry-connrefused", "--retry-delay", "1",
             "-m", "5", "-o", "/dev/null", "-w", "%{http_code}\n", f"http://{web.name}:8000/"],
            network=net.name,
        )
        assert out.decode().strip() == "200"
    finally:
        if web is not None:
            web.remove(force=True)
        net.remove()


def test_the_admin_login_never_reaches_a_container_environment():
    from infra.config import Settings
    from infra.ecosystem.docker import layout

    env = layout.container_env(Settings(admin_email="a@x.test", admin_password="hunter2"))
    assert not set(layout.SECRET_SETTINGS) & set(env)
    assert "hunter2" not in repr(env)


def test_a_run_holds_its_images_and_a_build_never_removes_a_hold(monkeypatch):
    """Content tags are shared by every checkout on the engine; a run's hold tag keeps its
    images while another checkout's build removes the tags it superseded."""
    from types import SimpleNamespace

    from infra.ecosystem.docker import images

    class Image:
        def __init__(self, tags, checkout):
            self.tags, self.labels = tags, {images.LABEL_CHECKOUT: str(checkout)}

    listed = [Image(["swarmspec/seeder:old", "swarmspec-hold/seeder:run1"], images.PROJECT_ROOT)]
    assert images.superseded(listed, "swarmspec/seeder:new", "swarmspec/seeder") == ["swarmspec/seeder:old"]

    class NotFound(Exception):
        pass

    monkeypatch.setattr(images, "sdk", lambda: SimpleNamespace(errors=SimpleNamespace(ImageNotFound=NotFound)))
    tagged, gone_once = [], [True]

    def get(ref):
        if gone_once[0]:               # removed by another checkout right after the first build
            gone_once[0] = False
            raise NotFound(ref)
        return SimpleNamespace(tag=lambda repo, tag: tagged.append(f"{repo}:{tag}"))

    client = SimpleNamespace(images=SimpleNamespace(get=get))
    builds = []
    held = images._held(client, lambda: builds.append(1) or "swarmspec/seeder:abc", "run1")
    assert held == "swarmspec-hold/seeder:run1" and tagged == [held] and len(builds) == 2
    assert images._held(client, lambda: "swarmspec/seeder:abc", None) == "swarmspec/seeder:abc"
