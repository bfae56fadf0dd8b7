"""opentracker: command line, whitelist and probes.

Debian's opentracker is built in whitelist mode: an unknown info hash is refused
("not authorized"), so the ecosystem writes the whitelist of every info hash it uses
(an absolute path, ``-w``; SIGHUP reloads it). ``/stats`` answers only to addresses
blessed with ``-A``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote_from_bytes, urlsplit, urlunsplit

INSTALL_HINT = "opentracker is not installed: apt-get install opentracker (Debian/Ubuntu package 'opentracker')"


class MissingTool(RuntimeError):
    """A required program is not installed; the message names the package."""


def opentracker_binary() -> str:
    path = shutil.which("opentracker")
    if not path:
        raise MissingTool(INSTALL_HINT)
    return path


def write_whitelist(path: Path, info_hashes: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{h}\n" for h in sorted({h.lower() for h in info_hashes})))
    tmp.replace(path)


def add_to_whitelist(path: Path, info_hashes: list[str]) -> None:
    """Add info hashes to an existing whitelist, rewriting the file in place: a Docker
    tracker sees the whitelist through a bind mount of that one file, which would keep
    showing the old file after an atomic rename. opentracker reads it again on SIGHUP
    (after this returns), so it never sees a half-written file."""
    bad = [h for h in info_hashes if not re.fullmatch(r"[0-9a-fA-F]{40}", h)]
    if bad:
        raise ValueError(f"not a v1 info hash (40 hex digits): {bad}")
    with path.open("r+") as file:
        known = {line.strip().lower() for line in file if line.strip()}
        wanted = known | {h.lower() for h in info_hashes}
        if wanted == known:
            return
        file.seek(0)
        file.write("".join(f"{h}\n" for h in sorted(wanted)))
        file.truncate()


def announce_url(base: str) -> str:
    return f"{base}/announce"


def udp_twin(announce: str) -> str:
    """opentracker answers UDP on its HTTP port: the same tracker as a udp:// URL."""
    parts = urlsplit(announce)
    return urlunsplit(("udp", parts.netloc, parts.path, "", ""))


def stats_url(base: str) -> str:
    return f"{base}/stats?mode=everything"


def scrape_url(base: str, info_hash: str) -> str:
    return f"{base}/scrape?info_hash={quote_from_bytes(bytes.fromhex(info_hash))}"


def probe_announce_url(base: str, info_hash: str) -> str:
    """An announce that lists nobody (port 0, then withdrawn by the caller with event=stopped):
    the tracker answers "not authorized" until the info hash is on its whitelist."""
    return (f"{announce_url(base)}?info_hash={quote_from_bytes(bytes.fromhex(info_hash))}"
            f"&peer_id=-SW0000-whitelistchk&port=0&uploaded=0&downloaded=0&left=1&compact=1&numwant=0")
