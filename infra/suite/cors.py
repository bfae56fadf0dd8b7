"""Matchers for the CORS protocol (the Fetch standard): what a browser checks before it
lets a player on another origin read an answer or send a request with custom headers.

Header names are compared case-insensitively and lists may use any spacing, as browsers
do; `*` counts as a wildcard only where the Fetch standard allows it (not together with
credentials, and `Authorization` is never covered by `*` in Allow-Headers)."""

from __future__ import annotations

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description

from infra.suite.http import Exchange
from infra.suite.matchers import exchange_line


def _tokens(value: str | None) -> set[str]:
    return {token.strip().lower() for token in (value or "").split(",") if token.strip()}


class AllowsOrigin(BaseMatcher[Exchange]):
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def _problem(self, item: Exchange) -> str | None:
        allowed = item.header("Access-Control-Allow-Origin")
        if allowed is None:
            return "no Access-Control-Allow-Origin"
        if allowed.strip() not in ("*", self.origin):
            return f"Access-Control-Allow-Origin is {allowed!r}"
        if allowed.strip() == "*" and (item.header("Access-Control-Allow-Credentials") or "").strip() == "true":
            return "Access-Control-Allow-Origin '*' with Allow-Credentials 'true': browsers reject credentialed reads"
        return None

    def _matches(self, item: Exchange) -> bool:
        return self._problem(item) is None

    def describe_to(self, description: Description) -> None:
        description.append_text(f"an answer that {self.origin} may read (Access-Control-Allow-Origin)")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"{self._problem(item)} in {exchange_line(item)}")


def allows_origin(origin: str) -> AllowsOrigin:
    return AllowsOrigin(origin)


class Exposes(BaseMatcher[Exchange]):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def _missing(self, item: Exchange) -> list[str]:
        exposed = _tokens(item.header("Access-Control-Expose-Headers"))
        if "*" in exposed and (item.header("Access-Control-Allow-Credentials") or "").strip() != "true":
            return []
        return [name for name in self.names if name.lower() not in exposed]

    def _matches(self, item: Exchange) -> bool:
        return not self._missing(item)

    def describe_to(self, description: Description) -> None:
        description.append_text(f"Access-Control-Expose-Headers naming {', '.join(self.names)}")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        shown = item.header("Access-Control-Expose-Headers")
        description.append_text(f"{', '.join(self._missing(item))} not exposed (Access-Control-Expose-Headers: "
                                f"{shown!r}) in {exchange_line(item)}")


def exposes(*names: str) -> Exposes:
    return Exposes(names)


class AllowsPreflight(BaseMatcher[Exchange]):
    def __init__(self, origin: str, method: str, headers: tuple[str, ...]) -> None:
        self.origin, self.method, self.headers = origin, method, headers

    def _problem(self, item: Exchange) -> str | None:
        origin_problem = AllowsOrigin(self.origin)._problem(item)
        if origin_problem:
            return origin_problem
        methods = _tokens(item.header("Access-Control-Allow-Methods"))
        if methods and self.method.lower() not in methods and "*" not in methods and self.method != "GET":
            return f"Access-Control-Allow-Methods {item.header('Access-Control-Allow-Methods')!r}"
        allowed = _tokens(item.header("Access-Control-Allow-Headers"))
        missing = [h for h in self.headers
                   if h.lower() not in allowed and not ("*" in allowed and h.lower() != "authorization")]
        if missing:
            return (f"Access-Control-Allow-Headers {item.header('Access-Control-Allow-Headers')!r} "
                    f"does not allow {', '.join(missing)}")
        return None

    def _matches(self, item: Exchange) -> bool:
        return self._problem(item) is None

    def describe_to(self, description: Description) -> None:
        description.append_text(f"a preflight answer allowing {self.method} from {self.origin} with "
                                f"{', '.join(self.headers)}")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"{self._problem(item)} in {exchange_line(item)}")


def allows_preflight(origin: str, method: str, headers: tuple[str, ...]) -> AllowsPreflight:
    return AllowsPreflight(origin, method, headers)
