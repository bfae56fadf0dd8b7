"""The docker ecosystem (infra/ecosystem/docker/): the same swarm as containers.

Skipped, with the reason, when no Docker engine answers (start one with
``infra/ecosystem/docker/ensure-engine.sh`` as root). With an engine and warm images the
module takes ~20 s: one ecosystem for most tests, plus a failing start and a
leftover clean-up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from infra.ecosystem import services as ecosystem
from infra.config import Settings
from infra.ecosystem.endpoints import Endpoints

docker = pytest.importorskip("docker", reason="docker SDK not installed (pip install -r requirements.txt)")

# after the importorskip:
from infra.ecosystem.contract import Fault, FaultyService, Provider  # noqa: E402
from infra.ecosystem.docker import engine, images, layout, reaper  # noqa: E402
from infra.ecosystem.docker.provider import DockerProvider  # noqa: E402
from infra.ecosystem.docker.service import ServiceFailed, listening_ports  # noqa: E402
from infra.suite.http import Client  # noqa: E402
from infra.suite.library import Library  # noqa: E402
from infra.suite.targets import make_target  # noqa: E402
from infra.suite.targets.registry import urls_of  # noqa: E402
from tests.suite_calls import SuiteCalls

pytestmark = pytest.mark.integration

STREAM_TIMEOUT = 3.0
#: What the docker provider runs: every service but the optional third-party backends.
RUN = ecosystem.start_order()
RANGE = (1048576, 1056767)


def _engine_or_skip():
    try:
        client = engine.connect(timeout=10)
    except engine.DockerUnavailable as exc:
        pytest.skip(f"{exc}")
    return client


@pytest.fixture(scope="module")
def client():
    c = _engine_or_skip()
    yield c
    c.close()


def settings_in(base: Path, **overrides) -> Settings:
    values = dict(run_dir=base / "run", reports_dir=base / "reports", stream_timeout=STREAM_TIMEOUT,
                  metadata_timeout=STREAM_TIMEOUT, start_timeout=30.0)
    return Settings(**{**values, **overrides})


def labelled(client, run_id: str) -> tuple[list, list]:
    selector = {"label": f"{reaper.LABEL_RUN}={run_id}"}
    return client.containers.list(all=True, filters=selector), client.networks.list(filters=selector)


#: The admin login comes from the settings (as SWARMSPEC_ADMIN_EMAIL/PASSWORD would give
#: it), so the test can tell that it reaches the backend without passing through the
#: container's environment, where `docker inspect` would show it.
ADMIN = {"email": "admin@docker.test", "password": "not-in-docker-inspect-" + os.urandom(6).hex()}


@dataclass
class Eco(SuiteCalls):
    provider: DockerProvider
    endpoints: Endpoints
    admin: dict = field(default_factory=lambda: dict(ADMIN))

    def container(self, name: str):
        service = self.provider.service(name)
        service.container.reload()
        return service.container


@pytest.fixture(scope="module")
def base():
    path = Path(tempfile.mkdtemp(prefix="swarmspec-docker-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def eco(client, base):
    provider = DockerProvider(settings_in(base, admin_email=ADMIN["email"], admin_password=ADMIN["password"]),
                              progress=False)
    try:
        handle = Eco(provider, provider.up())
        yield handle
        handle.close()
    finally:
        provider.down()


# -- the ecosystem as started ------------------------------------------------------------

def test_every_service_is_a_healthy_labelled_container(eco, client):
    run = eco.provider.run_id
    endpoints = eco.endpoints
    assert endpoints.provider == "docker" and endpoints.run_id == run
    assert endpoints.tracker_announce == "http://tracker:6969/announce"
    containers, networks = labelled(client, run)
    assert [n.name for n in networks] == [f"swarmspec-{run}"]
    assert {c.name for c in containers} == {f"swarmspec-{run}-{s.name}" for s in RUN}
    for spec in RUN:
        attrs = eco.container(spec.name).attrs
        assert attrs["State"]["Health"]["Status"] == "healthy", spec.name
        assert attrs["Config"]["Image"] == f"swarmspec-hold/{spec.image}:{run}", "created from the run's hold"
        assert attrs["Config"]["Labels"][reaper.LABEL_SERVICE] == spec.name
        assert attrs["HostConfig"]["Init"] is True
        assert spec.name in attrs["NetworkSettings"]["Networks"][f"swarmspec-{run}"]["Aliases"]
        published = {port: bindings for port, bindings in attrs["NetworkSettings"]["Ports"].items() if bindings}
        assert list(published) == layout.published_ports(spec), spec.name
        assert all(b["HostIp"] == "127.0.0.1" for bindings in published.values() for b in bindings)
        mounts = {m["Destination"]: m["RW"] for m in attrs["Mounts"]}
        # and, read-only at its own path, the folder a media link points into (the feature-length video's cache)
        media = eco.provider.prepared.media_dir
        linked = layout.linked_media_mounts(media) if "media" in layout.MOUNTS[spec.name] else {}
        assert mounts == {**{layout.CONTAINER_PATHS[w]: w in layout.WRITABLE for w in layout.MOUNTS[spec.name]},
                          **{bind["bind"]: False for bind in linked.values()}}, spec.name
        env = dict(e.split("=", 1) for e in attrs["Config"]["Env"])
        assert env["SWARMSPEC_STREAM_TIMEOUT"] == str(STREAM_TIMEOUT)
        assert not {"SWARMSPEC_RUN_DIR", "SWARMSPEC_REPORTS_DIR"} & set(env), "host paths leaked into the container"
        url = endpoints.services[spec.name]["url"] + spec.host_health_path
        assert requests.get(url, timeout=5).status_code == 200, url


def test_the_admin_password_is_a_mounted_file_not_in_docker_inspect(eco):
    for spec in RUN:
        attrs = eco.container(spec.name).attrs
        assert ADMIN["password"] not in json.dumps(attrs), f"{spec.name}: docker inspect shows the admin password"
        env = dict(e.split("=", 1) for e in attrs["Config"]["Env"])
        assert not set(layout.SECRET_SETTINGS) & set(env), spec.name
    mounts = {m["Destination"]: m for m in eco.container("backend").attrs["Mounts"]}
    secret = Path(mounts[layout.CONTAINER_PATHS["credentials"]]["Source"])
    assert secret == layout.secret_credentials(eco.provider.settings, eco.provider.run_id)
    assert not mounts[layout.CONTAINER_PATHS["credentials"]]["RW"]
    assert (secret.stat().st_mode & 0o777) == 0o600 and (secret.parent.stat().st_mode & 0o777) == 0o700
    assert json.loads(secret.read_text()) == ADMIN
    login = eco.target.login(eco.client, ADMIN["email"], ADMIN["password"])     # the backend read the file
    assert login.status == 200, login.body


def test_range_of_the_large_video_matches_the_file(eco):
    eco.check_range_of_the_large_video(*RANGE)


def test_a_restart_keeps_the_published_port_and_the_sources(eco):
    backend = eco.provider.service("backend")
    created = eco.target.create_source(eco.client, eco.library["the small video"].magnet)
    assert created.status == 201, created.body[:300]
    source = json.loads(created.body)
    port = backend.host_port
    backend.restart()
    assert backend.published_port() == port == int(eco.endpoints.backend.rsplit(":", 1)[1])
    reply = eco.client.request("GET", f"{eco.endpoints.backend}/api/sources/{source['id']}",
                               headers=eco.target.auth_headers(eco.client))
    assert reply.status == 200, "the backend's SQLite (a host directory) survives the restart"
    assert json.loads(reply.body)["magnetUri"] == source["magnetUri"]


def test_stop_then_start_keeps_the_port(eco):
    tracker = eco.provider.service("tracker")
    port = tracker.host_port
    tracker.stop()
    assert not tracker.is_running()
    tracker.start()
    assert tracker.is_running() and tracker.published_port() == port


def test_pause_and_unpause_the_seeder(eco):
    seeder = eco.provider.service("seeder")
    seeder.pause()
    try:
        assert seeder.is_paused()
        with pytest.raises(requests.RequestException):
            requests.get(eco.endpoints.seeder + "/health", timeout=1)
    finally:
        seeder.unpause()
    assert not seeder.is_paused()
    assert eco.container("seeder").attrs["State"]["Health"]["Status"] == "healthy"
    assert requests.get(eco.endpoints.seeder + "/health", timeout=5).status_code == 200


def test_disconnect_and_reconnect_the_seeder(eco):
    from infra.suite.swarm_control import SwarmControl

    seeder = eco.provider.service("seeder")
    address, port = seeder.address, seeder.host_port
    seeder.disconnect()
    try:
        assert not seeder.is_connected() and seeder.is_running()
        assert seeder.published_port() is None, "a disconnected container publishes nothing"
        assert seeder.listening_ports() == set()
    finally:
        seeder.reconnect()
    assert seeder.is_connected()
    attrs = eco.container("seeder").attrs
    assert attrs["NetworkSettings"]["Networks"][eco.provider.network_name]["IPAddress"] == address
    assert "seeder" in attrs["NetworkSettings"]["Networks"][eco.provider.network_name]["Aliases"]
    assert seeder.published_port() == port
    assert attrs["State"]["Health"]["Status"] == "healthy"
    assert seeder.listening_ports(), "the seeder's BitTorrent socket listens on the network again"
    # back in the swarm: once the tracker hands out its new address, a fresh torrent streams
    video = eco.library["the medium video"]
    SwarmControl(eco.endpoints, eco.provider).wait_until_tracker_lists_seeder(eco.client, video.info_hash)
    reply = eco.viewer.play(video, "bytes=0-65535")
    assert reply.status == 206, reply.body[:300]
    assert reply.body == video.read(0, 65535)


def test_log_tail_reads_the_live_container(eco):
    assert "listening on http://0.0.0.0:8080" in eco.provider.service("backend").log_tail(200)


def test_the_provider_keeps_the_contract(eco):
    provider = eco.provider
    assert isinstance(provider, Provider)
    assert provider.faults == {Fault.KILL, Fault.RESTART, Fault.PAUSE, Fault.DISCONNECT}
    assert all(provider.supports(fault) for fault in Fault)
    for spec in RUN:
        assert isinstance(provider.service(spec.name), FaultyService), spec.name


def test_kill_then_heal_the_range_server(eco):
    server = eco.provider.service("range_server")
    port = server.host_port
    server.kill()
    assert not server.is_running()
    assert eco.container("range_server").attrs["State"]["ExitCode"] == 137, "SIGKILL, as a crash"
    server.heal()
    assert server.is_running() and server.published_port() == port
    assert requests.get(eco.endpoints.range_server + "/health", timeout=5).status_code == 200


def test_listening_ports_reads_the_kernel_table():
    table = ("  sl  local_address rem_address   st tx_queue rx_queue\n"
             "   0: 0B0012AC:1A0B 00000000:0000 0A 00000000:00000000\n"     # 172.18.0.11:6667 LISTEN
             "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000\n"     # 0.0.0.0:8080 LISTEN
             "   2: 0B0012AC:C350 0C0012AC:1A0B 01 00000000:00000000\n")    # established
    assert listening_ports(table, "172.18.0.11") == {6667}
    assert listening_ports(table, "172.18.0.12") == set()


def test_down_removes_everything_of_the_run_and_saves_the_logs(eco, client):
    provider, run = eco.provider, eco.provider.run_id
    # the peers' directory exists only once a scenario started an extra peer (none here)
    data_dirs = [d for d in reaper.run_data_dirs(provider.settings, run) if not d.name.startswith("peers-")]
    assert data_dirs and all(d.is_dir() for d in data_dirs)
    watchdog = provider.watchdog.process
    provider.down()
    containers, networks = labelled(client, run)
    assert containers == [] and networks == []
    assert not any(d.exists() for d in data_dirs)
    assert watchdog.poll() == 0, "the run's watchdog exits with the run"
    assert client.images.list(filters={"reference": f"swarmspec-hold/*:{run}"}) == [], "the run's image holds"
    for spec in RUN:
        log = provider.settings.logs_dir / f"{spec.name}.log"
        assert log.is_file() and log.stat().st_size > 0, log
    provider.down()   # idempotent


# -- a third-party backend ---------------------------------------------------------------

def test_webtorrent_streams_from_its_published_port(client, base):
    """WebTorrent in a container: its stream URLs name the streaming port published on
    127.0.0.1 (not the container's own address), and what comes from there is the file."""
    provider = DockerProvider(settings_in(base / "webtorrent", extra_services="webtorrent"), progress=False)
    suite = Client()
    try:
        endpoints = provider.up()
        video = Library.of_running(endpoints, suite)["the large video"]
        url = make_target("webtorrent", urls_of(endpoints), {}).stream_url(suite, video)
        container = provider.service("webtorrent").container
        container.reload()
        published = container.attrs["NetworkSettings"]["Ports"][f"{layout.STREAM_CONTAINER_PORT}/tcp"][0]
        assert published["HostIp"] == "127.0.0.1"
        assert url.startswith(f"http://127.0.0.1:{published['HostPort']}/webtorrent/{video.info_hash}/"), url
        exchange = suite.request("GET", url, headers={"Range": f"bytes={RANGE[0]}-{RANGE[1]}"})
        assert exchange.status == 206 and exchange.body == video.read(*RANGE)
    finally:
        suite.close()
        provider.down()
    assert labelled(client, provider.run_id) == ([], [])


# -- failure and leftovers ---------------------------------------------------------------

def test_a_service_that_never_gets_healthy_is_named_and_everything_is_removed(client, base, monkeypatch):
    real = layout.healthcheck

    def broken(spec):
        check = real(spec)
        if spec.name == "range_server":
            check["test"] = ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/no-such-path"]
        return check

    monkeypatch.setattr(layout, "healthcheck", broken)
    provider = DockerProvider(settings_in(base / "failing", start_timeout=3.0), progress=False)
    started = time.monotonic()
    with pytest.raises(ServiceFailed) as failure:
        provider.up()
    message = str(failure.value)
    assert message.startswith("range_server: waited for its Docker health check")
    assert "last observed: health" in message and "log tail of range_server" in message
    assert time.monotonic() - started < 30
    assert labelled(client, provider.run_id) == ([], [])
    assert (provider.settings.logs_dir / "range_server.log").is_file()


def test_cleanup_stale_removes_runs_whose_owner_is_gone(client):
    runtime = images.build_runtime_image(progress=False)
    dead, alive = "deadbeef", "a1a1a1a1"
    made = []
    try:
        for run, owner in ((dead, "2147483646:1@" + os.uname().nodename), (alive, reaper.owner_token())):
            labels = {reaper.LABEL_RUN: run, reaper.LABEL_OWNER: owner}
            made.append(client.networks.create(f"swarmspec-test-{run}", labels=labels))
            made.append(client.containers.create(runtime, ["sleep", "60"], name=f"swarmspec-test-{run}", labels=labels))
        removed = DockerProvider.cleanup_stale(client=client, progress=False)
        assert dead in removed and alive not in removed
        assert labelled(client, dead) == ([], [])
        containers, networks = labelled(client, alive)
        assert len(containers) == 1 and len(networks) == 1
    finally:
        reaper.remove_run(client, dead)
        reaper.remove_run(client, alive)


def test_owner_alive():
    assert reaper.owner_alive(reaper.owner_token())
    assert not reaper.owner_alive("2147483646:1@" + os.uname().nodename)
    assert not reaper.owner_alive(f"{os.getpid()}:1@" + os.uname().nodename), "same pid, other start time: reused"
    assert reaper.owner_alive("1:1@some-other-host"), "another machine's run is not ours to remove"
    assert not reaper.owner_alive("")


# -- your backend as an image ----------------------------------------------------------------

USER_COMMAND = ("sh -c 'env > \"$SWARMSPEC_DATA_DIR/env.txt\"; echo user image up; exec python3 -m http.server "
                "\"$SWARMSPEC_LISTEN_PORT\" --bind \"$SWARMSPEC_LISTEN_HOST\" --directory \"$SWARMSPEC_DATA_DIR\"'")


def test_a_backend_image_runs_on_the_swarms_network_told_where_the_swarm_is(client, base):
    """The runtime image stands in for someone's backend: its own entrypoint (tini) runs
    the command, no health check of ours is in it (probed from the host), its log is saved."""
    settings = settings_in(base / "user", backend_image="swarmspec/runtime:latest",    # up() builds it first
                           backend_command=USER_COMMAND, backend_health="/", backend_service="mine")
    provider = DockerProvider(settings, progress=False)
    try:
        provider.up()
        text = requests.get(provider.service("mine").url + "/env.txt", timeout=5).text
        seen = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        assert seen["SWARMSPEC_ANNOUNCE_URL"] == "http://tracker:6969/announce"
        assert seen["SWARMSPEC_CATALOG_URL"] == "http://catalog_service:8080"
        assert seen["SWARMSPEC_LISTEN_PORT"] == "8080" and seen["SWARMSPEC_DATA_DIR"] == layout.USER_DATA_PATH
        assert "SWARMSPEC_STREAM_TIMEOUT" not in seen, "your container gets the swarm's variables, not our settings"
    finally:
        provider.down()
    assert labelled(client, provider.run_id) == ([], [])
    assert "user image up" in (settings.logs_dir / "mine.log").read_text()
    assert not layout.user_data_dir(settings, provider.run_id, "mine").exists()


def test_a_backend_command_is_refused_under_docker_with_the_reason(base):
    provider = DockerProvider(settings_in(base / "cmd", backend_command="node app.js"), progress=False)
    with pytest.raises(RuntimeError, match="under docker give your backend as an image"):
        provider.up()
