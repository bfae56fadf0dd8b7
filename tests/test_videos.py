"""Unit tests for the deterministic test-video generator (videos/).

Everything here runs in a few seconds: the cache logic uses a fake encoder that
writes hand-built MP4 box layouts; only one test runs the real ffmpeg, on
1 s 64x64 clips.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import pytest

# `pytest tests/...` puts tests/ (not the repo root) on sys.path; make `videos` importable
# without depending on a pytest config file (pythonpath = ["."] would make this redundant).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import videos  # noqa: E402
from videos import Manifest, ManifestError, Video, VideoFile, load_manifest  # noqa: E402
from videos import ffmpeg as ff  # noqa: E402
from videos import generate as gen  # noqa: E402
from videos.recipes import RECIPES, CompanionFile, Recipe, get_recipe  # noqa: E402

FAKE_VERSION = "ffmpeg version fake-1.0 Copyright (c) the FFmpeg developers"


def box(kind: str, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def tiny(name: str = "tiny", **overrides: object) -> Recipe:
    fields: dict[str, object] = dict(
        name=name, duration=1.0, width=64, height=64, fps=10, video_bitrate_kbps=50, faststart=True
    )
    fields.update(overrides)
    return Recipe(**fields)  # type: ignore[arg-type]


# --- recipes and hashing ----------------------------------------------------------


def test_contract_names_and_layouts() -> None:
    by_name = {r.name: r for r in RECIPES}
    assert list(by_name) == ["test-small-720p", "test-medium-1080p", "test-large-4k", "test-multi-file",
                             "test-matroska-360p", "test-webm-360p", "test-season-pack"]
    assert by_name["test-medium-1080p"].faststart is False
    assert all(by_name[n].faststart for n in ("test-small-720p", "test-large-4k"))
    multi = by_name["test-multi-file"]
    assert multi.content_path == "test-multi-file"
    assert multi.main_file == "test-multi-file/test-multi-file.mp4"
    assert multi.file_paths == (
        "test-multi-file/test-multi-file.mp4",
        "test-multi-file/test-multi-file.nfo",
        "test-multi-file/test-multi-file.srt",
    )
    with pytest.raises(KeyError, match="test-small-720p"):
        get_recipe("nope")


def test_srt_is_valid_subrip() -> None:
    srt = next(c.text for c in get_recipe("test-multi-file").companions if c.suffix == ".srt")
    blocks = srt.strip().split("\n\n")
    assert len(blocks) >= 2
    for number, block in enumerate(blocks, 1):
        index, timing, *text = block.split("\n")
        assert index == str(number) and text
        assert len(timing) == 29 and timing[12:17] == " --> "


def test_recipe_hash_is_stable() -> None:
    a = gen.recipe_hash(tiny(), FAKE_VERSION)
    assert a == gen.recipe_hash(tiny(), FAKE_VERSION)  # equal recipes, fresh objects
    assert len(a) == 64 and int(a, 16) >= 0
    # Golden canonical form: sorted keys, no whitespace, tuples as lists.
    assert tiny().canonical_json() == (
        '{"audio_bitrate_kbps":64,"audio_frequency_hz":440,"audio_sample_rate":48000,"companions":[],'
        '"duration":1.0,"faststart":true,"fps":10,"gop_seconds":2,"height":64,"multi_file":false,'
        '"name":"tiny","preset":"ultrafast","video_bitrate_kbps":50,"video_source":"testsrc2","width":64}'
    )


@pytest.mark.parametrize(
    "change",
    [
        {"duration": 2.0},
        {"video_bitrate_kbps": 51},
        {"faststart": False},
        {"fps": 12},
        {"preset": "veryfast"},
        {"multi_file": True, "companions": (CompanionFile(".nfo", "x"),)},
    ],
)
def test_recipe_hash_changes_with_recipe(change: dict[str, object]) -> None:
    assert gen.recipe_hash(tiny(**change), FAKE_VERSION) != gen.recipe_hash(tiny(), FAKE_VERSION)


def test_recipe_hash_changes_with_ffmpeg_build_and_companion_text() -> None:
    assert gen.recipe_hash(tiny(), FAKE_VERSION) != gen.recipe_hash(tiny(), FAKE_VERSION + "x")
    one = tiny(multi_file=True, companions=(CompanionFile(".nfo", "a"),))
    two = tiny(multi_file=True, companions=(CompanionFile(".nfo", "b"),))
    assert gen.recipe_hash(one, FAKE_VERSION) != gen.recipe_hash(two, FAKE_VERSION)


# --- manifest -------------------------------------------------------------------------


def sample_video(media_dir: Path, name: str, content_path: str, files: tuple[VideoFile, ...], **facts: object) -> Video:
    """A manifest entry whose main file is `files[0]`; encoder facts default to a 720p clip."""
    main = files[0]
    encoded: dict[str, object] = dict(duration=10.0, width=1280, height=720, resolution="1280x720", video_codec="h264",
                                      audio_codec="aac", container="mp4", content_type="video/mp4", moov_at_end=False,
                                      recipe_hash="b" * 64)
    return Video(name=name, content_path=content_path, main_file=main.path, files=files, size=main.size,
                 sha256=main.sha256, media_dir=media_dir, **{**encoded, **facts})  # type: ignore[arg-type]


def sample_manifest(media_dir: Path) -> Manifest:
    single = sample_video(media_dir, "one", "one.mp4", (VideoFile("one.mp4", 10, "a" * 64),))
    two = (VideoFile("two/two.mp4", 20, "c" * 64), VideoFile("two/two.srt", 5, "d" * 64))
    multi = sample_video(media_dir, "two", "two", two, duration=5.0, width=640, height=360, resolution="640x360",
                         moov_at_end=True, recipe_hash="e" * 64)
    return Manifest(ffmpeg=FAKE_VERSION, videos=(single, multi))


def test_manifest_round_trip(tmp_path: Path) -> None:
    manifest = sample_manifest(tmp_path / "media")
    path = tmp_path / "manifest.json"
    path.write_text(manifest.to_json(), encoding="utf-8")
    loaded = load_manifest(path)
    assert loaded == manifest
    assert loaded.to_json() == path.read_text(encoding="utf-8")  # stable text
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["schema", "ffmpeg", "videos"] and data["schema"] == 1
    assert list(data["videos"][0])[:3] == ["name", "content_path", "main_file"]
    assert path.read_text(encoding="utf-8").startswith('{\n  "schema": 1,')


def test_manifest_helpers(tmp_path: Path) -> None:
    media = tmp_path / "media"
    manifest = sample_manifest(media)
    one, two = manifest.get("one"), manifest.get("two")
    assert one.main_path == (media / "one.mp4").absolute()
    assert two.content_abspath == (media / "two").absolute()
    assert (one.is_multi_file, two.is_multi_file) == (False, True)
    with pytest.raises(KeyError, match="one, two"):
        manifest.get("three")
    media.mkdir()
    (media / "one.mp4").write_bytes(bytes(range(10)))
    assert one.read(2, 4) == b"\2\3\4"           # both ends included, as in an HTTP range
    assert one.whole() == bytes(range(10))
    assert one.read(8, 100) == b"\x08\x09"
    with pytest.raises(ValueError):
        one.read(-1, 1)


def test_default_paths() -> None:
    assert videos.MEDIA_DIR == videos.VIDEOS_DIR / "media"
    assert videos.MANIFEST_PATH == videos.VIDEOS_DIR / "manifest.json"


def test_load_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="videos.generate"):
        load_manifest(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 99, "videos": []}', encoding="utf-8")
    with pytest.raises(ManifestError, match="schema"):
        load_manifest(bad)


# --- cache decisions with a fake encoder ---------------------------------------------------


class FakeFfmpeg:
    """Writes a tiny, recipe-dependent MP4 box layout instead of encoding."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, wrong_layout: bool = False) -> None:
        self.encodes: list[str] = []
        self.wrong_layout = wrong_layout
        monkeypatch.setattr(gen, "find_ffmpeg", lambda: "/fake/ffmpeg")
        monkeypatch.setattr(gen, "ffmpeg_version", lambda exe: FAKE_VERSION)
        monkeypatch.setattr(gen, "run_encode", self.run_encode)
        monkeypatch.setattr(gen, "probe", self.probe)

    def run_encode(self, exe, recipe, output, timeout, on_progress=None, cancel=None) -> None:  # type: ignore[no-untyped-def]
        self.encodes.append(recipe.name)
        mdat = box("mdat", recipe.canonical_json().encode() * 50)
        moov = box("moov", b"\0" * 16)
        front = recipe.faststart != self.wrong_layout
        Path(output).write_bytes(box("ftyp", b"isom") + (moov + mdat if front else mdat + moov))
        if on_progress:
            on_progress(1.0)

    def probe(self, exe, path):  # type: ignore[no-untyped-def]
        recipe = next(r for r in self.recipes if Path(path).name.startswith(f".{r.name}."))
        return ff.ProbeResult(recipe.duration, "h264", "aac", recipe.width, recipe.height)

    recipes: tuple[Recipe, ...] = ()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeFfmpeg:
    return FakeFfmpeg(monkeypatch)


