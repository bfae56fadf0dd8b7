"""Deterministic torrents (infra.swarm.torrents), the catalog (infra.swarm.catalog) and tracker helpers."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

import libtorrent as lt
import pytest

from infra.swarm import tracker
from infra.swarm import catalog as catalog_mod
from infra.swarm.catalog import Catalog, CatalogEntry
from infra.swarm.content import ContentFile
from infra.swarm.torrents import (PIECE_SIZE, UNSEEDED_NAME, VARIANT_KEY, check_piece_size, describe, make_torrent,
                                   make_unseeded, paths_on_disk, variant)
from videos import Manifest, Video, VideoFile

PAYLOAD = random.Random(1).randbytes(PIECE_SIZE * 2 + 777)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_same_content_same_hash_even_without_the_cache(tmp_path):
    content = write(tmp_path / "a" / "movie.mp4", PAYLOAD)
    cache = tmp_path / "cache"
    first = make_torrent(content, cache, "k1")
    assert first.path.exists() and first.path.parent == cache
    assert len(first.info_hash) == 40 and int(first.info_hash, 16) >= 0
    assert first.name == "movie.mp4" and first.size == len(PAYLOAD) and first.seeded
    assert first.files == [{"path": "movie.mp4", "length": len(PAYLOAD)}]

    shutil.rmtree(cache)
    os.utime(content, (1, 1))                      # mtime is not part of the info dict
    again = make_torrent(content, cache, "k1")
    assert again.info_hash == first.info_hash

    # The same bytes elsewhere, under another cache and key: still the same torrent.
    copy = write(tmp_path / "b" / "movie.mp4", PAYLOAD)
    assert make_torrent(copy, tmp_path / "cache2", "other-key").info_hash == first.info_hash


def test_generated_torrent_has_no_volatile_fields(tmp_path):
    info = make_torrent(write(tmp_path / "movie.mp4", PAYLOAD), tmp_path / "cache", "k")
    meta = lt.bdecode(info.path.read_bytes())
    assert b"creation date" not in meta and b"created by" not in meta
    assert meta[b"info"][b"piece length"] == PIECE_SIZE
    assert len(meta[b"info"][b"pieces"]) == 20 * 3          # v1 SHA-1 piece hashes, 3 pieces
    assert b"meta version" not in meta[b"info"]             # v1 only


def test_different_content_different_hash(tmp_path):
    a = make_torrent(write(tmp_path / "a" / "movie.mp4", PAYLOAD), tmp_path / "cache", "a")
    changed = PAYLOAD[:-1] + bytes([PAYLOAD[-1] ^ 1])
    b = make_torrent(write(tmp_path / "b" / "movie.mp4", changed), tmp_path / "cache", "b")
    assert a.info_hash != b.info_hash
    renamed = make_torrent(write(tmp_path / "c" / "film.mp4", PAYLOAD), tmp_path / "cache", "a")
    assert renamed.info_hash != a.info_hash                  # the name is in the info dict too


def test_cache_hit_reuses_the_torrent_file(tmp_path):
    content = write(tmp_path / "movie.mp4", PAYLOAD)
    first = make_torrent(content, tmp_path / "cache", "k")
    os.utime(first.path, (1, 1))
    second = make_torrent(content, tmp_path / "cache", "k")
    assert second.path == first.path
    assert first.path.stat().st_mtime == 1                   # not rewritten
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [first.path.name]   # no .tmp left
    assert make_torrent(content, tmp_path / "cache", "k2").path != first.path


def test_multi_file_torrent_lists_its_files(tmp_path):
    folder = tmp_path / "media" / "show"
    write(folder / "show.mp4", PAYLOAD)
    write(folder / "show.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    write(folder / "extras" / "info.nfo", b"nfo")
    info = make_torrent(folder, tmp_path / "cache", "multi")
    assert info.name == "show"
    files = {f["path"]: f["length"] for f in info.files}
    assert files == {
        os.path.join("show", "show.mp4"): len(PAYLOAD),
        os.path.join("show", "show.srt"): 38,
        os.path.join("show", "extras", "info.nfo"): 3,
    }
    assert info.size == sum(files.values())
    assert describe(info.path).info_hash == info.info_hash
    assert make_torrent(folder, tmp_path / "cache-b", "multi").info_hash == info.info_hash


def test_magnet_carries_hash_name_and_trackers(tmp_path):
    info = make_torrent(write(tmp_path / "my movie.mp4", PAYLOAD), tmp_path / "cache", "k")
    magnet = info.magnet(["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"])
    params = lt.parse_magnet_uri(magnet)
    assert str(params.info_hashes.v1) == info.info_hash
    assert params.name == "my movie.mp4"
    assert list(params.trackers) == ["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"]


def test_unseeded_has_a_stable_hash_and_leaves_no_content(tmp_path):
    size = PIECE_SIZE + 1000
    first = make_unseeded(tmp_path / "work1", tmp_path / "cache1", size=size)
    second = make_unseeded(tmp_path / "work2", tmp_path / "cache2", size=size)
    assert first.info_hash == second.info_hash
    assert first.seeded is False and first.size == size
    assert first.files == [{"path": f"{UNSEEDED_NAME}.mp4", "length": size}]
    for work in (tmp_path / "work1", tmp_path / "work2"):
        assert list(work.iterdir()) == []               # the random content was deleted
    # Cached: no content is even written again.
    again = make_unseeded(tmp_path / "work3", tmp_path / "cache1", size=size)
    assert again.info_hash == first.info_hash
    assert not (tmp_path / "work3").exists()
    assert make_unseeded(tmp_path / "work4", tmp_path / "cache1", size=size + 1).info_hash != first.info_hash


def entry(name: str, info_hash: str, seeded: bool = True) -> CatalogEntry:
    return CatalogEntry(name=name, info_hash=info_hash, torrent_file=f"{name}.torrent", content_path=f"{name}.mp4",
                        main_file=f"{name}.mp4", size=10, files=(ContentFile(f"{name}.mp4", 10),),
                        piece_length=PIECE_SIZE, seeded=seeded)


def test_catalog_round_trip_and_lookup(tmp_path):
    catalog = Catalog([entry("test-small-720p", "a" * 40), entry("test-multi-file", "b" * 40),
                       entry(UNSEEDED_NAME, "c" * 40, seeded=False)])
    path = tmp_path / "run" / "catalog.json"
    catalog.save(path)
    assert json.loads(path.read_text())[0]["name"] == "test-small-720p"
    assert not path.with_suffix(".tmp").exists()
    loaded = Catalog.load(path)
    assert loaded == catalog
    assert isinstance(loaded.entries[0].files[0], ContentFile) and loaded.entries[0].total_size == 10
    assert loaded.info_hashes == ["a" * 40, "b" * 40, "c" * 40]
    assert loaded.get("test-multi-file").info_hash == "b" * 40
    assert loaded.get("c" * 40).name == UNSEEDED_NAME
    with pytest.raises(KeyError) as info:
        loaded.get("test-nope")
    message = str(info.value)
    assert "test-nope" in message
    for name in ("test-small-720p", "test-multi-file", UNSEEDED_NAME):
        assert name in message


def test_catalog_build_carries_the_manifest_content_and_the_torrent_facts(tmp_path):
    """One record from the manifest to the step: the entry holds the video's content fields,
    the torrent's files and piece length (read here once), and reads the same bytes."""
    media = tmp_path / "media"
    (media / "multi").mkdir(parents=True)
    (media / "multi" / "multi.mp4").write_bytes(PAYLOAD)
    (media / "multi" / "multi.srt").write_text("1\n")
    files = (VideoFile("multi/multi.mp4", len(PAYLOAD), "a" * 64), VideoFile("multi/multi.srt", 2, "b" * 64))
    video = Video(name="test-multi", content_path="multi", main_file="multi/multi.mp4", files=files,
                  size=len(PAYLOAD), sha256="a" * 64, duration=1.0, width=64, height=64, resolution="64x64",
                  video_codec="h264", audio_codec="aac", container="mp4", content_type="video/mp4", moov_at_end=False,
                  recipe_hash="c" * 64, media_dir=media)
    built = catalog_mod.build(Manifest("ffmpeg x", (video,)), media, tmp_path / "torrents", tmp_path / "scratch")
    multi, unseeded = built.entries
    assert (multi.name, multi.content_path, multi.main_file, multi.size) == ("test-multi", "multi", "multi/multi.mp4",
                                                                            len(PAYLOAD))
    assert sorted((f.path, f.size) for f in multi.files) == sorted((f.path, f.size) for f in video.files)
    assert multi.total_size == len(PAYLOAD) + 2 and multi.seeded and not unseeded.seeded
    for item in built.entries:
        assert item.piece_length == lt.torrent_info(str(tmp_path / "torrents" / item.torrent_file)).piece_length()
    assert multi.read(5, 9) == video.read(5, 9) == PAYLOAD[5:10]
    assert multi.whole() == PAYLOAD
    assert unseeded.name == UNSEEDED_NAME and unseeded.main_file == unseeded.content_path


