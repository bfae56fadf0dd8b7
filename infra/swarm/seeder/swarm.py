"""The seeding side of the swarm: one isolated libtorrent session, one torrent per video."""

from __future__ import annotations

import logging
import uuid
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
    variant_hash: str = ""                    # a fresh variant of `entry`: its own info hash

    @property
    def info_hash(self) -> str:
        return self.variant_hash or self.entry.info_hash

    @property
    def is_variant(self) -> bool:
        return bool(self.variant_hash)


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
                handle = self._seed(lt.torrent_info(str(self.torrent_dir / entry.torrent_file)))
            self.seeds[entry.info_hash] = Seed(entry, handle)
        log.info("seeding %d torrents, listening for peers on port %d", len(self.seeding()), self.session.listen_port())

    def _seed(self, info: lt.torrent_info, renamed: dict[int, str] | None = None) -> lt.torrent_handle:
        params = lt.add_torrent_params()
        params.ti = info
        if renamed:
            params.renamed_files = renamed     # a variant's files, read where the original's are
        params.save_path = str(self.media_dir)
        params.trackers = [self.tracker_url]
        # seed_mode: trust the files (they were hashed to make the torrent) and
        # verify each piece lazily on first request, so start-up is instant.
        params.flags = (params.flags | lt.torrent_flags.seed_mode) & ~lt.torrent_flags.auto_managed
        handle = self.session.add_torrent(params)
        handle.resume()
        return handle

    def stop(self) -> None:
        self.session.pause()

    def seeding(self) -> list[Seed]:
        return [s for s in self.seeds.values() if s.handle is not None]

    def catalog_seeding(self) -> list[Seed]:
        """What the seeder must have announced to be healthy: the catalog's torrents (a
        variant is announced only once the tracker was told of it)."""
        return [s for s in self.seeding() if not s.is_variant]

    def find(self, key: str) -> Seed:
        """A catalog torrent by name or info hash (KeyError otherwise)."""
        key = key.lower()
        for seed in self.seeds.values():
            if not seed.is_variant and key in (seed.entry.name.lower(), seed.entry.info_hash):
                return seed
        raise KeyError(key)

    def add_variant(self, key: str) -> Seed:
        """Seed a fresh variant of a catalog torrent: the same files under a new info hash
        (`torrents.variant`, a random nonce), announced to the tracker like the others.
        ValueError for the unseeded torrent (nobody has its bytes)."""
        original = self.find(key)
        if original.handle is None:
            raise ValueError(f"{original.entry.name} is not seeded by anyone: it has no variants")
        torrent_file = self.torrent_dir / original.entry.torrent_file
        info = torrents.variant(torrent_file, f"swarmspec-{uuid.uuid4().hex}")
        seed = Seed(original.entry, self._seed(info, torrents.paths_on_disk(torrent_file)),
                    variant_hash=str(info.info_hashes().v1))
        self.seeds[seed.info_hash] = seed
        log.info("seeding a variant of %s: %s", original.entry.name, seed.info_hash)
        return seed

    def remove_variant(self, info_hash: str) -> None:
        """Stop seeding a variant and forget it. KeyError: unknown; ValueError: a catalog torrent."""
        seed = self.seeds[info_hash]
        if not seed.is_variant:
            raise ValueError(f"{seed.entry.name} is a catalog torrent, not a variant: pause it instead")
        self.session.remove_torrent(seed.handle)
        del self.seeds[info_hash]
        log.info("removed the variant %s of %s", info_hash, seed.entry.name)

    def pump_alerts(self) -> None:
        for alert in self.session.pop_alerts():
            if isinstance(alert, lt.tracker_reply_alert):
                seed = self._seed_of(alert)
                if seed is not None:     # None: a variant removed since it announced
                    seed.announced = True
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

    def magnet(self, seed: Seed) -> str:
        return torrents.magnet_uri(seed.info_hash, seed.entry.name, [self.tracker_url])

    def describe(self, seed: Seed) -> dict:
        status = seed.handle.status() if seed.handle is not None else None
        return {
            "name": seed.entry.name,
            "hash": seed.info_hash,
            "magnetURI": self.magnet(seed),
            "variantOf": seed.entry.info_hash if seed.is_variant else None,
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
