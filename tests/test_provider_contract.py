"""The provider contract (infra/ecosystem/contract.py), checked the same way over every
provider: one ecosystem per provider for the whole module.

Up: complete endpoints, every service healthy at its URL and a `contract.Service` with a
log. Stop closes the port; start comes back healthy on the same URL. Every fault the
provider declares is injected and healed; every fault it does not declare is refused by
`require()` with FaultNotSupported naming the provider. The docker half is skipped, with
the reason, where no Docker engine answers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from infra.config import Settings
from infra.ecosystem import ports
from infra.ecosystem import services as ecosystem
from infra.ecosystem.conditions import NetworkConditions
from infra.ecosystem.contract import (FAULT_METHODS, Capability, Fault, FaultNotSupported, PeerService, Provider,
                                      Service, faulty_service)
from infra.ecosystem.peers import PeerSpec
from infra.swarm import torrents
from videos import VIDEOS_DIR
from infra.ecosystem.endpoints import SERVICE_FIELDS, Endpoints
from infra.ecosystem.providers import PROVIDERS, make_provider
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Client
from infra.suite.swarm_control import SwarmControl

pytestmark = pytest.mark.integration

#: What every provider runs by default (the optional third-party backends are not started here).
SERVICE_NAMES = [spec.name for spec in ecosystem.start_order()]
#: How long a frozen or cut-off service may still look healthy.
FAULT_VISIBLE_WITHIN = 10.0


def docker_engine_missing() -> str | None:
    """Why the docker provider cannot run here, or None when an engine answers."""
    try:
        import docker
    except ImportError:
        return "docker SDK not installed (pip install -r requirements.txt)"
    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # DockerException, requests errors, timeouts
        return (f"no Docker engine reachable ({type(exc).__name__}: {str(exc)[:200]}); "
                "start one with infra/ecosystem/docker/ensure-engine.sh (as root)")
    return None


@dataclass
class Eco:
    provider: Provider
    endpoints: Endpoints
    settings: Settings

    def service(self, name: str) -> Service:
        return self.provider.service(name)


@pytest.fixture(scope="module", params=sorted(PROVIDERS, key=lambda name: name != "local"))
def eco(request):
    name = request.param
    if name == "docker":
        reason = docker_engine_missing()
        if reason:
            pytest.skip(f"docker provider: {reason}")
    base = Path(tempfile.mkdtemp(prefix=f"swarmspec-contract-{name}-"))
    base.chmod(0o755)   # opentracker, started as root, drops to 'nobody' and reads the whitelist under it
    settings = Settings(run_dir=base / "run", reports_dir=base / "reports", stream_timeout=3.0,
                        metadata_timeout=3.0, start_timeout=30.0)
    provider = make_provider(name, settings, progress=False)
    try:
        yield Eco(provider, provider.up(), settings)
    finally:
        provider.down()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def healed(eco):
    """Whatever a test does to the services, they are healthy again afterwards."""
    yield
    for name in SERVICE_NAMES:
        eco.service(name).heal()


def health_url(eco: Eco, name: str) -> str:
    return eco.endpoints.url_of(name) + ecosystem.spec(name).host_health_path


def assert_healthy(eco: Eco, name: str) -> None:
    reply = requests.get(health_url(eco, name), timeout=5)
    assert reply.status_code == 200, f"{name}: {reply.status_code} {reply.text[:200]}"


def answers(eco: Eco, name: str) -> bool:
    try:
        return requests.get(health_url(eco, name), timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_until_unhealthy(eco: Eco, name: str, after: str) -> None:
    def probe() -> None:
        if answers(eco, name):
            raise NotReady(f"GET {health_url(eco, name)} still answers 200")

    Wait(service=name, what=f"its health check to fail after {after}", probe=probe,
         timeout=FAULT_VISIBLE_WITHIN, interval=0.1, log_tail=eco.service(name).log_tail).run()


def assert_back_on(eco: Eco, service: Service, url: str) -> None:
    """Running again, on the URL it had, and healthy there."""
    assert service.is_running() and service.url == url, f"{service.name}: {service.url} (was {url})"
    assert_healthy(eco, service.name)


def port_open(url: str) -> bool:
    where = urlsplit(url)
    return ports.is_listening(where.hostname, where.port)


# -- up ----------------------------------------------------------------------------------

def test_up_reports_complete_endpoints(eco):
    e = eco.endpoints
    assert e.provider == eco.provider.name and e.run_id and e.pid == os.getpid()
    for name in SERVICE_FIELDS:
        assert e.url_of(name).startswith("http://"), name
    assert e.tracker_announce.startswith("http") and e.tracker_announce.endswith("/announce")
    assert Path(e.credentials_file).is_file() and Path(e.catalog_file).is_file()
    assert Path(e.logs_dir) == eco.settings.logs_dir
    assert set(e.services) == set(SERVICE_NAMES)
    for name, info in e.services.items():
        assert info["url"] == e.url_of(name) and info["log"] == str(eco.settings.logs_dir / f"{name}.log"), name
    assert e.settings == eco.settings.service_timeouts()
    assert Endpoints(**e.__dict__) == e, "what is written to the endpoints file reads back the same"


def test_every_service_url_is_healthy(eco):
    for name in SERVICE_NAMES:
        assert_healthy(eco, name)


def test_the_provider_and_every_service_keep_the_contract(eco):
    assert isinstance(eco.provider, Provider)
    for name in SERVICE_NAMES:
        service = eco.service(name)
        assert isinstance(service, Service), name
        assert service.name == name and service.url == eco.endpoints.url_of(name)
        assert service.is_running(), name
        for fault in eco.provider.faults:
            for method in FAULT_METHODS[fault]:
                assert callable(getattr(service, method, None)), f"{name} lacks {method}() for {fault.value}"


def test_every_service_has_a_log_after_start(eco):
    for name in SERVICE_NAMES:
        assert eco.service(name).log_tail().strip(), f"{name}: empty log tail"


# -- stop and start ----------------------------------------------------------------------

def down_and_back(eco: Eco, service: Service, down, back) -> None:
    """`down()` stops the service and closes its port; `back()` brings it back where it was."""
    url = service.url
    down()
    assert not service.is_running(), f"{service.name} still running after {down.__name__}()"
    assert not port_open(url), f"{url} still accepts connections after {down.__name__}()"
    back()
    assert_back_on(eco, service, url)


def test_stop_closes_the_port_and_start_comes_back_on_the_same_url(eco, healed):
    service = eco.service("range_server")
    down_and_back(eco, service, service.stop, service.start)


# -- fresh torrents: the seeder's variants, admitted to the tracker by the provider ------

def test_a_fresh_variant_is_tracked_once_the_provider_admits_it(eco):
    """The seeder seeds the same bytes under a new info hash; the tracker (in whitelist mode)
    refuses it until the provider adds it to the whitelist the tracker reads, on the host or
    through the container's bind mount, and signals a reload."""
    swarm = SwarmControl(eco.endpoints, eco.provider)
    client = Client()
    try:
        small = next(t for t in swarm.torrents(client) if t["name"] == "test-small-720p")
        reply = requests.post(f"{eco.endpoints.seeder}/torrents/test-small-720p/variants", timeout=10)
        assert reply.status_code == 201, reply.text
        variant = reply.json()
        assert variant["variantOf"] == small["hash"] != variant["hash"]
        assert variant["magnetURI"].startswith(f"magnet:?xt=urn:btih:{variant['hash']}")
        assert (variant["size"], variant["files"]) == (small["size"], small["files"])
        assert swarm.seeders_known_to_tracker(client, variant["hash"]) == 0, "not whitelisted yet"
        eco.provider.admit([variant["hash"]])
        assert variant["hash"] in (eco.settings.run_dir / "whitelist.txt").read_text().split()
        swarm.set_seeding(client, variant["hash"], True)
        swarm.wait_until_tracker_knows(client, variant["hash"])
        swarm.remove_variant(variant["hash"])
        assert variant["hash"] not in {t["hash"] for t in swarm.torrents(client)}
        assert requests.get(eco.endpoints.seeder + "/health", timeout=5).status_code == 200
    finally:
        client.close()