def run(tmp_path: Path, fake: FakeFfmpeg, recipes: tuple[Recipe, ...], **kw: object) -> Manifest:
    fake.recipes = recipes
    return gen.ensure_videos(
        progress=False, recipes=recipes, media_dir=tmp_path / "media", manifest_path=tmp_path / "manifest.json", **kw
    )  # type: ignore[arg-type]


def test_cache_unchanged_recipe_is_skipped(tmp_path: Path, fake: FakeFfmpeg) -> None:
    first = run(tmp_path, fake, (tiny("a"), tiny("b", faststart=False)))
    assert sorted(fake.encodes) == ["a", "b"]
    assert first.get("a").moov_at_end is False and first.get("b").moov_at_end is True  # measured
    before = (tmp_path / "manifest.json").stat().st_mtime_ns
    second = run(tmp_path, fake, (tiny("a"), tiny("b", faststart=False)))
    assert sorted(fake.encodes) == ["a", "b"]
    assert second == first
    assert (tmp_path / "manifest.json").stat().st_mtime_ns == before  # not rewritten


def test_cache_changed_recipe_regenerates_only_that_video(tmp_path: Path, fake: FakeFfmpeg) -> None:
    run(tmp_path, fake, (tiny("a"), tiny("b")))
    fake.encodes.clear()
    manifest = run(tmp_path, fake, (tiny("a", video_bitrate_kbps=60), tiny("b")))
    assert fake.encodes == ["a"]
    assert manifest.get("a").recipe_hash == gen.recipe_hash(tiny("a", video_bitrate_kbps=60), FAKE_VERSION)


