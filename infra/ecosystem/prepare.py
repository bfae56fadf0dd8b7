"""Everything the services need before the first one starts: the videos, the catalog of
torrents, the tracker's whitelist and the backend's admin credentials."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.config import Settings
from infra.ecosystem import credentials
from infra.swarm import catalog as catalog_mod
from infra.swarm import tracker

if TYPE_CHECKING:
    from videos import Manifest


@dataclass(frozen=True)
class Prepared:
    run_dir: Path
    media_dir: Path
    torrent_dir: Path
    catalog_file: Path
    whitelist: Path
    credentials_file: Path
    catalog: catalog_mod.Catalog
    admin: credentials.AdminLogin | None = None    # the login the backend accepts (env or file)


def prepare(settings: Settings, progress: bool = True) -> Prepared:
    from videos import MEDIA_DIR, VIDEOS_DIR
    from videos.generate import ensure_videos

    manifest = ensure_videos(progress=progress)
    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    torrent_dir = VIDEOS_DIR / "torrents"
    if settings.large_video:
        manifest = with_feature_length(manifest, torrent_dir, settings.piece_size, progress)
    catalog = catalog_mod.build(manifest, MEDIA_DIR, torrent_dir, run_dir / "scratch", settings.piece_size)
    catalog_file = run_dir / "catalog.json"
    catalog.save(catalog_file)
    whitelist = run_dir / "whitelist.txt"
    tracker.write_whitelist(whitelist, catalog.info_hashes)
    credentials_file = run_dir / "credentials.json"
    admin = credentials.load_or_create(credentials_file, settings.admin_email, settings.admin_password)
    return Prepared(run_dir, MEDIA_DIR, torrent_dir, catalog_file, whitelist, credentials_file, catalog, admin)


def with_feature_length(manifest: Manifest, torrent_dir: Path, piece_size: int, progress: bool) -> Manifest:
    """The manifest plus the feature-length video, built into the cache outside the checkout
    on first use (minutes, once per machine), its torrent placed so the catalog does not
    hash 4.5 GiB again (SWARMSPEC_LARGE_VIDEO=0 leaves it out of the swarm)."""
    from videos.feature_length import ensure_feature_length, install_torrent

    film = ensure_feature_length(progress=progress)
    install_torrent(film, torrent_dir, piece_size, progress=progress)
    return dataclasses.replace(manifest, videos=(*manifest.videos, film))