def test_the_seeder_refuses_variants_it_cannot_make(eco):
    seeder = eco.endpoints.seeder
    assert requests.post(f"{seeder}/torrents/no-such-video/variants", timeout=5).status_code == 404
    assert requests.post(f"{seeder}/torrents/test-unseeded/variants", timeout=5).status_code == 409
    catalog_hash = requests.get(f"{seeder}/torrents", timeout=5).json()[0]["hash"]
    assert requests.delete(f"{seeder}/torrents/{catalog_hash}", timeout=5).status_code == 409
    assert requests.delete(f"{seeder}/torrents/{'0' * 40}", timeout=5).status_code == 404


# -- faults ------------------------------------------------------------------------------

def inject_kill(eco: Eco) -> None:
    service = faulty_service(eco.provider, "range_server", Fault.KILL)
    down_and_back(eco, service, service.kill, service.heal)


def inject_restart(eco: Eco) -> None:
    service = faulty_service(eco.provider, "backend", Fault.RESTART)
    url = service.url
    service.restart()
    assert_back_on(eco, service, url)


def inject_pause(eco: Eco) -> None:
    service = faulty_service(eco.provider, "range_server", Fault.PAUSE)
    for undo in (service.unpause, service.heal):
        service.pause()
        wait_until_unhealthy(eco, "range_server", "pause()")
        undo()
        assert_healthy(eco, "range_server")