def test_cache_size_mismatch_regenerates(tmp_path: Path, fake: FakeFfmpeg) -> None:
    first = run(tmp_path, fake, (tiny("a"),))
    with open(first.get("a").main_path, "ab") as f:
        f.write(b"junk")
    fake.encodes.clear()
    second = run(tmp_path, fake, (tiny("a"),))
    assert fake.encodes == ["a"]
    assert second.get("a").main_path.stat().st_size == first.get("a").size


def test_cache_same_size_corruption_is_caught_by_sha(tmp_path: Path, fake: FakeFfmpeg) -> None:
    first = run(tmp_path, fake, (tiny("a"),))
    path = first.get("a").main_path
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # coarse-mtime filesystems
    fake.encodes.clear()
    run(tmp_path, fake, (tiny("a"),))
    assert fake.encodes == ["a"]


def test_cache_missing_file_and_force(tmp_path: Path, fake: FakeFfmpeg) -> None:
    first = run(tmp_path, fake, (tiny("a"),))
    first.get("a").main_path.unlink()
    run(tmp_path, fake, (tiny("a"),))
    run(tmp_path, fake, (tiny("a"),), force=True)
    assert fake.encodes == ["a", "a", "a"]


def test_stale_reason_explains(tmp_path: Path, fake: FakeFfmpeg) -> None:
    recipe = tiny("a")
    manifest = run(tmp_path, fake, (recipe,))
    media = tmp_path / "media"
    cache = gen.StatCache(media / gen.STAT_CACHE_NAME)
    good = gen.recipe_hash(recipe, FAKE_VERSION)
    assert gen.stale_reason(recipe, manifest.get("a"), good, media, cache) is None
    assert gen.stale_reason(recipe, None, good, media, cache) == "not generated yet"
    assert "recipe" in (gen.stale_reason(recipe, manifest.get("a"), "0" * 64, media, cache) or "")


