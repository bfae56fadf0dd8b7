"""The images: the runtime image comes from ``infra/ecosystem/docker/build-images.sh``;
each service role has a small image from ``infra/ecosystem/docker/Dockerfile.<role>``
built FROM it. The build context holds exactly the files the Dockerfile's COPY lines
name, and the tag is the content hash of Dockerfile + files + runtime image, so a warm
run builds nothing.

    python -m infra.ecosystem.docker build     # build the images, print their references
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import subprocess
import tarfile
from pathlib import Path
from typing import Callable

from infra import PROJECT_ROOT
from infra.ecosystem import clock
from infra.ecosystem import services as ecosystem
from infra.ecosystem.docker.engine import DOCKER_DIR, EXIT_NO_ENGINE, DockerUnavailable, say, sdk

BUILD_RUNTIME = DOCKER_DIR / "build-images.sh"
IMAGE_REPO = "swarmspec"
LABEL_CONTENT = "org.swarmspec.role.content-hash"
#: Which checkout built a role image: a build removes superseded tags of its own checkout
#: only, since other checkouts sharing the engine may be about to start containers of theirs.
LABEL_CHECKOUT = "org.swarmspec.checkout"
HOLD_REPO = "swarmspec-hold"              # swarmspec-hold/<role>:<run id>: an image a run is using (see hold)
HOLD_ATTEMPTS = 3

RUNTIME_BUILD_DEADLINE_S = 1800           # build-images.sh (debootstrap + wheels when cold)
ROLE_BUILD_DEADLINE_S = 300               # one service-role image


class ImageBuildFailed(RuntimeError):
    """An image could not be built; the message carries the build output's tail."""


def image_repo(spec: ecosystem.ServiceSpec) -> str:
    return f"{IMAGE_REPO}/{spec.image}"


def dockerfile(role: str) -> Path:
    """The Dockerfile of a service role (`ServiceSpec.image`)."""
    return DOCKER_DIR / f"Dockerfile.{role}"


def copy_sources(dockerfile_path: Path, root: Path = PROJECT_ROOT) -> list[Path]:
    """The files the Dockerfile's COPY lines take from the build context (globs, dirs)."""
    files: set[Path] = set()
    for line in dockerfile_path.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        for source in args[:-1]:
            matches = sorted(root.glob(source.rstrip("/"))) if any(c in source for c in "*?[") else [root / source]
            for match in matches:
                if match.is_dir():
                    files.update(p for p in match.rglob("*")
                                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
                elif match.is_file():
                    files.add(match)
                else:
                    raise ImageBuildFailed(f"{dockerfile_path.name}: COPY source {source!r} not found under {root}")
    return sorted(files)


def role_context(role: str, root: Path = PROJECT_ROOT) -> tuple[bytes, str]:
    """(tar of the build context, content hash) for a role's image: the Dockerfile at its
    repository path and exactly the files it copies."""
    path = dockerfile(role)
    files = [path, *copy_sources(path, root)]
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for file in files:
            rel = file.relative_to(root).as_posix()
            data = file.read_bytes()
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), digest.hexdigest()