def inject_disconnect(eco: Eco) -> None:
    seeder = faulty_service(eco.provider, "seeder", Fault.DISCONNECT)
    assert seeder.peer_endpoints(), "the seeder listens for peers on the swarm's network"
    for undo in (seeder.reconnect, seeder.heal):
        seeder.disconnect()
        assert seeder.peer_endpoints() == set(), "a cut-off seeder listens nowhere on the swarm's network"
        wait_until_unhealthy(eco, "seeder", "disconnect()")
        undo()
        assert_healthy(eco, "seeder")
        assert seeder.peer_endpoints(), "back on the swarm's network, the seeder listens for peers again"


INJECT = {Fault.KILL: inject_kill, Fault.RESTART: inject_restart, Fault.PAUSE: inject_pause,
          Fault.DISCONNECT: inject_disconnect}


@pytest.mark.parametrize("fault", list(Fault), ids=lambda fault: fault.value)
def test_a_declared_fault_heals_and_an_undeclared_one_is_refused(eco, healed, fault):
    if not eco.provider.supports(fault):
        with pytest.raises(FaultNotSupported, match=f"the {eco.provider.name} provider cannot {fault.value}"):
            eco.provider.require(fault)
        with pytest.raises(FaultNotSupported):
            faulty_service(eco.provider, "seeder", fault)
        return
    eco.provider.require(fault)
    INJECT[fault](eco)


def test_every_fault_has_an_injection_here():
    assert set(INJECT) == set(Fault) == set(FAULT_METHODS)


# -- down (last: it ends the module's ecosystem; the fixture's down() is then a no-op) ---

@pytest.mark.parametrize("capability", list(Capability), ids=lambda c: c.value)
def test_a_declared_capability_works_or_says_why_not(eco, capability):
    """Peers start on request, announce, give their status, take network conditions (by
    netem or the delay line) and are gone after stop_peer; a capability the provider cannot
    give here comes with a reason."""
    reason = eco.provider.why_not(capability)
    if reason:
        assert capability.value in reason
        pytest.skip(reason)
    entry = eco.provider.prepared.catalog.get("test-small-720p")
    variant = torrents.variant_file(VIDEOS_DIR / "torrents" / entry.torrent_file, f"contract-{capability.value}",
                                    eco.settings.run_dir / "variants")
    eco.provider.admit([variant.info_hash])
    peer = eco.provider.start_peer(PeerSpec("contract", variant.path, content_name=entry.content_path))
    try:
        assert isinstance(peer, PeerService) and peer.address
        status = requests.get(f"{peer.url}/status", timeout=5).json()
        assert status["infoHash"] == variant.info_hash and status["announced"]
        if capability is Capability.NETEM:
            assert peer.condition(NetworkConditions(latency_ms=20, loss_pct=1, rate_bytes=1_000_000)) in (
                "netem", "delay line")
            assert requests.get(f"{peer.url}/status", timeout=5).status_code == 200    # through the conditions
            peer.clear_conditions()
    finally:
        eco.provider.stop_peer("contract")
    assert not answers_at(peer.url), f"{peer.url} still answers after stop_peer"


def answers_at(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_down_stops_every_service_and_closes_every_port(eco):
    services = {name: eco.service(name) for name in SERVICE_NAMES}
    eco.provider.down()
    for name, service in services.items():
        assert not service.is_running(), f"{name} still running after down()"
        assert not port_open(eco.endpoints.url_of(name)), f"{name}: {service.url} still open after down()"
    eco.provider.down()   # idempotent
