"""infra/ecosystem/docker/docker-compose.yml describes the same swarm as the Docker provider: the same
services, commands (ecosystem.start_order(): the services without the optional
third-party backends, with the provider's DockerLayout), images and
Dockerfiles, published ports, health checks, mounts and environment. No engine needed.

PyYAML is not a dependency of the project, so the compose file is read with the small
parser below (block mappings and sequences, flow sequences of quoted strings, scalars:
the subset the file uses). When PyYAML is importable, both readings must agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.ecosystem import services as ecosystem
from infra.config import Settings
from infra.ecosystem.prepare import Prepared
from infra.ecosystem.docker import images, layout

COMPOSE_FILE = PROJECT_ROOT / "infra" / "ecosystem" / "docker" / "docker-compose.yml"
COMPOSE_RUN_ID = "compose"
RUNTIME_LATEST = "swarmspec/runtime:latest"
#: What the compose file and the provider run: every service but the optional ones.
RUN = ecosystem.start_order()


# --------------------------------------------------------------------------- a tiny YAML reader

class YamlSubsetError(ValueError):
    pass


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text: str):
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)          # flow sequences hold JSON strings/numbers only
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~", ""):
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(indent, content) with comments and blank lines dropped and flow sequences that
    span lines joined."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if pending is not None:
            pending = (pending[0], pending[1] + " " + line.strip())
        else:
            pending = (len(line) - len(line.lstrip(" ")), line.strip())
        if pending[1].count("[") == pending[1].count("]"):
            out.append(pending)
            pending = None
    if pending is not None:
        raise YamlSubsetError(f"unclosed flow sequence: {pending[1][:60]}")
    return out


def parse_yaml_subset(text: str):
    lines = _logical_lines(text)

    def block(i: int, indent: int):
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(_scalar(lines[i][1][2:]))
                i += 1
            return items, i
        mapping = {}
        while i < len(lines) and lines[i][0] == indent:
            key, sep, rest = lines[i][1].partition(":")
            if not sep or (rest and not rest.startswith(" ")):
                raise YamlSubsetError(f"expected 'key: value', got {lines[i][1]!r}")
            key = _scalar(key)
            i += 1
            if rest.strip():
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    value, end = block(0, lines[0][0])
    if end != len(lines):
        raise YamlSubsetError(f"unexpected indentation at {lines[end][1]!r}")
    return value


def test_the_yaml_reader_reads_its_subset():
    text = """
# comment
a: 1            # trailing comment
b:
  c: "x # not a comment"
  d: [
      "p", "q"]
  e:
    - one
    - "two: 2"
f:
"""
    assert parse_yaml_subset(text) == {"a": 1, "b": {"c": "x # not a comment", "d": ["p", "q"],
                                                     "e": ["one", "two: 2"]}, "f": None}


# --------------------------------------------------------------------------- the compose file

@pytest.fixture(scope="module")
def compose() -> dict:
    text = COMPOSE_FILE.read_text()
    parsed = parse_yaml_subset(text)
    try:
        import yaml
    except ImportError:
        return parsed
    assert yaml.safe_load(text) == parsed, "the small YAML reader and PyYAML disagree"
    return parsed


def _expand_defaults(text: str) -> str:
    """${VAR:-default} -> default (what compose uses when VAR is unset)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return float(match[1]) * units[match[2]]


def test_version_is_one_debian_compose_reads(compose):
    assert compose["version"] in ("2.4", "3.7", "3.8"), compose["version"]


def test_same_services(compose):
    assert set(compose["services"]) == {spec.name for spec in RUN}


def test_the_optional_services_are_left_out_and_the_file_says_why():
    """The third-party backends are started by the provider only when judged; the compose
    file names each of them in the comment that says so."""
    header = COMPOSE_FILE.read_text().split("Left out on purpose:", 1)
    assert len(header) == 2, "the compose file must say which services it leaves out"
    said = header[1].split("\n\n", 1)[0]
    for spec in ecosystem.SERVICES:
        if spec.optional:
            assert spec.name in said, f"{spec.name}: optional, so left out of compose; the comment must name it"


