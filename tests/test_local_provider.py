"""The real ecosystem under the local provider: opentracker, seeder, range server and the
reference backend as subprocesses on free loopback ports, streaming the test videos."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

import videos
from infra.ecosystem import ports
from infra.ecosystem import services as ecosystem
from infra.config import Settings
from infra.swarm.catalog import Catalog
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem import processes
from infra.ecosystem.local import LocalProvider
from tests.suite_calls import SuiteCalls

pytestmark = pytest.mark.integration

STREAM_TIMEOUT = 3.0
RANGE = (1048576, 1056767)


def world_readable_dir(prefix: str) -> Path:
    """A fresh directory others can traverse: opentracker, started as root, drops to
    'nobody' and must still read the whitelist under run_dir (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def settings_in(base: Path) -> Settings:
    return Settings(run_dir=base / "run", reports_dir=base / "reports", stream_timeout=STREAM_TIMEOUT,
                    metadata_timeout=STREAM_TIMEOUT, start_timeout=30.0)


@dataclass
class Eco(SuiteCalls):
    provider: LocalProvider
    endpoints: Endpoints
    settings: Settings


@pytest.fixture(scope="module")
def eco():
    base = world_readable_dir("swarmspec-test-")
    provider = LocalProvider(settings_in(base), progress=False)
    try:
        handle = Eco(provider, provider.up(), provider.settings)
        yield handle
        handle.close()
    finally:
        provider.down()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def manifest():
    return videos.load_manifest()


def pid_alive(pid: int) -> bool:
    return processes.alive(pid)


def group_alive(pgid: int) -> bool:
    return processes.alive(pgid, group=True)


def processes_tagged(run_id: str) -> list[int]:
    """Processes started with `--run-id <run_id>` (every Python service of a run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a == b"--run-id" and b == run_id.encode() for a, b in zip(argv, argv[1:])):
            found.append(int(entry.name))
    return found


def assert_all_stopped(provider: LocalProvider) -> None:
    assert set(provider.services) == {s.name for s in ecosystem.start_order()}
    for name, service in provider.services.items():
        assert service.pid > 0
        assert not service.is_running(), f"{name} still running"
        assert not pid_alive(service.pid), f"{name} (pid {service.pid}) is alive after down()"
        assert not group_alive(service.pid), f"a process of {name}'s group is alive after down()"
    assert processes_tagged(provider.run_id) == []


# -- the shared ecosystem ----------------------------------------------------------------

# Health, endpoints, the service contract, stop/start, kill and restart: tests/test_provider_contract.py.

def test_endpoints_name_each_process_and_the_seeder_announces_every_video(eco, manifest):
    endpoints = eco.endpoints
    assert endpoints.run_id == eco.provider.run_id
    for name, service in eco.provider.services.items():
        assert endpoints.services[name]["pid"] == service.pid > 0, name
    seeder = requests.get(endpoints.seeder + "/health", timeout=5).json()
    assert seeder["status"] == "healthy"
    seeded = [e for e in Catalog.load(Path(endpoints.catalog_file)).entries if e.seeded]
    assert seeder["seedingTorrents"] == seeder["announced"] == len(seeded)
    assert {e.name for e in seeded} >= {v.name for v in manifest.videos}   # and the feature-length video if on
    assert requests.get(endpoints.backend + "/health", timeout=5).json()["status"] == "healthy"
    assert Path(endpoints.logs_dir, "backend.log").is_file()


def test_login_with_the_credentials_file(eco):
    path = Path(eco.endpoints.credentials_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(path.read_text())
    ok = eco.target.login(eco.client, creds["email"], creds["password"])
    assert ok.status == 200 and json.loads(ok.body)["tokenType"] == "Bearer"
    wrong = eco.target.login(eco.client, creds["email"], creds["password"] + "x")
    assert wrong.status == 401
    assert isinstance(eco.target.active_torrents(eco.client), list)


def test_seeder_magnets_name_the_run_tracker(eco):
    video = eco.library["the large video"]
    entry = eco.seeder_torrent(video)
    assert entry["seeded"] and entry["announced"] and entry["magnetURI"] == video.magnet
    assert video.magnet.startswith(f"magnet:?xt=urn:btih:{video.info_hash}")
    assert requests.utils.quote(eco.endpoints.tracker_announce, safe="") in video.magnet


def test_range_of_the_large_video_matches_the_file(eco):
    eco.check_range_of_the_large_video(*RANGE)


def test_first_byte_of_a_fresh_torrent_within_5s(eco):
    video = eco.library["the medium video"]
    active = [t["infoHash"] for t in eco.target.active_torrents(eco.client)]
    assert video.info_hash not in active, "the torrent must be new to the backend"
    url = eco.target.stream_url(eco.client, video)                  # creates the source
    exchange = eco.viewer.get(url, "bytes=0-", read_limit=1)        # the clock starts here
    assert exchange.status == 206, exchange.body
    assert exchange.body == video.read(0, 0)
    assert exchange.first_byte_after < 5.0, f"first byte after {exchange.first_byte_after:.2f}s"


def test_whole_small_video_through_a_stream_token(eco, manifest):
    video = eco.library["the small video"]
    url = eco.target.stream_url(eco.client, video)
    token = eco.target.stream_token(eco.client, eco.target.source_id(eco.client, video))
    # As a <video> element would: no Authorization header, the token in the URL.
    reply = eco.client.request("GET", f"{url}?token={quote(token)}", deadline=60)
    assert reply.status == 200, reply.body[:300]
    assert reply.header("Content-Length") == str(video.size)
    assert len(reply.body) == video.size
    assert hashlib.sha256(reply.body).hexdigest() == manifest.get(video.name).sha256


def test_unseeded_torrent_is_504_within_the_stream_timeout(eco):
    video = eco.library["the unseeded torrent"]
    assert eco.seeder_torrent(video)["seeded"] is False
    url = eco.target.stream_url(eco.client, video)                  # creates the source
    reply = eco.viewer.get(url, "bytes=0-1023")
    assert reply.status == 504, reply.body[:300]
    assert "error" in json.loads(reply.body)
    assert reply.elapsed < eco.settings.stream_timeout + 2, f"504 after {reply.elapsed:.2f}s"


def test_down_stops_every_process(eco):
    """Runs last in this module: stops the shared ecosystem (the fixture's down() is then a no-op)."""
    pids = {name: s.pid for name, s in eco.provider.services.items()}
    assert all(pid_alive(pid) for pid in pids.values())
    assert len(processes_tagged(eco.provider.run_id)) == 4            # seeder, range server, backend, catalog service
    started = time.monotonic()
    eco.provider.down()
    assert time.monotonic() - started < eco.settings.stop_timeout + 1
    assert_all_stopped(eco.provider)
    with pytest.raises(requests.ConnectionError):
        requests.get(eco.endpoints.backend + "/health", timeout=2)


# -- a port somebody else holds ----------------------------------------------------------

class Holder:
    """Somebody else's server on a loopback port.

    'closer' accepts and hangs up at once (any non-HTTP program); 'http' answers 200 to
    every GET, as another run's service would."""

    def __init__(self, kind: str) -> None:
        if kind == "http":
            class Ok(BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")

                def log_message(self, *args):
                    pass

            self.server = HTTPServer(("127.0.0.1", 0), Ok)
            self.port = self.server.server_address[1]
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        else:
            self.server = None
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen()
            self.port = self.sock.getsockname()[1]
            self.thread = threading.Thread(target=self._hang_up)
        self.thread.start()

    def _hang_up(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        else:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        self.thread.join(5)


def start_with_a_taken_port(monkeypatch, victim: str, holder: Holder):
    """Start an ecosystem whose `victim` service is first offered the holder's port."""
    order = [s.name for s in ecosystem.start_order()]
    real_free_port = ports.free_port
    calls = []

    def free_port(host="127.0.0.1", udp_too=False):
        calls.append(host)
        if len(calls) == order.index(victim) + 1:
            return holder.port
        return real_free_port(host, udp_too)

    monkeypatch.setattr(ports, "free_port", free_port)
    base = world_readable_dir("swarmspec-port-")
    provider = LocalProvider(settings_in(base), progress=False)
    return provider, base, calls, order


@pytest.mark.parametrize("victim", ["tracker", "backend"])
def test_a_taken_port_is_avoided(monkeypatch, victim):
    holder = Holder("closer")
    provider, base, calls, order = start_with_a_taken_port(monkeypatch, victim, holder)
    try:
        endpoints = provider.up()
        service = provider.services[victim]
        assert service.is_running()
        assert f":{holder.port}" not in service.url
        assert requests.get(service.url + service.spec.health_path, timeout=5).status_code == 200
        assert len(calls) == len(order) + 1            # exactly one retry
        assert "address already in use" in service.log_tail(200).lower()
        if victim == "tracker":                        # the swarm works with the tracker's second port
            assert endpoints.tracker_announce == service.url + "/announce"
            assert requests.get(endpoints.seeder + "/health", timeout=5).json()["status"] == "healthy"
    finally:
        holder.close()
        provider.down()
        try:
            assert_all_stopped(provider)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def test_a_port_held_by_another_http_server_is_avoided(monkeypatch):
    holder = Holder("http")
    provider, base, calls, order = start_with_a_taken_port(monkeypatch, "backend", holder)
    try:
        endpoints = provider.up()
        backend = provider.services["backend"]
        time.sleep(1.0)                                # let the child reach its bind()
        assert backend.is_running(), f"backend exited with {backend.process.returncode}"
        assert endpoints.backend != f"http://127.0.0.1:{holder.port}"
    finally:
        holder.close()
        provider.down()
        shutil.rmtree(base, ignore_errors=True)
