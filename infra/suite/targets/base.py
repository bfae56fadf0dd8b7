"""What the steps and hooks may ask of a target, whatever drives it (a TOML file or a
Python class): the system under test seen through the suite's vocabulary.

The reference-only operations (sources, stream tokens, metadata, torrents) are part of
this interface too, so a step can call them on any target; a target that does not
implement one raises `Unimplemented`, and capabilities (``@needs.<name>`` tags) keep
such scenarios from running there in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef

#: Every capability a scenario may need (``@needs.<capability>`` in features/).
ALL_CAPABILITIES = frozenset({
    "playback", "seeking", "ranges", "sources", "auth", "torrents", "metadata", "lifecycle", "concurrency",
    "performance", "fresh-torrents", "file-choice", "subtitle-files", "large-files",
})


class TargetError(RuntimeError):
    """The target did not do what the suite needs to set up a scenario."""


class Unimplemented(TargetError):
    """The target does not declare the operation a step asked for."""


@dataclass
class OperationResult:
    """What an operation gives back: values already parsed, never raw JSON to pick apart.

    `exchange` is the last answer (None for a flow without HTTP steps), `values` what the
    flow captured, `result` the operation's declared result, `ok` whether every step got
    an expected status (False only when the caller asked not to raise)."""

    exchange: Exchange | None
    values: dict[str, object] = field(default_factory=dict)
    result: object = None
    ok: bool = True
    problem: str = ""


def service_url(target: str, services: tuple[str, ...], urls: Mapping[str, str], base_url: str | None) -> str:
    """The base URL of a target: `base_url` (``-D backend_url``) wins, else its first service's."""
    if base_url:
        return base_url
    for name in services:
        if urls.get(name):
            return urls[name]
    known = ", ".join(sorted(name for name, url in urls.items() if url)) or "none"
    raise TargetError(f"target {target!r} is the ecosystem service {' or '.join(services) or '(none)'}, which this "
                      f"ecosystem does not run (it runs: {known}); start it or pass -D backend_url=URL")


class Target:
    """A system under test. Subclasses set `name`, `capabilities`, `services` and implement
    `stream_url`; everything else is optional and raises `Unimplemented` by default."""

    name = "abstract"
    capabilities: frozenset[str] = frozenset()
    services: tuple[str, ...] = ()            # the ecosystem services that are the system under test
    default_contract = "strict"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    @classmethod
    def create(cls, urls: Mapping[str, str], credentials: Mapping[str, str], base_url: str | None = None) -> "Target":
        """How `make_target` builds a Python target (``-D target=package.module:Class``):
        the base URL of its first service. Override to take credentials."""
        return cls(service_url(cls.name, cls.services, urls, base_url))

    def missing(self, needs: set[str]) -> set[str]:
        return set(needs) - set(self.capabilities)

    def stream_url(self, client: Client, video: VideoRef) -> str:
        raise NotImplementedError

    def forget_streams(self) -> None:
        """Forget the stream URLs obtained so far (a restarted backend may not know them)."""

    def auth_headers(self, client: Client) -> dict[str, str]:
        """Headers every request of a viewer carries (credentials for the stream URL)."""
        return {}

    # -- operations of targets that have them (the reference backend's API) ---------------

    def _unimplemented(self, what: str) -> Unimplemented:
        return Unimplemented(f"target {self.name!r} does not implement {what}")

    def operation(self, name: str, client: Client, **variables: object) -> OperationResult:
        raise self._unimplemented(f"the operation {name!r}")

    def login(self, client: Client, email: str | None = None, password: str | None = None) -> Exchange:
        raise self._unimplemented("login")

    def token(self, client: Client) -> str:
        raise self._unimplemented("token (a login that captures `token`)")

    def create_source(self, client: Client, magnet: str, **fields: object) -> Exchange:
        raise self._unimplemented("create_source")

    def get_source(self, client: Client, source_id: str) -> Exchange:
        raise self._unimplemented("get_source")

    def source_id(self, client: Client, video: VideoRef) -> str:
        raise self._unimplemented("source_id (a stream key)")

    def stream_url_for(self, key: str) -> str:
        raise self._unimplemented("stream_url_for (a stream URL built from a key)")

    def stream_token(self, client: Client, source_id: str, lifetime: float | None = None) -> str:
        raise self._unimplemented("stream_token")

    def metadata(self, client: Client, magnet: str) -> Exchange:
        raise self._unimplemented("metadata")

    def active_torrents(self, client: Client, record: bool = False) -> list[dict]:
        raise self._unimplemented("active_torrents")
