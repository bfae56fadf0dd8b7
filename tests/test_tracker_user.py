"""The tracker never changes its user under the local provider (a change of user clears
the parent-death signal): as root the provider starts it as nobody, and says clearly
when nobody cannot reach the whitelist."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from infra.ecosystem import local


def test_only_the_tracker_is_started_as_nobody_and_only_by_root():
    for service in ("seeder", "range_server", "backend", "webtorrent"):
        assert local.run_as(service) is None
    user = local.run_as("tracker")
    if os.geteuid() == 0:
        assert user is not None and user.pw_name == "nobody" and user.pw_uid != 0
    else:
        assert user is None


@pytest.fixture
def public_dir():
    """Under /tmp (pytest's own tmp dirs are 0700: nobody could reach anything there)."""
    path = Path(tempfile.mkdtemp(prefix="swarmspec-user-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unreachable_by_others_names_the_directory_in_the_way(public_dir):
    tmp_path = public_dir
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    (open_dir / "whitelist.txt").write_text("")
    (open_dir / "whitelist.txt").chmod(0o644)
    if local.unreachable_by_others(tmp_path) is not None:
        pytest.skip(f"{tmp_path} lies under a directory others cannot search")
    assert local.unreachable_by_others(open_dir / "whitelist.txt") is None
    (open_dir / "whitelist.txt").chmod(0o600)
    assert local.unreachable_by_others(open_dir / "whitelist.txt") == open_dir / "whitelist.txt"
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "whitelist.txt").write_text("")
    assert local.unreachable_by_others(closed / "whitelist.txt") == closed


def test_the_local_layout_never_lets_opentracker_see_root():
    assert local.LocalLayout.__dataclass_fields__["tracker_as_root"].default is False