def test_multi_file_folder_is_cleaned_and_checked(tmp_path: Path, fake: FakeFfmpeg) -> None:
    recipe = tiny("m", multi_file=True, companions=(CompanionFile(".srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n"),))
    manifest = run(tmp_path, fake, (recipe,))
    video = manifest.get("m")
    assert video.is_multi_file and video.content_path == "m" and video.main_file == "m/m.mp4"
    assert [f.path for f in video.files] == ["m/m.mp4", "m/m.srt"]
    (tmp_path / "media" / "m" / "stray.txt").write_text("x")
    run(tmp_path, fake, (recipe,))
    assert fake.encodes == ["m", "m"]
    assert sorted(p.name for p in (tmp_path / "media" / "m").iterdir()) == ["m.mp4", "m.srt"]


def test_layout_expectation_mismatch_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeFfmpeg(monkeypatch, wrong_layout=True)
    with pytest.raises(gen.GenerationError, match="moov"):
        run(tmp_path, fake, (tiny("a"),))
    media = tmp_path / "media"
    assert not (media / "a.mp4").exists()  # the bad encode was never installed
    assert not list(media.glob("**/*.partial"))


def test_interrupted_partial_files_are_swept(tmp_path: Path, fake: FakeFfmpeg) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / ".a.mp4.xyz.partial").write_bytes(b"half")
    run(tmp_path, fake, (tiny("a"),))
    assert not list(media.glob("*.partial"))


def test_only_keeps_other_entries(tmp_path: Path, fake: FakeFfmpeg) -> None:
    run(tmp_path, fake, (tiny("a"), tiny("b")))
    manifest = run(tmp_path, fake, (tiny("a"), tiny("b", fps=12)), only=["a"])
    assert manifest.names == ["a", "b"]
    assert fake.encodes.count("b") == 1  # b's recipe changed but it was not selected
    with pytest.raises(KeyError, match="known"):
        run(tmp_path, fake, (tiny("a"),), only=["zzz"])


def test_cli_rejects_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        gen.main(["--only", "nope"])
    assert exit_info.value.code == 2
    assert "test-small-720p" in capsys.readouterr().err


# --- one real encode: determinism ------------------------------------------------------------


def _real_ffmpeg() -> str | None:
    try:
        return ff.find_ffmpeg()
    except ff.FfmpegNotFoundError:
        return None


@pytest.mark.skipif(_real_ffmpeg() is None, reason="no ffmpeg available")
def test_real_tiny_encode_is_byte_identical(tmp_path: Path) -> None:
    """1 s 64x64 clips through the full pipeline twice (< 1 s): same bytes, measured layouts."""
    recipes = (
        tiny("front"),
        tiny("back", faststart=False, multi_file=True, companions=(CompanionFile(".nfo", "tiny\n"),)),
    )
    manifests = [
        gen.ensure_videos(
            progress=False,
            recipes=recipes,
            media_dir=tmp_path / run_dir / "media",
            manifest_path=tmp_path / run_dir / "manifest.json",
        )
        for run_dir in ("one", "two")
    ]
    one, two = manifests
    assert one.to_json() == two.to_json()
    for name in ("front", "back"):
        assert one.get(name).main_path.read_bytes() == two.get(name).main_path.read_bytes()
    assert one.get("front").moov_at_end is False
    assert one.get("back").moov_at_end is True
    assert one.get("back").main_path.name == "back.mp4"
