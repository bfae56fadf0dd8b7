"""An extra libtorrent peer for one torrent: all of it or half of its pieces, honest or
serving a tampered copy, at any upload rate.

Why these libtorrent modes:
* a peer with every piece is added in seed mode, like the main seeder. Seed mode checks
  each piece's hash the first time it is requested and drops out of seed mode when one
  fails, so the tampering peer also sets `disable_hash_checks`: it sends what is on its
  disk, as a broken or malicious peer does;
* a partial peer is added with `have_pieces` and `no_verify_files` (its holdings are
  taken as given, nothing is re-hashed at start) and in upload mode, so it never asks
  for the pieces it lacks.

It records what it sent and when (`block_uploaded_alert`), so the suite can tell what a
backend did with it: whether it kept taking blocks from a peer after that peer had sent a
piece that fails its hash check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import libtorrent as lt

from infra.ecosystem import clock
from infra.swarm import lt_session
from infra.swarm.peer.shape import FileSpan, Shape, copy_content, tamper

log = logging.getLogger("peer")

ALERTS = lt_session.ALERTS | lt.alert.category_t.upload_notification | lt.alert.category_t.connect_notification


def file_spans(ti: lt.torrent_info) -> list[FileSpan]:
    fs = ti.layout()
    return [FileSpan(fs.file_path(i), fs.file_offset(i), fs.file_size(i)) for i in range(fs.num_files())]


@dataclass
class Ledger:
    """What the peer sent, with monotonic times."""

    tampered: frozenset[int] = frozenset()
    sent: list[tuple[float, int]] = field(default_factory=list)          # (time, piece) of every block
    pieces_sent: set[int] = field(default_factory=set)
    tampered_sent: list[tuple[float, int]] = field(default_factory=list)  # first block of each tampered piece sent
    connections: int = 0

    def on_block_sent(self, piece: int) -> None:
        self.sent.append((clock.monotonic(), piece))
        self.pieces_sent.add(piece)
        if piece in self.tampered and piece not in {p for _, p in self.tampered_sent}:
            self.tampered_sent.append((clock.monotonic(), piece))

    def report(self, grace: float) -> dict:
        """`blocksAfterTamperedGrace`: blocks sent more than `grace` seconds after the first
        tampered block went out (None when none went out): a backend that stopped trusting
        the peer takes nothing more from it."""
        now = clock.monotonic()
        first_bad = self.tampered_sent[0][0] if self.tampered_sent else None
        return {
            "blocksSent": len(self.sent),
            "piecesSent": len(self.pieces_sent),
            "tamperedPieces": sorted(self.tampered),
            "tamperedPiecesSent": len(self.tampered_sent),
            "firstTamperedSentAgo": round(now - first_bad, 3) if first_bad is not None else None,
            "blocksAfterTamperedGrace": (sum(1 for t, _ in self.sent if t > first_bad + grace)
                                         if first_bad is not None else None),
            "lastBlockSentAgo": round(now - self.sent[-1][0], 3) if self.sent else None,
            "connections": self.connections,
        }


class LtPeer:
    def __init__(self, torrent: Path, content_dir: Path, work_dir: Path, tracker: str, host: str,
                 shape: Shape, upload_rate_limit: int = 0, content_name: str = "") -> None:
        self.ti = lt.torrent_info(str(torrent))
        self.info_hash = str(self.ti.info_hashes().v1)
        self.content_dir, self.work_dir, self.tracker, self.host = content_dir, work_dir, tracker, host
        self.shape = shape
        self.content_name = content_name
        self.upload_rate_limit = upload_rate_limit
        self.ledger = Ledger(frozenset(shape.tampered(self.ti.num_pieces())))
        self.announced = False
        self.last_tracker_error = ""

    def start(self) -> None:
        spans = file_spans(self.ti)
        copy_content(spans, self.content_dir, self.work_dir, self.content_name)
        tamper(spans, self.work_dir, self.ti.piece_length(), sorted(self.ledger.tampered))
        held = self.shape.held(self.ti.num_pieces())
        self.session = lt_session.new_session(
            self.host, "swarmspec-peer", alert_mask=ALERTS, upload_rate_limit=self.upload_rate_limit,
            tracker_backoff=100, seed_choking_algorithm=1, unchoke_slots_limit=-1,
            disable_hash_checks=bool(self.ledger.tampered),
            # leave quickly when the tracker is gone too (a killed run): the namespace waits for us
            stop_tracker_timeout=1)
        # As in the seeder: every address in the global peer class, or loopback and local
        # networks would be exempt from the upload limit.
        everyone = lt.ip_filter()
        everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.session.set_peer_class_filter(everyone)
        params = lt.add_torrent_params()
        params.ti = self.ti
        params.save_path = str(self.work_dir)
        params.trackers = [self.tracker]
        params.flags &= ~lt.torrent_flags.auto_managed
        if all(held):
            params.flags |= lt.torrent_flags.seed_mode
        else:
            params.have_pieces = held
            params.flags |= lt.torrent_flags.no_verify_files | lt.torrent_flags.upload_mode
        self.handle = self.session.add_torrent(params)
        self.handle.resume()
        log.info("peer for %s: holds %s (%d of %d pieces), tampered %s, upload limit %d B/s, listening on %s:%d",
                 self.info_hash, self.shape.holds, sum(held), len(held), sorted(self.ledger.tampered),
                 self.upload_rate_limit, self.host, self.session.listen_port())

    def stop(self) -> None:
        self.session.pause()

    def pump_alerts(self) -> None:
        for alert in self.session.pop_alerts():
            if isinstance(alert, lt.block_uploaded_alert):
                self.ledger.on_block_sent(int(alert.piece_index))
            elif isinstance(alert, (lt.peer_connect_alert, lt.incoming_connection_alert)):
                self.ledger.connections += 1
            elif isinstance(alert, lt.tracker_reply_alert):
                self.announced = True
            elif isinstance(alert, (lt.tracker_error_alert, lt.tracker_warning_alert)):
                self.last_tracker_error = alert.message()
                log.warning("tracker: %s", alert.message())
            elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
                log.error("%s", alert.message())

    def reannounce(self) -> None:
        self.handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)

    def set_upload_rate_limit(self, limit: int) -> None:
        self.upload_rate_limit = limit
        self.session.apply_settings({"upload_rate_limit": limit})

    def status(self, grace: float) -> dict:
        status = self.handle.status()
        return {"infoHash": self.info_hash, "behaviour": "libtorrent", "holds": self.shape.holds,
                "piecesHeld": status.num_pieces, "peers": status.num_peers, "uploaded": status.total_payload_upload,
                "uploadRateLimit": self.upload_rate_limit, "announced": self.announced,
                "listenPort": self.session.listen_port(), **self.ledger.report(grace)}