@pytest.mark.parametrize("spec", RUN, ids=lambda s: s.name)
class TestService:
    def test_command(self, compose, spec):
        service = compose["services"][spec.name]
        assert service["entrypoint"] == spec.command(layout.DockerLayout(COMPOSE_RUN_ID))
        assert "command" not in service
        assert service["init"] is True, "PID 1 must forward SIGTERM (docker-init), as the provider's init=True"

    def test_image_and_dockerfile(self, compose, spec):
        service = compose["services"][spec.name]
        assert service["image"] == f"{images.image_repo(spec)}:latest"
        build = service["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == PROJECT_ROOT
        assert PROJECT_ROOT / build["dockerfile"] == images.dockerfile(spec.image)
        assert images.dockerfile(spec.image).is_file()
        assert build["args"] == {"RUNTIME_IMAGE": RUNTIME_LATEST}

    def test_published_ports(self, compose, spec):
        published = [_expand_defaults(p) for p in compose["services"][spec.name]["ports"]]
        container_ports = []
        for entry in published:
            host_ip, host_port, container_port = entry.split(":")
            assert host_ip == "127.0.0.1", f"{spec.name}: {entry} must be published on loopback only"
            assert host_port.isdigit()
            container_ports.append(container_port)
        assert container_ports == layout.published_ports(spec)

    def test_health_check(self, compose, spec):
        check = compose["services"][spec.name]["healthcheck"]
        assert check["test"] == layout.healthcheck_test(spec)
        assert spec.health_path in check["test"][-1]
        expected = layout.healthcheck(spec)
        assert _seconds(check["interval"]) == expected["interval"] / 1e9
        assert _seconds(check["timeout"]) == expected["timeout"] / 1e9
        assert check["retries"] == expected["retries"]

    def test_depends_on_healthy_dependencies(self, compose, spec):
        depends = compose["services"][spec.name].get("depends_on") or {}
        assert set(depends) == set(spec.depends_on)
        assert all(d == {"condition": "service_healthy"} for d in depends.values())

    def test_mounts(self, compose, spec, tmp_path):
        run_dir = PROJECT_ROOT / ".run"
        prepared = Prepared(run_dir=run_dir, media_dir=PROJECT_ROOT / "videos" / "media",
                            torrent_dir=PROJECT_ROOT / "videos" / "torrents", catalog_file=run_dir / "catalog.json",
                            whitelist=run_dir / "whitelist.txt", credentials_file=run_dir / "credentials.json",
                            catalog=None)
        paths = layout.host_paths(Settings(run_dir=run_dir), prepared, COMPOSE_RUN_ID)
        expected = {}
        for host, bind in layout.volumes(spec.name, paths).items():
            what = next(w for w in layout.MOUNTS[spec.name] if layout.CONTAINER_PATHS[w] == bind["bind"])
            expected[bind["bind"]] = (what, bind["mode"], Path(host))
        named_volumes = set(compose.get("volumes") or {})
        seen = {}
        for entry in compose["services"][spec.name]["volumes"]:
            host, container, mode = _expand_defaults(entry).split(":")
            seen[container] = mode
            what, want_mode, want_host = expected[container]
            assert mode == want_mode, f"{spec.name}: {container} is {mode}, the provider mounts it {want_mode}"
            if what in layout.WRITABLE:
                assert host in named_volumes, f"{spec.name}: {container} should be a named volume"
            elif what == "credentials":   # the provider mounts a per-run copy of the login in force
                assert (COMPOSE_FILE.parent / host).resolve() == prepared.credentials_file.resolve()
                assert want_host == layout.secret_credentials(Settings(run_dir=run_dir), COMPOSE_RUN_ID)
            else:
                assert (COMPOSE_FILE.parent / host).resolve() == want_host.resolve()
        assert set(seen) == set(expected)

    def test_environment(self, compose, spec):
        names = {e.split("=", 1)[0] for e in compose["services"][spec.name]["environment"]}
        assert names == set(layout.container_env(Settings()))
        assert not names & set(layout.SECRET_SETTINGS), "the admin login is a mounted file, never the environment"


def test_every_container_path_in_a_command_is_mounted():
    """What a service's command names under /srv/swarmspec is mounted into its container
    (the tracker's whitelist is named relative to its chroot, the whitelist's directory)."""
    docker_layout = layout.DockerLayout(COMPOSE_RUN_ID)
    for spec in RUN:
        mounted = {layout.CONTAINER_PATHS[w] for w in layout.MOUNTS[spec.name]}
        roots = mounted | {str(Path(m).parent) for m in mounted}
        for arg in spec.command(docker_layout):
            if arg.startswith("/srv/"):
                assert arg in roots, f"{spec.name}: {arg} is not mounted"


def test_dockerfiles_copy_what_exists_and_only_infra():
    for role in sorted({spec.image for spec in RUN}):
        sources = images.copy_sources(images.dockerfile(role))
        assert all(path.relative_to(PROJECT_ROOT).parts[0] == "infra" for path in sources), role
        text = images.dockerfile(role).read_text()
        assert "ARG RUNTIME_IMAGE" in text and "FROM ${RUNTIME_IMAGE}" in text, role
