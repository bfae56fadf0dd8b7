"""The swarm's own limit on an unthrottled loopback: libtorrent alone (no HTTP, no
streaming, no Python on the data path) downloading the whole torrent from the seeder,
every piece wanted. No streaming server can deliver a fresh torrent faster than the
swarm delivers it to a bare client, so this is the transfer limit of a fresh full GET
when the seeder's rate is not set (when it is, the limit is bytes ÷ rate)."""

from __future__ import annotations

import tempfile

import libtorrent as lt

from infra.ecosystem import clock
from infra.swarm import lt_session


class SwarmTimeout(TimeoutError):
    pass


def raw_download(magnet: str, timeout: float = 60.0) -> float:
    """Seconds from adding the magnet to the last piece verified. The session is gone
    when this returns, so it seeds nothing to the servers measured next."""
    with tempfile.TemporaryDirectory(prefix="swarmspec-bench-swarm-") as save_path:
        session = lt_session.new_session("127.0.0.1", "swarmspec-bench")
        try:
            return _download(session, magnet, save_path, timeout)
        finally:
            session.pause()
            del session   # the last reference: libtorrent closes every connection and file now


def _download(session: lt.session, magnet: str, save_path: str, timeout: float) -> float:
    params = lt.parse_magnet_uri(magnet)
    params.save_path = save_path
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    started = clock.monotonic()
    handle = session.add_torrent(params)
    deadline = clock.SYSTEM.deadline(timeout)
    while not deadline.expired():
        session.wait_for_alert(int(min(100, deadline.remaining() * 1000)) + 1)
        if any(isinstance(alert, lt.torrent_finished_alert) for alert in session.pop_alerts()):
            return clock.monotonic() - started
    status = handle.status()
    raise SwarmTimeout(f"libtorrent alone: {status.progress:.0%} of {magnet[:60]}... after {timeout:g}s "
                       f"({status.num_peers} peers)")
