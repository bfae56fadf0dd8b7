"""Providers run the ecosystem: `local` (subprocesses on 127.0.0.1) and `docker`."""

from __future__ import annotations

from typing import Protocol

from infra.ecosystem.endpoints import Endpoints


class ServiceHandle(Protocol):
    """What the suite may do to one running service."""

    name: str
    url: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def restart(self) -> None: ...
    def is_running(self) -> bool: ...
    def log_tail(self, lines: int = 40) -> str: ...


class Provider(Protocol):
    name: str

    def up(self) -> Endpoints: ...
    def down(self) -> None: ...
    def service(self, name: str) -> ServiceHandle: ...
