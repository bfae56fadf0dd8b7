"""The backend's admin credentials file, `<run_dir>/credentials.json` (mode 0600).

The ecosystem writes it before the first service starts; the reference backend and the
suite only read it. SWARMSPEC_ADMIN_EMAIL and SWARMSPEC_ADMIN_PASSWORD together win over
the file (and no file is written); the email alone names the admin of a new file, but an
existing file wins over it. That is said on stderr every time it happens (whether or not
the file names the same admin, and for a password set alone too), so nobody wonders why
their variable did not count.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Callable, NamedTuple

DEFAULT_EMAIL = "admin@swarmspec.test"


class AdminLogin(NamedTuple):
    email: str
    password: str


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def load_or_create(path: Path, email: str = "", password: str = "",
                   warn: Callable[[str], None] = _warn) -> AdminLogin:
    """Explicit email and password win; otherwise the file, created with a random password."""
    if email and password:
        return AdminLogin(email, password)
    if path.exists():
        raw = json.loads(path.read_text())
        login = AdminLogin(raw["email"], raw["password"])
        if email or password:
            warn(_half_set(path, login, email))
        return login
    login = AdminLogin(email or DEFAULT_EMAIL, secrets.token_urlsafe(18))
    if password:
        warn(f"SWARMSPEC_ADMIN_PASSWORD is set without SWARMSPEC_ADMIN_EMAIL: it is ignored; {path} is "
             f"written with a generated password for {login.email} (set both variables to use yours)")
    write(path, login)
    return login


def _half_set(path: Path, login: AdminLogin, email: str) -> str:
    """What to say when one variable of the pair is set and the credentials file exists."""
    if not email:
        return (f"SWARMSPEC_ADMIN_PASSWORD is set without SWARMSPEC_ADMIN_EMAIL and {path} exists: the variable "
                f"is ignored, the file's password for {login.email} is used (set both variables to use yours)")
    which = ("names the same admin" if email == login.email
             else f"wins: the admin is {login.email}, not {email}")
    return (f"SWARMSPEC_ADMIN_EMAIL={email} is set without SWARMSPEC_ADMIN_PASSWORD and {path} exists: the file "
            f"{which}, with the password it holds (set both variables, or delete the file to generate one "
            f"for {email})")


def write(path: Path, login: AdminLogin) -> None:
    """Atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps({"email": login.email, "password": login.password}))
    tmp.replace(path)
