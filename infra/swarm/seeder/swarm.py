"""The seeding side of the swarm: one isolated libtorrent session, one torrent per video."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import libtorrent as lt

from infra.swarm import lt_session, torrents
from infra.swarm.catalog import Catalog, CatalogEntry

log = logging.getLogger("seeder")


@dataclass
class Seed:
    entry: CatalogEntry
    handle: lt.torrent_handle | None          # None for the unseeded torrent
    announced: bool = False
    last_tracker_error: str = ""


@dataclass
class Swarm:
    catalog: Catalog
    media_dir: Path
    torrent_dir: Path
    tracker_url: str
    host: str = "127.0.0.1"
    upload_rate_limit: int = 0
    seeds: dict[str, Seed] = field(default_factory=dict)

    def start(self) -> None:
        self.session = lt_session.new_session(
            self.host,
            "swarmspec-seeder",
            upload_rate_limit=self.upload_rate_limit,
            # Retry a failed announce within ~1 s, so a tracker that comes back learns of us quickly.
            tracker_backoff=100,
            seed_choking_algorithm=1,  # fastest_upload
            unchoke_slots_limit=-1,
        )
        # libtorrent puts peers on a local network (loopback included) in a peer class
        # without rate limits, which would make the upload limit a no-op in this swarm:
        # every address goes into the global class, so the limit applies to everyone.
        everyone = lt.ip_filter()
        everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.session.set_peer_class_filter(everyone)
        for entry in self.catalog.entries:
            handle = None
            if entry.seeded:
                params = lt.add_torrent_params()
                params.ti = lt.torrent_info(str(self.torrent_dir / entry.torrent_file))
                params.save_path = str(self.media_dir)
                params.trackers = [self.tracker_url]
                # seed_mode: trust the files (they were hashed to make the torrent) and
                # verify each piece lazily on first request, so start-up is instant.
                params.flags = (params.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed
                handle = self.session.add_torrent(params)
                handle.resume()
            self.seeds[entry.info_hash] = Seed(entry, handle)
        log.info("seeding %d torrents, listening for peers on port %d", len(self.seeding()), self.session.listen_port())

    def stop(self) -> None:
        self.session.pause()

    def seeding(self) -> list[Seed]:
        return [s for s in self.seeds.values() if s.handle is not None]

    def pump_alerts(self) -> None:
        for alert in self.session.pop_alerts():
            if isinstance(alert, lt.tracker_reply_alert):
                self._seed_of(alert).announced = True
            elif isinstance(alert, (lt.tracker_error_alert, lt.tracker_warning_alert)):
                message = alert.message()
                if "skipping tracker announce (unreachable)" in message:
                    # Listening on 0.0.0.0 includes loopback, from where the tracker (another
                    # container) cannot be reached; the other interface announces. Not news.
                    log.debug("tracker: %s", message)
                    continue
                seed = self._seed_of(alert)
                if seed is not None:
                    seed.last_tracker_error = message
                log.warning("tracker: %s", message)
            elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert, lt.hash_failed_alert)):
                log.error("%s", alert.message())

    def reannounce(self) -> None:
        for seed in self.seeding():
            if not seed.handle.status().paused:
                seed.handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)

    def _seed_of(self, alert) -> Seed | None:
        try:
            return self.seeds.get(str(alert.handle.info_hashes().v1))
        except RuntimeError:
            return None

    def set_paused(self, info_hash: str, paused: bool) -> Seed:
        seed = self.seeds[info_hash]
        if seed.handle is None:
            raise ValueError(f"{seed.entry.name} is not seeded by anyone")
        if paused:
            seed.handle.pause()
        else:
            seed.handle.resume()
            seed.handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)
        return seed

    def set_upload_rate_limit(self, limit: int) -> None:
        self.upload_rate_limit = limit
        self.session.apply_settings({"upload_rate_limit": limit})

    def magnet(self, entry: CatalogEntry) -> str:
        return torrents.magnet_uri(entry.info_hash, entry.name, [self.tracker_url])

    def describe(self, seed: Seed) -> dict:
        status = seed.handle.status() if seed.handle is not None else None
        return {
            "name": seed.entry.name,
            "hash": seed.entry.info_hash,
            "magnetURI": self.magnet(seed.entry),
            "size": seed.entry.total_size,
            "mainFile": seed.entry.main_file,
            "mainFileSize": seed.entry.size,
            "files": [{"path": f.path, "length": f.size} for f in seed.entry.files],
            "seeded": seed.handle is not None,
            "paused": bool(status and status.paused),
            "announced": seed.announced,
            "peers": status.num_peers if status else 0,
            "uploaded": status.all_time_upload if status else 0,
        }
