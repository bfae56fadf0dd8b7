"""The feature-length video: its recipe is deterministic and resumable (on a small film), the
built film has no repetition at 2³¹ or 2³² (on the cached film, when this machine has one),
the cache is found and linked, containers mount the link's target, and the upload bound."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from infra.config import Settings
from infra.ecosystem.docker.layout import DockerLayout, container_config, linked_media_mounts
from infra.ecosystem.services import SERVICES
from infra.suite import upload_bound
from videos import feature_length as fl
from videos import large_cache
from videos.cache import sha256_file
from videos.ffmpeg import FfmpegError

#: Seconds of 64x48 at 4 frames/s: a film of a few hundred KB in a second or two.
SMALL = fl.FeatureRecipe(name="test-small-film", width=64, height=48, fps=4, segment_seconds=1, segments=3,
                         min_size=0)


def build_small(root: Path, media: Path) -> Path:
    video = fl.ensure_feature_length(False, recipe=SMALL, root=root, media_dir=media, jobs=2)
    return video.main_path


def test_cache_dir_follows_the_variable_then_xdg_then_home(tmp_path: Path) -> None:
    assert large_cache.cache_dir({"SWARMSPEC_VIDEO_CACHE": str(tmp_path / "c")}) == tmp_path / "c"
    assert large_cache.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "swarmspec" / "videos"
    assert large_cache.cache_dir({}) == Path.home() / ".cache" / "swarmspec" / "videos"


def test_the_default_recipe_promises_a_film_past_4_5_gib() -> None:
    assert fl.RECIPE.min_size >= 4.5 * 2**30
    assert fl.RECIPE.duration * 0.9 % fl.RECIPE.gop_seconds == 0, "90 % falls on a key frame"


def test_a_small_film_is_deterministic_linked_and_cached(tmp_path: Path) -> None:
    first = build_small(tmp_path / "a", tmp_path / "media-a")
    second = build_small(tmp_path / "b", tmp_path / "media-b")
    assert first.is_symlink() and first.resolve() == tmp_path / "a" / "media" / SMALL.filename
    assert sha256_file(first) == sha256_file(second), "the same recipe gives the same bytes"
    assert not (tmp_path / "a" / "work" / fl.recipe_key(SMALL, fl.ffmpeg_version(fl.find_ffmpeg()))[:16]).exists()
    mtime = first.resolve().stat().st_mtime_ns
    build_small(tmp_path / "a", tmp_path / "media-a")            # cached: nothing rebuilt
    assert first.resolve().stat().st_mtime_ns == mtime


def test_an_interrupted_build_keeps_finished_segments_and_never_a_partial_film(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root, media = tmp_path / "cache", tmp_path / "media"
    real = fl.run_ffmpeg
    calls: list[str] = []
    lock = threading.Lock()

    def failing_after_one(cmd, what, *args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            calls.append(what)
            count = len(calls)
        if count > 1:
            raise FfmpegError(f"simulated interruption {what}")
        return real(cmd, what, *args, **kwargs)

    monkeypatch.setattr(fl, "run_ffmpeg", failing_after_one)
    with pytest.raises(FfmpegError, match="simulated"):
        fl.ensure_feature_length(False, recipe=SMALL, root=root, media_dir=media, jobs=1)
    kept = sorted(p.name for p in (root / "work").glob("*/*"))
    assert kept == ["seg-000.h264"], "the finished segment is kept, no partial one"
    assert not (root / "media" / SMALL.filename).exists() and not (media / SMALL.filename).exists()

    calls.clear()
    monkeypatch.setattr(fl, "run_ffmpeg", lambda cmd, what, *a, **k: (calls.append(what), real(cmd, what, *a, **k)))
    film = fl.ensure_feature_length(False, recipe=SMALL, root=root, media_dir=media, jobs=1).main_path
    assert [c for c in calls if "segment" in c] == [f"encoding segment {i} of {SMALL.name}" for i in (1, 2)]
    assert sha256_file(film) == sha256_file(build_small(tmp_path / "fresh", tmp_path / "media-fresh"))


def test_a_touched_film_is_checked_again_and_a_changed_one_rebuilt(tmp_path: Path) -> None:
    root, media = tmp_path / "cache", tmp_path / "media"
    film = build_small(root, media).resolve()
    digest = sha256_file(film)
    os.utime(film, ns=(1, 1))                                   # touched, same bytes: kept
    assert fl.ensure_feature_length(False, recipe=SMALL, root=root, media_dir=media).sha256 == digest
    with open(film, "r+b") as f:                                # same size, other bytes: rebuilt
        f.seek(100)
        f.write(b"\0" * 16)
    os.utime(film, ns=(2, 2))
    assert fl.ensure_feature_length(False, recipe=SMALL, root=root, media_dir=media).sha256 == digest
    assert sha256_file(film) == digest


def test_the_cached_film_has_no_repetition_at_2_31_or_2_32() -> None:
    """Bytes at x and x + 2³¹, and at x and x + 2³², differ at 200 sampled offsets each."""
    film = large_cache.cache_dir() / "media" / fl.RECIPE.filename
    if not film.is_file():
        pytest.skip(f"no feature-length video on this machine ({film}): `python -m videos.feature_length` builds it")
    size = film.stat().st_size
    assert size >= fl.RECIPE.min_size
    rng = random.Random(2**31)
    window = 4096
    with open(film, "rb") as f:
        def at(offset: int) -> bytes:
            f.seek(offset)
            return f.read(window)

        for distance in (2**31, 2**32):
            for _ in range(200):
                x = rng.randrange(0, size - distance - window)
                assert at(x) != at(x + distance), f"bytes at {x} and {x} + {distance} are the same {window} bytes"


def test_containers_mount_the_folder_a_media_link_points_into(tmp_path: Path) -> None:
    media, cache = tmp_path / "media", tmp_path / "cache"
    media.mkdir()
    cache.mkdir()
    (cache / "film.mp4").write_bytes(b"x")
    (media / "small.mp4").write_bytes(b"y")
    (media / "film.mp4").symlink_to(cache / "film.mp4")
    assert linked_media_mounts(media) == {str(cache): {"bind": str(cache), "mode": "ro"}}
    settings = Settings(run_dir=tmp_path / "run")
    paths = {"catalog": tmp_path / "c.json", "media": media, "torrents": tmp_path / "t"}
    spec = {s.name: s for s in SERVICES}
    seeder = container_config(spec["seeder"], DockerLayout("r1"), settings, paths, 1234)
    assert seeder["volumes"][str(cache)] == {"bind": str(cache), "mode": "ro"}
    catalog = container_config(spec["catalog_service"], DockerLayout("r1"), settings, paths, 1234)
    assert str(cache) not in catalog["volumes"]


def test_the_upload_bound_is_the_whole_pieces_of_the_ranges_plus_head_and_tail() -> None:
    piece, size = 1000, 10_500                     # 11 pieces, the last of 500 bytes
    bound = upload_bound.bound_for([(4990, 5009), (5100, 5199), (10_400, 20_000)], size, piece)
    assert bound.asked == 20 + 100 + 100
    assert bound.pieces == {0, 1, 4, 5, 9, 10}
    assert bound.limit == 5 * piece + 500


def test_the_counter_is_read_once_it_stops_moving() -> None:
    values = iter([0, 10, 20, 20, 20, 20, 20, 20, 20, 20])
    assert upload_bound.settled(lambda: next(values), quiet_s=0.05, deadline_s=5, poll_s=0.02) == 20
