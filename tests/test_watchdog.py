"""infra.ecosystem.watchdog: the owner's death (end of its pipe) stops what it was told
about; a release leaves everything alone. The whole thing, killed owners included, is
exercised by tests/test_kill_points.py; these are the two outcomes on their own."""

from __future__ import annotations

import subprocess
import sys

from infra.ecosystem.watchdog import Watchdog


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_when_the_owner_goes_without_a_word_everything_it_named_is_removed(tmp_path):
    victim, directory, stray = sleeper(), tmp_path / "run-state", tmp_path / "endpoints.json"
    directory.mkdir()
    (directory / "db").write_text("x")
    stray.write_text("{}")
    dog = Watchdog("t1", 2.0, tmp_path / "logs" / "watchdog.log", tmp_path)
    dog.group(victim.pid)
    dog.path(directory)
    dog.path(stray)
    dog.hand_over()                              # as the kernel does when the owner dies
    assert dog.process.wait(15) == 0
    assert victim.wait(5) is not None            # SIGTERMed
    assert not directory.exists() and not stray.exists()
    assert "gone without cleaning up" in (tmp_path / "logs" / "watchdog.log").read_text()


def test_a_released_watchdog_touches_nothing(tmp_path):
    victim, directory = sleeper(), tmp_path / "kept"
    directory.mkdir()
    try:
        dog = Watchdog("t2", 2.0, tmp_path / "watchdog.log", tmp_path)
        dog.group(victim.pid)
        dog.path(directory)
        dog.release()
        assert dog.process.returncode == 0
        assert victim.poll() is None and directory.exists()
    finally:
        victim.kill()
        victim.wait(5)
