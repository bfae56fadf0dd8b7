"""Authentication: admin login, API JWTs and short-lived stream tokens (PyJWT, HS256).

API tokens carry ``aud=swarmspec-api``; stream tokens carry ``aud=swarmspec-stream``
and the one source (and info hash) they open, because a ``<video>`` element cannot send
an Authorization header and must put a token in the URL instead. ``algorithms`` is
pinned, so ``alg: none`` and algorithm confusion are rejected by PyJWT itself.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jwt

from infra.ecosystem import clock as clocks

API_AUDIENCE = "swarmspec-api"
STREAM_AUDIENCE = "swarmspec-stream"
ALGORITHM = "HS256"


class Unauthorized(Exception):
    pass


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str

    @classmethod
    def load(cls, path: Path, email: str = "", password: str = "") -> "Credentials":
        """Explicit values win; otherwise the credentials file, which whoever starts the
        backend writes first (the ecosystem: infra/ecosystem/credentials.py)."""
        if email and password:
            return cls(email, password)
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no admin credentials file at {path}: write {{\"email\": ..., \"password\": ...}} "
                                    "there (mode 0600) or set SWARMSPEC_ADMIN_EMAIL and SWARMSPEC_ADMIN_PASSWORD") from None
        return cls(raw["email"], raw["password"])

    def check(self, email: object, password: object) -> bool:
        if not isinstance(email, str) or not isinstance(password, str):
            return False
        # surrogatepass: JSON may carry lone surrogates; they simply do not match
        ok_email = hmac.compare_digest(email.encode(errors="surrogatepass"), self.email.encode())
        ok_password = hmac.compare_digest(password.encode(errors="surrogatepass"), self.password.encode())
        return ok_email and ok_password


class TokenIssuer:
    def __init__(self, secret: bytes, api_ttl: float, stream_ttl: float,
                 clock: Callable[[], float] = clocks.wall) -> None:
        self.secret = secret
        self.api_ttl = api_ttl
        self.stream_ttl = stream_ttl
        self.clock = clock

    @classmethod
    def from_dir(cls, data_dir: Path, api_ttl: float, stream_ttl: float) -> "TokenIssuer":
        """The signing key persists in the data dir, so tokens outlive a restart."""
        path = data_dir / "jwt-secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_bytes(secrets.token_bytes(32))
        return cls(path.read_bytes(), api_ttl, stream_ttl)

    def api_token(self, subject: str) -> str:
        now = int(self.clock())
        return jwt.encode({"sub": subject, "aud": API_AUDIENCE, "iat": now, "exp": now + int(self.api_ttl)},
                          self.secret, algorithm=ALGORITHM)

    def stream_token(self, source_id: str, info_hash: str, lifetime: float | None = None) -> tuple[str, int]:
        """A token for one source and its lifetime: the configured one, or shorter if asked."""
        ttl = int(self.stream_ttl if lifetime is None else max(1, min(lifetime, self.stream_ttl)))
        now = int(self.clock())
        token = jwt.encode({"sub": source_id, "ih": info_hash, "aud": STREAM_AUDIENCE, "iat": now,
                            "exp": now + ttl}, self.secret, algorithm=ALGORITHM)
        return token, ttl

    def verify(self, token: str, audience: str) -> dict:
        try:
            return jwt.decode(token, self.secret, algorithms=[ALGORITHM], audience=audience,
                              options={"require": ["exp", "iat", "sub", "aud"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
