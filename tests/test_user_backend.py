"""Your backend inside the ecosystem (infra/ecosystem/user_backend.py): its environment
file, its options, and a real run under the local provider (a stand-in backend,
tests/fixtures/user_backend.py, told where the swarm is through its environment)."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest
import requests

from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.ecosystem.local import LocalProvider, ServiceFailed
from infra.ecosystem.user_backend import SWARM_VARIABLES, BackendConfigError, UserBackend, read_env_file
from infra.suite.targets import load_credentials, make_target, urls_of
from tests.test_local_provider import settings_in, world_readable_dir

FIXTURE = Path(__file__).parent / "fixtures" / "user_backend.py"
SWARM = {"SWARMSPEC_ANNOUNCE_URL": "http://t:1/announce", "SWARMSPEC_LISTEN_PORT": "4321"}


def env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backend.env"
    path.write_text(text)
    return path


def test_env_file_expands_swarm_variables_and_its_own_earlier_lines(tmp_path):
    path = env_file(tmp_path, "# comment\nPORT=${SWARMSPEC_LISTEN_PORT}\nTRACKERS=\"$SWARMSPEC_ANNOUNCE_URL\"\n"
                              "URL=http://127.0.0.1:${PORT}/x\nPLAIN=a b\n")
    assert read_env_file(path, SWARM) == {"PORT": "4321", "TRACKERS": "http://t:1/announce",
                                          "URL": "http://127.0.0.1:4321/x", "PLAIN": "a b"}


def test_env_file_refuses_a_name_it_cannot_expand_and_names_file_and_key(tmp_path):
    path = env_file(tmp_path, "HOME_DIR=${HOME}\n")
    with pytest.raises(BackendConfigError, match=r"backend\.env: HOME_DIR uses \$\{HOME\}, which is neither"):
        read_env_file(path, SWARM)


def test_env_file_that_does_not_exist_is_a_clear_error(tmp_path):
    with pytest.raises(BackendConfigError, match="no such file"):
        read_env_file(tmp_path / "missing.env", SWARM)


def test_options_describe_a_backend_or_none():
    assert UserBackend.from_settings(Settings()) is None
    backend = UserBackend.from_settings(Settings(backend_command="node 'my app/server.js' --x", backend_service="mine"))
    assert backend is not None and backend.name == "mine" and backend.command == ("node", "my app/server.js", "--x")
    assert backend.spec().optional and backend.spec().user is backend
    assert UserBackend.from_settings(Settings(backend_image="me/backend:1")).name == "user_backend"


@pytest.mark.parametrize("settings, problem", [
    (Settings(backend_env="x.env"), "without backend_command"),
    (Settings(backend_command="x", backend_service="Bad-Name"), "lower-case"),
    (Settings(backend_command="x", backend_health="health"), "starting with /"),
    (Settings(backend_command="x 'unclosed"), "backend_command"),
    (Settings(backend_command="x", backend_env="/nonexistent.env"), "no such file"),
])
def test_unusable_options_fail_before_anything_starts(settings, problem):
    with pytest.raises(BackendConfigError, match=problem):
        UserBackend.from_settings(settings)


def test_the_backend_cannot_take_the_name_of_one_of_our_services():
    with pytest.raises(KeyError, match="cannot be called 'seeder'"):
        ecosystem.start_order((), (UserBackend(name="seeder", command=("x",)).spec(),))


def test_every_swarm_variable_is_documented_and_given():
    class Layout:
        bind_host, run_id = "127.0.0.1", "r1"
        def port(self, service): return 7
        def url(self, service): return f"http://{service}:1"
        def announce_url(self): return "http://tracker:1/announce"
    given = UserBackend(admin_email="a@b.c", admin_password="pw").swarm_variables(Layout(), "/data")
    assert set(given) == set(SWARM_VARIABLES)
    assert given["SWARMSPEC_ANNOUNCE_URL_UDP"] == "udp://tracker:1/announce"
    assert given["SWARMSPEC_CATALOG_URL"] == "http://catalog_service:1"


@pytest.mark.integration
def test_a_backend_command_runs_inside_the_ecosystem_told_where_the_swarm_is(tmp_path):
    base = world_readable_dir("swarmspec-user-")
    env = env_file(tmp_path, "MY_TRACKER=${SWARMSPEC_ANNOUNCE_URL}\nMY_CATALOG=${SWARMSPEC_CATALOG_URL}/3\n")
    settings = dataclasses.replace(settings_in(base), backend_command=f"{sys.executable} {FIXTURE}",
                                   backend_env=str(env), backend_service="mine")
    provider = LocalProvider(settings, progress=False)
    try:
        endpoints = provider.up()
        mine = provider.service("mine")
        seen = requests.get(mine.url + "/env", timeout=5).json()
        assert seen["MY_TRACKER"] == seen["SWARMSPEC_ANNOUNCE_URL"] == endpoints.tracker_announce
        assert seen["MY_CATALOG"] == endpoints.services["catalog_service"]["url"] + "/3"
        assert seen["SWARMSPEC_LISTEN_PORT"] == mine.url.rsplit(":", 1)[1]
        assert seen["cwd"] == seen["SWARMSPEC_DATA_DIR"] and Path(seen["cwd"]).is_dir()
        assert seen["SWARMSPEC_ADMIN_EMAIL"] == load_credentials(endpoints.credentials_file, {})["email"]
        assert (settings.logs_dir / "mine.log").read_text().count("user backend starting") == 1
        # a target file naming the service reaches it as {base}
        target_file = tmp_path / "mine.toml"
        target_file.write_text('name = "mine"\nservice = "mine"\ncapabilities = ["playback"]\n'
                               '[stream]\nurl = "{base}/videos/{name}?catalog={services.catalog_service}"\n')
        target = make_target(str(target_file), urls_of(endpoints), {})
        assert target.base_url == mine.url and target.services == ("mine",)
        data_dir = Path(seen["SWARMSPEC_DATA_DIR"])
    finally:
        provider.down()
    assert not provider.service("mine").is_running()
    assert not data_dir.exists(), "the backend's state goes with the run"
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.integration
def test_a_backend_command_that_does_not_exist_is_named_with_its_service(tmp_path):
    base = world_readable_dir("swarmspec-user-")
    settings = dataclasses.replace(settings_in(base), backend_command="/nonexistent/backend --port 1",
                                   backend_service="mine")
    provider = LocalProvider(settings, progress=False)
    try:
        with pytest.raises(ServiceFailed, match=r"mine: cannot run '/nonexistent/backend'"):
            provider.up()
        assert all(not s.is_running() for s in provider.services.values())
    finally:
        provider.down()
        shutil.rmtree(base, ignore_errors=True)


def test_the_local_provider_refuses_an_image_with_the_reason(tmp_path):
    provider = LocalProvider(Settings(run_dir=tmp_path, backend_image="me/backend:1"), progress=False)
    with pytest.raises(BackendConfigError, match="local provider runs processes"):
        provider.up()
