"""Deterministic .torrent files, made with libtorrent's create_torrent and cached.

The info hash depends only on the info dictionary (name, files, piece length,
piece hashes), so fixing the piece size and leaving out creation date, creator and
trackers-in-info makes the same content always give the same info hash. The cache
key is the content's sha256 list, so a regenerated video gets a new torrent.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import libtorrent as lt

#: 256 KiB pieces: ~80 pieces for the 20 MB video, so a seek maps to few pieces. The
#: suite's default; the benchmark also makes the torrents with other sizes (SWARMSPEC_PIECE_SIZE).
PIECE_SIZE = 256 * 1024
UNSEEDED_NAME = "test-unseeded"


@dataclass(frozen=True)
class TorrentInfo:
    name: str
    info_hash: str
    path: Path          # the cached .torrent file
    size: int           # total size of all files
    files: list[dict]   # [{"path", "length"}]
    seeded: bool
    piece_length: int = PIECE_SIZE

    def magnet(self, trackers: list[str]) -> str:
        return magnet_uri(self.info_hash, self.name, trackers)


def magnet_uri(info_hash: str, name: str, trackers: list[str]) -> str:
    parts = [f"xt=urn:btih:{info_hash}", f"dn={quote(name)}"] + [f"tr={quote(t, safe='')}" for t in trackers]
    return "magnet:?" + "&".join(parts)


def check_piece_size(piece_size: int) -> int:
    """BitTorrent v1 pieces: a power of two of at least 16 KiB (one block); ValueError otherwise."""
    if piece_size < 16 * 1024 or piece_size & (piece_size - 1):
        raise ValueError(f"piece size {piece_size} is not a power of two of at least 16384 bytes")
    return piece_size


def make_torrent(content: Path, cache_dir: Path, cache_key: str, seeded: bool = True,
                 piece_size: int = PIECE_SIZE) -> TorrentInfo:
    """Create (or reuse) the v1 .torrent for a file or folder. `content.parent` is the save path."""
    path = cached_torrent_path(content.name, cache_dir, cache_key, check_piece_size(piece_size))
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        # v1 only: a 40-hex btih that every client understands; no mtime/attributes in the info dict.
        ct = lt.create_torrent(lt.list_files(str(content)), piece_size, lt.create_torrent.v1_only)
        lt.set_piece_hashes(ct, str(content.parent))
        entry = ct.generate()
        entry.pop(b"creation date", None)
        entry.pop(b"created by", None)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(lt.bencode(entry))
        tmp.replace(path)
    return describe(path, seeded)


def cached_torrent_path(content_name: str, cache_dir: Path, cache_key: str, piece_size: int = PIECE_SIZE) -> Path:
    key = hashlib.sha256(f"{content_name}\0{piece_size}\0{cache_key}".encode()).hexdigest()[:16]
    return cache_dir / f"{content_name}.{key}.torrent"


def describe(torrent_file: Path, seeded: bool = True) -> TorrentInfo:
    ti = lt.torrent_info(str(torrent_file))
    fs = ti.layout()
    files = [{"path": fs.file_path(i), "length": fs.file_size(i)} for i in range(fs.num_files())]
    return TorrentInfo(
        name=ti.name(),
        info_hash=str(ti.info_hashes().v1),
        path=torrent_file,
        size=ti.total_size(),
        files=files,
        seeded=seeded,
        piece_length=ti.piece_length(),
    )


#: The info-dict key a variant's nonce goes in: private trackers' `source` field, which
#: every client keeps in the info dict (and so in the info hash) and otherwise ignores.
VARIANT_KEY = b"source"


def variant(torrent_file: Path, nonce: str) -> lt.torrent_info:
    """The same torrent (same files, pieces and piece hashes: the same bytes on disk) under
    a new info hash: the info dict gains ``source = nonce``, and a single-file torrent the
    nonce's last 8 characters in its name (`variant_name`). A backend has never seen a
    variant made with a new nonce, and it stores a single-file variant under a name of its
    own: with the old name, a backend that still holds an earlier copy's file (a 5 GB film,
    partly downloaded) checks it before the new torrent is ready, and its first byte is not
    a true first byte. A multi-file torrent keeps its folder name: targets choose its files
    by their paths in it. Whoever seeds a variant maps its files back with `paths_on_disk`."""
    if not nonce:
        raise ValueError("a variant needs a non-empty nonce")
    entry = lt.bdecode(torrent_file.read_bytes())
    info = entry[b"info"]
    info[VARIANT_KEY] = nonce.encode()
    if b"files" not in info:
        info[b"name"] = variant_name(info[b"name"].decode(), nonce[-8:], single_file=True).encode()
    return lt.torrent_info(entry)


def paths_on_disk(torrent_file: Path) -> dict[int, str]:
    """Each file of a torrent by index, at its path relative to the save path: what a
    variant's files are renamed to (`add_torrent_params.renamed_files`) so that they are
    read where the original's are."""
    layout = lt.torrent_info(str(torrent_file)).layout()
    return {index: layout.file_path(index) for index in range(layout.num_files())}


def make_unseeded(work_dir: Path, cache_dir: Path, size: int = 3 * 1024 * 1024,
                  piece_size: int = PIECE_SIZE) -> TorrentInfo:
    """A valid torrent for content that no peer has: created from pseudo-random bytes
    (fixed seed, so the info hash is stable) which are deleted right after hashing."""
    content = work_dir / f"{UNSEEDED_NAME}.mp4"
    key = f"unseeded-{size}-v1"
    if cached_torrent_path(content.name, cache_dir, key, piece_size).exists():
        return make_torrent(content, cache_dir, key, seeded=False, piece_size=piece_size)
    work_dir.mkdir(parents=True, exist_ok=True)
    content.write_bytes(random.Random(20261124).randbytes(size))
    try:
        return make_torrent(content, cache_dir, key, seeded=False, piece_size=piece_size)
    finally:
        content.unlink(missing_ok=True)


def variant_file(torrent_file: Path, tag: str, out_dir: Path) -> TorrentInfo:
    """A `variant` written to a .torrent file, under another name too: the info dictionary
    gets `source = swarmspec-<tag>` (VARIANT_KEY, as `variant`) and the tag in its name
    (`test-large-4k.<tag>.mp4`, `test-multi-file.<tag>`); pieces and piece hashes stay.

    A scenario that needs a torrent no backend has seen yet, and peers nobody else seeds
    it with, uses a variant: the main seeder never has it, no earlier scenario left it in
    a backend's cache, and its files land under a name of their own in a backend's
    download folder (with the old name, a backend that finds the files of an earlier
    torrent there checks them and has every piece at once)."""
    if not tag or not tag.replace("-", "").isalnum():
        raise ValueError(f"a variant tag is letters, digits and dashes: {tag!r}")
    decoded = lt.bdecode(torrent_file.read_bytes())
    info = decoded[b"info"]
    info[VARIANT_KEY] = f"swarmspec-{tag}".encode()
    info[b"name"] = variant_name(info[b"name"].decode(), tag, single_file=b"files" not in info).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{torrent_file.name.split('.')[0]}.{tag}.torrent"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(lt.bencode(decoded))
    tmp.replace(path)
    return describe(path)


def variant_name(name: str, tag: str, single_file: bool) -> str:
    """`test-large-4k.mp4` -> `test-large-4k.<tag>.mp4` (the extension says it is a video);
    a folder: `test-multi-file` -> `test-multi-file.<tag>`."""
    stem, dot, extension = name.rpartition(".") if single_file and "." in name else (name, "", "")
    return f"{stem}.{tag}{dot}{extension}"
