"""The shipped targets under their former class names, for code that builds one by hand
(``ReferenceTarget(endpoints.backend, credentials)``) or names the class
in ``-D target=infra.suite.targets.reference:ReferenceTarget``. Both read the shipped
target files: the file is the one description of how the suite drives them."""

from __future__ import annotations

from typing import Mapping

from infra.ecosystem.clock import Clock
from infra.suite.targets import declarative
from infra.suite.targets.base import service_url
from infra.suite.targets.declared import DeclarativeTarget
from infra.suite.targets.registry import SHIPPED


class ReferenceTarget(DeclarativeTarget):
    """The reference backend's API: login, sources, stream tokens, metadata, torrents."""

    def __init__(self, base_url: str, credentials: Mapping[str, str], clock: Clock | None = None) -> None:
        super().__init__(declarative.load(SHIPPED["reference"]), {}, credentials, base_url=base_url, clock=clock)

    @classmethod
    def create(cls, urls: Mapping[str, str], credentials: Mapping[str, str],
               base_url: str | None = None) -> "ReferenceTarget":
        return cls(service_url("reference", ("backend",), urls, base_url), credentials)


class RangeServerTarget(DeclarativeTarget):
    """The plain range server (`/videos/<name>`): the oracle the features are checked against."""

    def __init__(self, base_url: str, clock: Clock | None = None) -> None:
        super().__init__(declarative.load(SHIPPED["range-server"]), {}, {}, base_url=base_url, clock=clock)

    @classmethod
    def create(cls, urls: Mapping[str, str], credentials: Mapping[str, str],
               base_url: str | None = None) -> "RangeServerTarget":
        return cls(service_url("range-server", ("range_server",), urls, base_url))