def build_runtime_image(progress: bool = True) -> str:
    """infra/ecosystem/docker/build-images.sh: prints the runtime image reference on stdout."""
    try:
        proc = subprocess.run([str(BUILD_RUNTIME)], stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                              text=True, timeout=RUNTIME_BUILD_DEADLINE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ImageBuildFailed(f"{BUILD_RUNTIME.name} did not finish within {RUNTIME_BUILD_DEADLINE_S}s") from None
    if proc.returncode == EXIT_NO_ENGINE:
        raise DockerUnavailable(f"{BUILD_RUNTIME.name}: no Docker engine ({(proc.stderr or '').strip()[-300:]})")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise ImageBuildFailed(f"{BUILD_RUNTIME.name} failed (exit {proc.returncode}); "
                               f"log: .run/logs/build-images.log\n{(proc.stderr or '')[-2000:]}")
    return lines[-1].strip()


def build_role_image(client, role: str, runtime: str, progress: bool = True) -> str:
    """swarmspec/<role>:<content hash>, built unless it exists. Also tagged :latest (what
    docker-compose.yml names); superseded hash tags this checkout built are removed."""
    docker = sdk()
    runtime_id = client.images.get(runtime).id
    context, files_hash = role_context(role)
    tag = hashlib.sha256(f"{files_hash} {runtime_id}".encode()).hexdigest()[:12]
    repo = f"{IMAGE_REPO}/{role}"
    ref = f"{repo}:{tag}"
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        _build(client, role, ref, tag, context, runtime, progress)
    client.images.get(ref).tag(repo, "latest")
    for old in superseded(client.images.list(name=repo), ref, repo):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(old, noprune=False)
    return ref


def superseded(role_images, ref: str, repo: str, checkout: Path = PROJECT_ROOT) -> list[str]:
    """The tags of a role's images that `ref` supersedes: built by this checkout (another
    checkout's run on the same engine may be between its build and its containers), and
    neither `ref` nor :latest nor a run's hold (see `hold`)."""
    return [tag for image in role_images if (image.labels or {}).get(LABEL_CHECKOUT) == str(checkout)
            for tag in image.tags if tag not in (ref, f"{repo}:latest") and not tag.startswith(f"{HOLD_REPO}/")]


def hold(client, ref: str, run_id: str) -> str:
    """Tag the image `ref` names for this run too, and return that reference. Content tags
    are shared by every checkout on the engine, and a checkout's build removes the tags it
    superseded -- possibly one another checkout is about to build on or create containers
    from (seen: "No such image" between build and create). A removal of the content tag
    then only untags: the run's own tag keeps the image until the run is removed
    (`reaper.remove_run`). The hold lives in a repository of its own, which no build's
    clean-up lists, whatever version of it another checkout runs. ImageNotFound if the
    image is already gone."""
    repo = ref.rsplit(":", 1)[0]
    hold_repo = f"{HOLD_REPO}/{repo.rsplit('/', 1)[-1]}"
    client.images.get(ref).tag(hold_repo, run_id)
    return f"{hold_repo}:{run_id}"


def _held(client, build: Callable[[], str], run_id: str | None) -> str:
    """`build()`'s image, held for the run. An image removed between its build and the
    hold (another checkout's clean-up) is built again -- the build is what makes it exist,
    as a port somebody took is chosen again; after HOLD_ATTEMPTS the error says so."""
    ref = build()
    if run_id is None:
        return ref
    for attempt in range(1, HOLD_ATTEMPTS + 1):
        try:
            return hold(client, ref, run_id)
        except sdk().errors.ImageNotFound:
            if attempt == HOLD_ATTEMPTS:
                raise ImageBuildFailed(f"{ref} was removed between its build and this run's hold {HOLD_ATTEMPTS} "
                                       f"times (another checkout's build on this engine removes its superseded "
                                       f"tags)") from None
            ref = build()
    raise AssertionError("unreachable")


def _build(client, role: str, ref: str, tag: str, context: bytes, runtime: str, progress: bool) -> None:
    deadline = clock.deadline(ROLE_BUILD_DEADLINE_S)
    say(progress, f"building {ref} from {runtime}")
    output: list[str] = []
    builder = sdk().from_env(timeout=ROLE_BUILD_DEADLINE_S)   # one read may take long: a RUN step
    try:
        stream = builder.api.build(
            fileobj=io.BytesIO(context), custom_context=True,
            dockerfile=dockerfile(role).relative_to(PROJECT_ROOT).as_posix(), tag=ref,
            buildargs={"RUNTIME_IMAGE": runtime}, rm=True, forcerm=True, pull=False, decode=True,
            labels={LABEL_CONTENT: tag, "org.swarmspec.runtime": runtime, LABEL_CHECKOUT: str(PROJECT_ROOT)})
        for chunk in stream:
            if "stream" in chunk:
                output.append(chunk["stream"])
            if "error" in chunk:
                raise ImageBuildFailed(f"docker build of {ref} failed: {chunk['error']}\n{''.join(output)[-3000:]}")
            if deadline.expired():
                raise ImageBuildFailed(f"docker build of {ref} exceeded {ROLE_BUILD_DEADLINE_S}s "
                                       f"(closing the connection cancels it)\n{''.join(output)[-3000:]}")
    finally:
        builder.close()
    client.images.get(ref)   # ImageNotFound here means the build said nothing but made nothing
    say(progress, f"built {ref} in {deadline.elapsed():.1f}s")


def require_node_modules(role: str, root: Path = PROJECT_ROOT) -> None:
    """A role that copies a Node backend needs its node_modules installed on the host first:
    containers cannot reach the npm registry."""
    backend = root / "infra" / "backends" / role
    if (backend / "package.json").is_file() and not (backend / "node_modules").is_dir():
        raise ImageBuildFailed(f"{role}: {backend / 'node_modules'} is not installed on the host, and containers "
                               f"cannot reach npm: run bash infra/backends/{role}/install.sh (or bash infra/setup.sh)")


def build_images(client, progress: bool = True, extras: tuple[str, ...] = (),
                 run_id: str | None = None) -> dict[str, str]:
    """The runtime image (build-images.sh), then one image per service role the run needs:
    every service that is not optional, and the optional ones in `extras`. With `run_id`,
    each is held for the run (`hold`) and named by its hold."""
    runtime = _held(client, lambda: build_runtime_image(progress), run_id)
    roles = sorted({spec.image for spec in ecosystem.start_order(extras)})
    for role in roles:
        require_node_modules(role)
    return {role: _held(client, lambda role=role: build_role_image(client, role, runtime, progress), run_id)
            for role in roles}
