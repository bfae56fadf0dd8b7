"""opentracker: command line, whitelist and probes.

Debian's opentracker is built in whitelist mode: an unknown info hash is refused
("not authorized"), so the ecosystem writes the whitelist of every info hash it uses
(an absolute path, ``-w``; SIGHUP reloads it). ``/stats`` answers only to addresses
blessed with ``-A``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote_from_bytes

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


def announce_url(base: str) -> str:
    return f"{base}/announce"


def stats_url(base: str) -> str:
    return f"{base}/stats?mode=everything"


def scrape_url(base: str, info_hash: str) -> str:
    return f"{base}/scrape?info_hash={quote_from_bytes(bytes.fromhex(info_hash))}"


def allow(path: Path, info_hashes: list[str]) -> None:
    """Add info hashes to the whitelist in place (a container's bind mount holds the file's
    inode, so it is appended to, never replaced); the tracker reads it again on SIGHUP."""
    known = set(path.read_text().split()) if path.exists() else set()
    new = [h.lower() for h in info_hashes if h.lower() not in known]
    if new:
        with path.open("a") as handle:
            handle.write("".join(f"{h}\n" for h in new))


def probe_announce_url(base: str, info_hash: str) -> str:
    """An announce that lists nobody (port 0, then withdrawn by the caller with event=stopped):
    the tracker answers "not authorized" until the info hash is on its whitelist."""
    return (f"{announce_url(base)}?info_hash={quote_from_bytes(bytes.fromhex(info_hash))}"
            f"&peer_id=-SW0000-whitelistchk&port=0&uploaded=0&downloaded=0&left=1&compact=1&numwant=0")
