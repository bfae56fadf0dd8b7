"""Bad tokens for the access-control scenarios, each built from a real one so that only
the property under test is wrong."""

from __future__ import annotations

import base64
import json
import secrets
from infra.ecosystem import clock as clock_mod

import jwt


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(kind: str, real_token: str) -> str:
    header, payload, signature = real_token.split(".")
    claims = _payload(real_token)
    if kind == "a tampered token":
        claims["sub"] = "someone-else@swarmspec.test"
        return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    if kind == 'an unsigned "alg: none" token':
        none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{none_header}.{payload}."
    if kind == "a token signed with another key":
        return jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")
    if kind == "a garbage token":
        return "not-a-jwt"
    raise ValueError(f"unknown kind of bad token {kind!r}")


def wait_until_expired(token: str, clock=clock_mod.wall, sleep=clock_mod.sleep, limit: float = 30.0) -> None:
    """Sleep until the token's own `exp` has passed (plus a second). The wait is bounded:
    a token that lives longer than `limit` makes the step fail instead of hanging."""
    remaining = _payload(token)["exp"] - clock() + 1.0
    if remaining > limit:
        raise AssertionError(f"the stream token lives {remaining:.0f}s more; the suite waits at most {limit:g}s "
                             f"(set a shorter stream token lifetime for the run)")
    if remaining > 0:
        sleep(remaining)
