"""infra.ecosystem.credentials: the admin credentials file the ecosystem writes before
the backend starts (mode 0600), and which of file and environment wins."""

from __future__ import annotations

import json
import stat

from infra.ecosystem import credentials
from infra.ecosystem.credentials import AdminLogin, load_or_create


def test_creates_a_private_file_and_reuses_it(tmp_path):
    path = tmp_path / "run" / "credentials.json"
    created = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert raw == {"email": created.email, "password": created.password}
    assert created.email == credentials.DEFAULT_EMAIL == "admin@swarmspec.test"
    assert len(created.password) >= 20
    assert load_or_create(path) == created                 # reused, not regenerated
    assert json.loads(path.read_text()) == raw
    assert not path.with_suffix(".tmp").exists()
    other = load_or_create(tmp_path / "other.json")
    assert other.password != created.password               # random per run dir


def test_env_provided_credentials_do_not_write_a_file_and_win(tmp_path):
    path = tmp_path / "credentials.json"
    assert load_or_create(path, "env@x.test", "from-env") == AdminLogin("env@x.test", "from-env")
    assert not path.exists()
    load_or_create(path)
    assert load_or_create(path, "env@x.test", "from-env") == AdminLogin("env@x.test", "from-env")


def test_email_alone_names_the_generated_admin(tmp_path):
    path = tmp_path / "c.json"
    said = []
    login = load_or_create(path, email="boss@x.test", warn=said.append)
    assert login.email == "boss@x.test"
    assert json.loads(path.read_text())["email"] == "boss@x.test"
    assert said == []
    assert load_or_create(path, email="boss@x.test", warn=said.append) == login
    assert len(said) == 1, "a variable set alone is said every time, even when the file agrees"
    assert "names the same admin" in said[0] and "password it holds" in said[0] and str(path) in said[0]


def test_email_alone_with_an_existing_file_warns_that_the_file_wins(tmp_path, capsys):
    path = tmp_path / "credentials.json"
    existing = load_or_create(path)
    login = load_or_create(path, email="boss@x.test")
    assert login == existing                                 # the file wins
    err = capsys.readouterr().err
    assert err.startswith("warning: SWARMSPEC_ADMIN_EMAIL=boss@x.test is set without SWARMSPEC_ADMIN_PASSWORD")
    assert str(path) in err and "the file wins" in err and existing.email in err


def test_a_stale_tmp_file_is_replaced_with_a_private_one(tmp_path):
    path = tmp_path / "credentials.json"
    path.with_suffix(".tmp").write_text("left over")
    path.with_suffix(".tmp").chmod(0o644)
    load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_half_set_pair_is_said_each_time(tmp_path):
    path = tmp_path / "credentials.json"
    said = []
    created = load_or_create(path, password="mine", warn=said.append)
    assert created.password != "mine"                        # a password alone is not used ...
    assert "SWARMSPEC_ADMIN_PASSWORD is set without SWARMSPEC_ADMIN_EMAIL" in said[-1]   # ... and that is said
    for _ in range(3):
        assert load_or_create(path, email="other@x.test", warn=said.append) == created
        assert load_or_create(path, password="mine", warn=said.append) == created
    assert len(said) == 1 + 6
    assert all("other@x.test" in s and "wins" in s for s in said[1::2])
    assert all("is ignored" in s for s in said[2::2])
    assert load_or_create(path, warn=said.append) == created and len(said) == 7   # nothing set: nothing said
