"""The bundled third-party backends under the docker provider, without an engine: what the
provider would create (commands, published ports, images) and what it refuses.

WebTorrent serves every torrent from one streaming port: fixed inside the container
(8081), published on 127.0.0.1 like the other services, and named by the stream URLs it
answers (--public-url). peerflix opens one port per torrent, chosen at random: nothing
can be published ahead, so the provider refuses it with the reason, before any engine is
asked for anything. The running case is in tests/test_docker_provider.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.ecosystem.docker import images, layout
from infra.ecosystem.docker.provider import DockerProvider, NotSupportedHere, refuse_unpublishable, start_waves

WEBTORRENT = ecosystem.spec("webtorrent")


def test_webtorrent_publishes_its_control_and_streaming_ports_on_loopback():
    assert layout.published_ports(WEBTORRENT) == ["8080/tcp", f"{layout.STREAM_CONTAINER_PORT}/tcp"]
    assert layout.port_bindings(WEBTORRENT, 41000, 41001) == {
        "8080/tcp": ("127.0.0.1", 41000), f"{layout.STREAM_CONTAINER_PORT}/tcp": ("127.0.0.1", 41001)}
    with pytest.raises(ValueError, match="needs a host port"):
        layout.port_bindings(WEBTORRENT, 41000)
    assert layout.published_ports(ecosystem.spec("backend")) == ["8080/tcp"]


def test_webtorrent_stream_urls_name_the_published_port(tmp_path):
    config = layout.container_config(WEBTORRENT, layout.DockerLayout("r1"), Settings(), {}, 41000, 41001)
    argv = config["entrypoint"]
    assert argv[:2] == ["node", "/app/infra/backends/webtorrent/server.js"]
    pairs = dict(zip(argv[2::2], argv[3::2]))
    assert pairs["--host"] == "0.0.0.0" and pairs["--port"] == "8080"
    assert pairs["--stream-port"] == str(layout.STREAM_CONTAINER_PORT)
    assert pairs["--public-url"] == "http://127.0.0.1:41001"
    assert pairs["--tracker"] == "http://tracker:6969/announce"
    assert config["ports"][f"{layout.STREAM_CONTAINER_PORT}/tcp"] == ("127.0.0.1", 41001)
    assert config["volumes"] == {}, "everything it runs is in its image"


def test_the_local_provider_lets_the_wrapper_name_its_own_address():
    class Local:
        node, bind_host, run_id = "node", "127.0.0.1", "r1"

        def port(self, service): return 9100
        def path(self, what): return "/repo/infra/backends"
        def announce_url(self): return "http://127.0.0.1:6969/announce"
        def stream_port(self, service): return 0
        def public_url(self, service): return ""

    argv = WEBTORRENT.command(Local())
    assert "--public-url" not in argv and argv[argv.index("--stream-port") + 1] == "0"


def test_the_provider_starts_the_optional_services_asked_for_after_the_tracker():
    waves = [[spec.name for spec in wave] for wave in start_waves(("webtorrent",))]
    assert "webtorrent" in waves[1] and "tracker" in waves[0]
    assert all("webtorrent" not in wave for wave in ([s.name for s in w] for w in start_waves()))


def test_peerflix_is_refused_with_the_reason_before_any_engine_is_asked(monkeypatch):
    refuse_unpublishable(("webtorrent",))
    with pytest.raises(NotSupportedHere, match="one HTTP port per torrent.*local provider"):
        refuse_unpublishable(("webtorrent", "peerflix"))

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine was asked for")

    monkeypatch.setattr("infra.ecosystem.docker.provider.ensure_engine", no_engine)
    with pytest.raises(NotSupportedHere, match="cannot run peerflix"):
        DockerProvider(Settings(extra_services="peerflix"), progress=False).up()


def test_an_image_of_a_node_backend_needs_its_node_modules_on_the_host(tmp_path):
    backend = tmp_path / "infra" / "backends" / "webtorrent"
    backend.mkdir(parents=True)
    (backend / "package.json").write_text("{}")
    with pytest.raises(images.ImageBuildFailed, match="install.sh"):
        images.require_node_modules("webtorrent", tmp_path)
    (backend / "node_modules").mkdir()
    images.require_node_modules("webtorrent", tmp_path)
    images.require_node_modules("seeder", tmp_path)   # not a node backend


def test_the_webtorrent_image_copies_the_installed_packages_and_only_infra():
    sources = images.copy_sources(images.dockerfile("webtorrent"))
    rel = {path.relative_to(images.PROJECT_ROOT).as_posix() for path in sources}
    assert "infra/backends/webtorrent/server.js" in rel
    assert "infra/backends/webtorrent/node_modules/webtorrent/package.json" in rel
    assert all(Path(r).parts[0] == "infra" for r in rel)
    text = images.dockerfile("webtorrent").read_text()
    assert "FROM ${RUNTIME_IMAGE}" in text and "nodejs" in text


def test_a_build_removes_only_superseded_tags_its_own_checkout_built(tmp_path):
    """Several checkouts share one engine: another checkout's image may be between its build
    and its containers, so it is not ours to remove."""
    class Image:
        def __init__(self, tags, checkout):
            self.tags, self.labels = tags, {images.LABEL_CHECKOUT: str(checkout)} if checkout else {}

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    role_images = [Image(["swarmspec/seeder:new", "swarmspec/seeder:latest"], ours),
                   Image(["swarmspec/seeder:old"], ours), Image(["swarmspec/seeder:other"], theirs),
                   Image(["swarmspec/seeder:unlabelled"], None)]
    assert images.superseded(role_images, "swarmspec/seeder:new", "swarmspec/seeder", ours) == ["swarmspec/seeder:old"]
