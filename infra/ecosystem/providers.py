"""Which providers there are, and the one way to make one: `make_provider(name, settings)`.

Used by the CLI (`python -m infra up --provider NAME`), by the suite (`-D ecosystem=NAME`)
and by the contract tests. A provider's module is imported only when it is asked for (the
Docker provider needs the docker SDK)."""

from __future__ import annotations

from typing import Callable

from infra.config import Settings
from infra.ecosystem.contract import Provider


class UnknownProvider(ValueError):
    """No provider by that name; the message lists the ones there are."""


def _local(settings: Settings, progress: bool) -> Provider:
    from infra.ecosystem.local import LocalProvider

    return LocalProvider(settings, progress=progress)


def _docker(settings: Settings, progress: bool) -> Provider:
    from infra.ecosystem.docker.provider import DockerProvider

    return DockerProvider(settings, progress=progress)


#: Provider name -> how to make it.
PROVIDERS: dict[str, Callable[[Settings, bool], Provider]] = {"local": _local, "docker": _docker}


def make_provider(name: str, settings: Settings, progress: bool = True) -> Provider:
    """A provider that will run the ecosystem with these settings (nothing is started yet)."""
    try:
        make = PROVIDERS[name]
    except KeyError:
        raise UnknownProvider(f"unknown provider {name!r}: choose {' or '.join(PROVIDERS)}") from None
    return make(settings, progress)


def _docker_leftovers(settings: Settings) -> str | None:
    from infra.ecosystem.docker.provider import DockerProvider, DockerUnavailable

    try:
        DockerProvider.cleanup_stale(settings)
    except DockerUnavailable as exc:
        return f"no leftovers removed: {exc}"
    return None


#: Provider name -> how to remove what runs killed before their clean-up left behind.
LEFTOVERS: dict[str, Callable[[Settings], str | None]] = {"docker": _docker_leftovers}


def remove_leftovers(name: str, settings: Settings) -> str | None:
    """Remove what killed runs of this provider left behind (the docker provider: containers
    and networks whose owner process is gone). Returns why nothing could be removed, or None."""
    remove = LEFTOVERS.get(name)
    return remove(settings) if remove else None
