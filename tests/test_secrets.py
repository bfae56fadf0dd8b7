"""No secret in what a run leaves to read: behave runs the features that log in, use
stream tokens and forge tokens, with the suite's formatters, into a fresh reports
directory; then every file there (Allure results and attachments, JUnit XML, grades,
service logs) is searched for the run's admin password and for anything that looks
like a JWT (``eyJ``: the base64 of ``{"``, how every JWT, login or stream token, begins)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import PROJECT_ROOT
from tests.test_local_provider import world_readable_dir

pytestmark = pytest.mark.integration

FEATURES = ("features/auth.feature", "features/sources.feature")


@pytest.fixture(scope="module")
def run():
    base = world_readable_dir("swarmspec-secrets-")
    reports = base / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWARMSPEC_")}
    env.update(SWARMSPEC_RUN_DIR=str(base / "run"), SWARMSPEC_REPORTS_DIR=str(reports))
    argv = [sys.executable, "-m", "behave", "-f", "allure_behave.formatter:AllureFormatter",
            "-o", str(reports / "allure-results"), "-f", "progress", "--junit", "--junit-directory",
            str(reports / "junit"), *FEATURES]
    done = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    try:
        yield base, done
    finally:
        shutil.rmtree(base, ignore_errors=True)


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_the_run_passed_and_recorded_its_exchanges(run):
    base, done = run
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:]
    reports = base / "reports"
    texts = [p.read_text(errors="replace") for p in files_under(reports)]
    # the scan below is only worth something if the logins and tokens were recorded (redacted)
    assert any("/api/auth/login" in t for t in texts), "no login exchange was recorded"
    assert any("stream-token" in t for t in texts), "no stream-token exchange was recorded"
    assert any("<redacted>" in t for t in texts), "nothing was redacted: were the exchanges attached?"
    assert (reports / "logs" / "backend.log").stat().st_size > 0


def test_no_password_jwt_or_stream_token_in_reports_or_logs(run):
    base, _ = run
    password = json.loads((base / "run" / "credentials.json").read_text())["password"].encode()
    found = []
    for path in files_under(base / "reports"):
        data = path.read_bytes()
        for secret, name in ((password, "the admin password"), (b"eyJ", "a JWT")):
            at = data.find(secret)
            if at >= 0:
                found.append(f"{path.relative_to(base)}: {name} at byte {at}: {data[max(0, at - 60):at + 40]!r}")
    assert not found, "\n".join(found)