def test_another_piece_size_is_another_torrent_of_the_same_bytes(tmp_path):
    """The benchmark's variant piece size: a torrent of its own (own cache file, own info
    hash), the suite's default untouched."""
    content = write(tmp_path / "movie.mp4", PAYLOAD)
    default = make_torrent(content, tmp_path / "cache", "k")
    large = make_torrent(content, tmp_path / "cache", "k", piece_size=4 * PIECE_SIZE)
    assert default.piece_length == PIECE_SIZE and large.piece_length == 4 * PIECE_SIZE
    assert large.path != default.path and large.info_hash != default.info_hash
    assert lt.bdecode(large.path.read_bytes())[b"info"][b"piece length"] == 4 * PIECE_SIZE
    assert make_torrent(content, tmp_path / "cache", "k").info_hash == default.info_hash
    unseeded = make_unseeded(tmp_path / "work", tmp_path / "cache", size=PIECE_SIZE + 5, piece_size=4 * PIECE_SIZE)
    assert unseeded.piece_length == 4 * PIECE_SIZE


@pytest.mark.parametrize("size", [0, 1000, 8 * 1024, 3 * 64 * 1024])
def test_a_piece_size_must_be_a_power_of_two_of_at_least_one_block(tmp_path, size):
    with pytest.raises(ValueError, match="power of two"):
        check_piece_size(size)
    with pytest.raises(ValueError, match="power of two"):
        make_torrent(write(tmp_path / "movie.mp4", PAYLOAD), tmp_path / "cache", "k", piece_size=size)


