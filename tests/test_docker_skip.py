"""Docker runs without an engine skip with the reason (infra/ecosystem/docker/engine-or-skip.sh,
used by infra/run-docker-suite.sh and `infra/run-matrix.sh --ecosystem docker`): exit 3
and one "SKIPPED:" line, which the callers turn into exit 0; a failed engine start is an
error, not a skip. ensure-engine.sh is replaced by a stand-in beside a copy of the script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "infra" / "ecosystem" / "docker" / "engine-or-skip.sh"


def run_with_engine_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    shutil.copy(SCRIPT, tmp_path / SCRIPT.name)
    fake = tmp_path / "ensure-engine.sh"
    fake.write_text("#!/usr/bin/env bash\n" + body + "\n")
    fake.chmod(0o755)
    return subprocess.run(["bash", str(tmp_path / SCRIPT.name), "the docker matrix"], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("body, status, stdout", [
    ("exit 0", 0, ""),
    ("echo '[ensure-engine] no Docker engine reachable and not root: ask an admin' >&2; exit 3", 3,
     "SKIPPED: the docker matrix needs a Docker engine: no Docker engine reachable and not root: ask an admin\n"),
    ("exit 3", 3, "SKIPPED: the docker matrix needs a Docker engine: none answers and none can be started here "
                  "(not root)\n"),
    ("echo 'dockerd did not come up' >&2; exit 1", 1, ""),
])
def test_an_engine_a_skip_with_the_reason_or_an_error(tmp_path, body, status, stdout):
    done = run_with_engine_script(tmp_path, body)
    assert (done.returncode, done.stdout) == (status, stdout), done.stderr
    if status == 1:
        assert "ensure-engine.sh failed (exit 1)" in done.stderr and "dockerd did not come up" in done.stderr


def test_the_docker_runs_use_it():
    for script in ("run-docker-suite.sh", "run-matrix.sh"):
        assert "infra/ecosystem/docker/engine-or-skip.sh" in (PROJECT_ROOT / "infra" / script).read_text(), script
