"""The backend's admin credentials file, `<run_dir>/credentials.json` (mode 0600).

The ecosystem writes it before the first service starts; the reference backend and the
suite only read it. SWARMSPEC_ADMIN_EMAIL and SWARMSPEC_ADMIN_PASSWORD together win over
the file (and no file is written); the email alone names the admin of a new file, but an
existing file wins over it, which is said on stderr so nobody logs in with the wrong name.
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
        if email and email != login.email:
            warn(f"SWARMSPEC_ADMIN_EMAIL={email} is set without SWARMSPEC_ADMIN_PASSWORD and {path} exists: "
                 f"the file wins, the admin is {login.email} (set both variables, or delete the file "
                 f"to generate one for {email})")
        return login
    login = AdminLogin(email or DEFAULT_EMAIL, secrets.token_urlsafe(18))
    write(path, login)
    return login


def write(path: Path, login: AdminLogin) -> None:
    """Atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps({"email": login.email, "password": login.password}))
    tmp.replace(path)
