"""infra.config: SWARMSPEC_* variables, their types, and the generated documentation."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from infra.config import ConfigError, Settings, describe, env_name


def test_defaults():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.run_dir == PROJECT_ROOT / ".run"
    assert s.reports_dir == PROJECT_ROOT / "reports"
    assert s.logs_dir == PROJECT_ROOT / "reports" / "logs"
    assert s.host == "127.0.0.1"
    assert s.start_timeout == 30.0 and s.stop_timeout == 5.0
    assert s.stream_timeout == 3.0 and s.metadata_timeout == 3.0
    assert s.idle_timeout == 3.0 and s.stream_token_ttl == 300.0
    assert s.upload_rate_limit == 0
    assert s.admin_email == "" and s.admin_password == ""
    assert s.provider == "local"


def test_env_overrides_are_typed(tmp_path):
    s = Settings.from_env({
        "SWARMSPEC_RUN_DIR": str(tmp_path / "run"),
        "SWARMSPEC_REPORTS_DIR": str(tmp_path / "a" / ".." / "reports"),
        "SWARMSPEC_START_TIMEOUT": "12.5",
        "SWARMSPEC_STREAM_TIMEOUT": "2",
        "SWARMSPEC_UPLOAD_RATE_LIMIT": "65536",
        "SWARMSPEC_ADMIN_EMAIL": "me@example.test",
        "SWARMSPEC_PROVIDER": "docker",
        "UNRELATED": "ignored",
    })
    assert s.run_dir == (tmp_path / "run").resolve()
    assert isinstance(s.run_dir, Path)
    assert s.reports_dir == (tmp_path / "reports").resolve()      # normalised
    assert s.logs_dir == (tmp_path / "reports" / "logs").resolve()
    assert s.start_timeout == 12.5 and isinstance(s.start_timeout, float)
    assert s.stream_timeout == 2.0 and isinstance(s.stream_timeout, float)
    assert s.upload_rate_limit == 65536 and isinstance(s.upload_rate_limit, int)
    assert s.admin_email == "me@example.test"
    assert s.provider == "docker"
    assert s.stop_timeout == Settings().stop_timeout          # untouched fields keep defaults


def test_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({"SWARMSPEC_RUN_DIR": "~/swarm"}).run_dir == (tmp_path / "swarm").resolve()


def test_empty_value_means_default():
    assert Settings.from_env({"SWARMSPEC_START_TIMEOUT": "", "SWARMSPEC_HOST": ""}) == Settings()


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("SWARMSPEC_IDLE_TIMEOUT", "7")
    assert Settings.from_env().idle_timeout == 7.0


@pytest.mark.parametrize(("variable", "value"), [
    ("SWARMSPEC_START_TIMEOUT", "soon"),
    ("SWARMSPEC_STREAM_TIMEOUT", "4s"),
    ("SWARMSPEC_UPLOAD_RATE_LIMIT", "1.5"),
    ("SWARMSPEC_UPLOAD_RATE_LIMIT", "1MB"),
])
def test_bad_number_names_the_variable(variable, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert variable in str(info.value)
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_describe_has_a_documented_row_per_field():
    rows = describe()
    assert [r[0] for r in rows] == [env_name(f.name) for f in fields(Settings)]
    for variable, default, doc in rows:
        assert variable.startswith("SWARMSPEC_")
        assert doc.strip(), f"{variable} has no documentation comment"
    docs = {r[0]: r[2] for r in rows}
    assert len(set(docs.values())) == len(docs)        # each row has its own text
    defaults = {r[0]: r[1] for r in rows}
    assert defaults["SWARMSPEC_RUN_DIR"] == ".run"     # relative to the project, not this machine's path
    assert defaults["SWARMSPEC_REPORTS_DIR"] == "reports"
    assert defaults["SWARMSPEC_START_TIMEOUT"] == "30.0"
    assert "upload rate" in docs["SWARMSPEC_UPLOAD_RATE_LIMIT"].lower()


def test_as_env_round_trips(tmp_path):
    original = Settings(
        run_dir=(tmp_path / "run").resolve(), reports_dir=(tmp_path / "rep").resolve(), host="127.0.0.2",
        start_timeout=1.25, stop_timeout=0.5, stream_timeout=3.0, metadata_timeout=2.5, idle_timeout=9.0,
        token_ttl=60.0, stream_token_ttl=30.0, admin_email="a@b.test", admin_password="p w=d",
        upload_rate_limit=12345, provider="docker",
    )
    env = original.as_env()
    assert set(env) == {env_name(f.name) for f in fields(Settings)}
    assert all(isinstance(v, str) for v in env.values())
    assert Settings.from_env(env) == original
    assert Settings.from_env(Settings().as_env()) == Settings()
