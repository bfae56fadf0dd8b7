"""`-D target=...` to a target: a shipped name, a target file, or a Python class.

Names are for the backends this project ships (their target files live next to them);
any path ending in ``.toml`` is someone else's backend described the same way; and
``package.module:Class`` stays open for a backend no file can describe.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Mapping

from infra import PROJECT_ROOT
from infra.ecosystem.clock import Clock
from infra.ecosystem.endpoints import Endpoints
from infra.suite.targets import declarative
from infra.suite.targets.base import Target, TargetError
from infra.suite.targets.declared import DeclarativeTarget

#: The targets `-D target=<name>` knows, each described by its shipped file.
SHIPPED: dict[str, Path] = {
    "reference": PROJECT_ROOT / "infra" / "backends" / "reference" / "target.toml",
    "range-server": PROJECT_ROOT / "infra" / "swarm" / "range_server" / "target.toml",
    "webtorrent": PROJECT_ROOT / "infra" / "backends" / "webtorrent" / "target.toml",
    "webtorrent2": PROJECT_ROOT / "infra" / "backends" / "webtorrent2" / "target.toml",   # 2.8, Miauflix's engine
    "peerflix": PROJECT_ROOT / "infra" / "backends" / "peerflix" / "target.toml",
    "miauflix": PROJECT_ROOT / "infra" / "backends" / "miauflix" / "target.toml",   # needs your checkout
}


def make_target(name: str, urls: Mapping[str, str] | str, *rest: object, base_url: str | None = None,
                clock: Clock | None = None) -> Target:
    """The target `name` names: ``make_target(name, urls, credentials, base_url=...)``.

    `urls` maps ecosystem service names to base URLs (`urls_of(endpoints)`); `base_url`
    (``-D backend_url``) replaces the target's ``{base}``. The former call
    ``make_target(name, backend_url, range_server_url, credentials)`` still works."""
    if isinstance(urls, str):
        if len(rest) != 2:
            raise TypeError("make_target(name, backend_url, range_server_url, credentials) takes four arguments")
        urls, credentials = {"backend": urls, "range_server": str(rest[0])}, rest[1]
    elif len(rest) == 1:
        credentials = rest[0]
    else:
        raise TypeError("make_target(name, urls, credentials, base_url=None) takes three arguments")
    credentials = dict(credentials or {})
    if ":" in name and not name.endswith(".toml"):
        return _python_target(name, urls, credentials, base_url)
    if name in SHIPPED:
        path = SHIPPED[name]
    elif name.endswith(".toml"):
        path = Path(name)
    else:
        raise ValueError(f"unknown target {name!r}: choose {', '.join(SHIPPED)}, a target file (*.toml) "
                         "or package.module:Class")
    return DeclarativeTarget(declarative.load(path), urls, credentials, base_url=base_url, clock=clock)


def _python_target(name: str, urls: Mapping[str, str], credentials: dict[str, str], base_url: str | None) -> Target:
    module_name, _, class_name = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"target {name!r}: cannot import {class_name} from {module_name}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Target)):
        raise ValueError(f"target {name!r} is not a subclass of infra.suite.targets.Target")
    target = cls.create(urls, credentials, base_url)
    if not isinstance(target, Target):
        raise TargetError(f"target {name!r}: {class_name}.create returned {target!r}, not a Target")
    return target


def optional_services(target: str) -> tuple[str, ...]:
    """The optional ecosystem services (bundled third-party backends) the target is, so
    the ecosystem starts them only when that target is judged."""
    from infra.ecosystem import services as ecosystem_services

    path = SHIPPED.get(target) or (Path(target) if target.endswith(".toml") else None)
    service = declarative.load(path).service if path else None
    return (service,) if service in {s.name for s in ecosystem_services.SERVICES if s.optional} else ()


def urls_of(endpoints: Endpoints) -> dict[str, str]:
    """Service name -> base URL of a running ecosystem: every service it lists with a URL
    (webtorrent, peerflix... when it runs them), the backend and the range server always."""
    urls = {name: info["url"] for name, info in (endpoints.services or {}).items()
            if isinstance(info, dict) and info.get("url")}
    return {**urls, "backend": endpoints.backend, "range_server": endpoints.range_server}


def load_credentials(path: str | Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The admin credentials: SWARMSPEC_ADMIN_EMAIL/PASSWORD, else the ecosystem's credentials file."""
    email, password = environ.get("SWARMSPEC_ADMIN_EMAIL"), environ.get("SWARMSPEC_ADMIN_PASSWORD")
    if email and password:
        return {"email": email, "password": password}
    return json.loads(Path(path).read_text())
