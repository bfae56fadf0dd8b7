"""The Docker engine: the SDK client (every call with an explicit timeout) and making sure
an engine answers (``ensure-engine.sh`` installs and starts one as root; exit 3 = none
here and no way to start one)."""

from __future__ import annotations

import subprocess
import sys

from infra import PROJECT_ROOT

DOCKER_DIR = PROJECT_ROOT / "infra" / "ecosystem" / "docker"
ENSURE_ENGINE = DOCKER_DIR / "ensure-engine.sh"
EXIT_NO_ENGINE = 3

API_TIMEOUT_S = 30                        # every SDK call (docker stop adds its own timeout)
ENGINE_DEADLINE_S = 180                   # ensure-engine.sh (apt + dockerd start when cold)


class DockerUnavailable(RuntimeError):
    """No Docker engine can be reached or started here; the message says how to get one."""


def say(enabled: bool, message: str) -> None:
    """A progress line on stderr."""
    if enabled:
        print(f"[docker] {message}", file=sys.stderr, flush=True)


def sdk():
    """The docker SDK module, or DockerUnavailable."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is in requirements.txt
        raise DockerUnavailable("the docker SDK is not installed: pip install -r requirements.txt") from exc
    return docker


def connect(timeout: float = API_TIMEOUT_S):
    """A docker client with an explicit timeout, or DockerUnavailable."""
    docker = sdk()
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
        return client
    except Exception as exc:  # DockerException, requests errors
        raise DockerUnavailable(f"no Docker engine answers ({type(exc).__name__}: {str(exc)[:200]}); "
                                f"start one with `sudo {ENSURE_ENGINE.relative_to(PROJECT_ROOT)}`, "
                                "or install Docker and join the docker group") from None


def ensure_engine(progress: bool = True) -> None:
    """Run ensure-engine.sh: exit 3 means no engine here and no way to start one."""
    try:
        proc = subprocess.run([str(ENSURE_ENGINE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=ENGINE_DEADLINE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DockerUnavailable(f"{ENSURE_ENGINE.name} did not finish within {ENGINE_DEADLINE_S}s") from None
    if proc.returncode == EXIT_NO_ENGINE:
        raise DockerUnavailable("no Docker engine: " + (proc.stderr.strip()[-600:] or "ensure-engine.sh exited 3")
                                + f"\n  get one: run `sudo {ENSURE_ENGINE.relative_to(PROJECT_ROOT)}` (installs "
                                "Debian's docker.io and starts dockerd), or install Docker and add yourself to "
                                "the docker group; or use the local provider (-D ecosystem=local)")
    if proc.returncode != 0:
        raise DockerUnavailable(f"{ENSURE_ENGINE.name} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    if progress and proc.stderr.strip():
        print(proc.stderr.rstrip(), file=sys.stderr, flush=True)