def test_the_swarm_reads_the_catalog_without_videos_or_the_suite(tmp_path):
    """The swarm's images carry infra/__init__.py, infra/config.py and infra/swarm/ only:
    the seeder and the range server must load the catalog with nothing else importable."""
    root = Path(__file__).resolve().parents[1]
    image = tmp_path / "app"
    (image / "infra").mkdir(parents=True)
    for name in ("__init__.py", "config.py"):
        shutil.copy(root / "infra" / name, image / "infra" / name)
    shutil.copytree(root / "infra" / "swarm", image / "infra" / "swarm", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "catalog.json"
    Catalog([entry("test-small-720p", "a" * 40)]).save(path)
    code = ("import sys; from pathlib import Path; import infra.swarm.seeder.swarm, infra.swarm.range_server.__main__; "
            "from infra.swarm.catalog import Catalog; print(Catalog.load(Path(sys.argv[1])).get('a' * 40).total_size)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=image, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(image)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10"


def test_whitelist_is_sorted_lowercase_unique(tmp_path):
    path = tmp_path / "deep" / "whitelist.txt"
    tracker.write_whitelist(path, ["c" * 40, "A" * 40, "c" * 40, "b" * 40])
    assert path.read_text() == f"{'a' * 40}\n{'b' * 40}\n{'c' * 40}\n"
    tracker.write_whitelist(path, [])
    assert path.read_text() == ""
    assert not path.with_suffix(".tmp").exists()


def test_a_variant_has_the_same_pieces_under_a_new_info_hash(tmp_path):
    content = write(tmp_path / "a" / "movie.mp4", PAYLOAD)
    original = make_torrent(content, tmp_path / "cache", "k")
    ti = lt.torrent_info(str(original.path))
    one, two = variant(original.path, "nonce-1"), variant(original.path, "nonce-2")
    hashes = {str(v.info_hashes().v1) for v in (one, two)}
    assert len(hashes) == 2 and original.info_hash not in hashes
    assert variant(original.path, "nonce-1").info_hashes().v1 == one.info_hashes().v1   # the nonce alone decides
    for v in (one, two):
        assert v.total_size() == ti.total_size() and v.num_pieces() == ti.num_pieces()
        assert [v.hash_for_piece(i) for i in range(v.num_pieces())] == [ti.hash_for_piece(i) for i in range(ti.num_pieces())]
    info = lt.bdecode(one.info_section())
    assert info[VARIANT_KEY] == b"nonce-1"
    # a name of its own (a backend keeps its files apart), read from the original's file on disk
    assert (one.name(), two.name()) == ("movie.nonce-1.mp4", "movie.nonce-2.mp4")
    assert paths_on_disk(original.path) == {0: "movie.mp4"}
    with pytest.raises(ValueError, match="nonce"):
        variant(original.path, "")


def test_adding_to_the_whitelist_keeps_the_file_and_merges(tmp_path):
    """In place: a tracker container sees the whitelist through a bind mount of that one file."""
    path = tmp_path / "whitelist.txt"
    tracker.write_whitelist(path, ["b" * 40])
    inode = path.stat().st_ino
    tracker.add_to_whitelist(path, ["A" * 40, "b" * 40])
    assert path.read_text() == f"{'a' * 40}\n{'b' * 40}\n"
    assert path.stat().st_ino == inode
    with pytest.raises(ValueError, match="40 hex"):
        tracker.add_to_whitelist(path, ["not-a-hash"])
    assert path.read_text() == f"{'a' * 40}\n{'b' * 40}\n"


def test_whitelist_dedups_hashes_that_differ_only_in_case(tmp_path):
    path = tmp_path / "whitelist.txt"
    tracker.write_whitelist(path, ["B" * 40, "b" * 40])
    assert path.read_text() == f"{'b' * 40}\n"


def test_scrape_url_encodes_the_raw_20_bytes():
    info_hash = "00ff2f3d26253f2b7e41614b7a20ce5f357b5586"     # contains '/', '=', '&', '?', '%', '+', ' '
    url = tracker.scrape_url("http://127.0.0.1:6969", info_hash)
    parts = urlsplit(url)
    assert url.startswith("http://127.0.0.1:6969/scrape?info_hash=")
    raw = parts.query.split("=", 1)[1]
    assert "&" not in raw and "+" not in raw and " " not in raw and "#" not in raw
    assert unquote_to_bytes(raw) == bytes.fromhex(info_hash)
    assert len(unquote_to_bytes(raw)) == 20
    assert parse_qs(parts.query, encoding="latin-1")["info_hash"][0].encode("latin-1") == bytes.fromhex(info_hash)


def test_tracker_urls():
    assert tracker.announce_url("http://h:1") == "http://h:1/announce"
    assert tracker.stats_url("http://h:1") == "http://h:1/stats?mode=everything"
