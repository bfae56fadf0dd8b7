"""Containers beside MP4 and files chosen from multi-file torrents: the recipes and their
ffmpeg arguments, the Matroska index reader, a pack generated with a fake encoder, the
target files' `[stream].file_url`, and the reference backend's `?file=` choice."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import libtorrent as lt
import pytest

from infra.backends.reference.engine import NoSuchFile, chosen_file, main_file
from infra.suite.targets import DeclarativeTarget, TargetFileError, declarative
from tests.test_videos import FAKE_VERSION, FakeFfmpeg, run, tiny
from videos import MEDIA_DIR, ffmpeg as ff, generate as gen, load_manifest, matroska
from videos.recipes import CONTAINERS, RECIPES, CompanionFile, Recipe, get_recipe


# -- recipes and their ffmpeg arguments ----------------------------------------------------

def test_each_container_has_its_codecs_muxer_and_type():
    assert {name: (c.extension, c.muxer, c.video_codec, c.audio_codec, c.content_type)
            for name, c in CONTAINERS.items()} == {
        "mp4": ("mp4", "mp4", "h264", "aac", "video/mp4"),
        "matroska": ("mkv", "matroska", "h264", "aac", "video/x-matroska"),
        "webm": ("webm", "webm", "vp9", "opus", "video/webm"),
    }


def test_webm_is_vp9_and_opus_on_one_thread_in_whole_opus_frames():
    args = ff.encode_args(tiny(container="webm"), Path("out.webm"))
    joined = " ".join(args)
    assert "-c:v libvpx-vp9 -threads 1 -row-mt 0" in joined and "-c:a libopus" in joined
    assert ":samples_per_frame=960:" in joined        # 20 ms at 48 kHz: libopus takes whole frames only
    assert args[-3:] == ["-f", "webm", "out.webm"]
    assert "-movflags" not in args and "-sc_threshold" not in args and "+bitexact" in args


def test_matroska_is_h264_and_aac_without_mp4_flags():
    args = ff.encode_args(tiny(container="matroska"), Path("out.mkv"))
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-c:a") + 1] == "aac"
    assert args[-3:] == ["-f", "matroska", "out.mkv"] and "-movflags" not in args
    assert "samples_per_frame" not in " ".join(args)


def test_an_mp4_recipe_keeps_the_arguments_and_the_cache_key_it_had():
    """Fields added later stay out of the canonical form at their defaults: the MP4
    videos generated before them are not rebuilt (and keep their info hashes)."""
    recipe = tiny()
    assert "container" not in recipe.canonical_json() and "members" not in recipe.canonical_json()
    args = ff.encode_args(recipe, Path("o.mp4"))
    assert args[-5:] == ["-movflags", "+faststart", "-f", "mp4", "o.mp4"]
    assert "-sc_threshold" in args and "samples_per_frame" not in " ".join(args)
    assert "container" in tiny(container="webm").canonical_json()


@pytest.mark.parametrize("change", [{"container": "webm"}, {"container": "matroska"}, {"stem": "other"}])
def test_the_cache_key_changes_with_the_container_and_the_file_name(change):
    assert gen.recipe_hash(tiny(**change), FAKE_VERSION) != gen.recipe_hash(tiny(), FAKE_VERSION)


def test_the_cache_key_changes_with_a_member():
    one = tiny("p", multi_file=True, members=(tiny("e1"),))
    two = tiny("p", multi_file=True, members=(tiny("e1", duration=2.0),))
    assert gen.recipe_hash(one, FAKE_VERSION) != gen.recipe_hash(two, FAKE_VERSION)


@pytest.mark.parametrize("fields, message", [
    ({"container": "avi"}, "container 'avi' is not one of"),
    ({"members": (tiny("e1"),)}, "require multi_file=True"),
    ({"multi_file": True, "members": (tiny("x"),), "stem": "x"}, "same path"),
])
def test_a_recipe_that_cannot_be_made_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        tiny("x", **fields)


def test_the_season_pack_layout():
    pack = get_recipe("test-season-pack")
    assert pack.main_file == "test-season-pack/Swarmspec.S01E02.mp4"
    assert pack.file_paths == (
        "test-season-pack/Sample/Swarmspec.S01E02.sample.mp4",
        "test-season-pack/Swarmspec.S01E01.mp4",
        "test-season-pack/Swarmspec.S01E02.mp4",
        "test-season-pack/Swarmspec.S01E02.srt",
        "test-season-pack/Swarmspec.S01E03.mkv",
    )
    # The default (largest video) is neither the first nor the last file: a server that
    # takes either one instead is seen.
    assert pack.duration > max(m.duration for m in pack.members)
    assert {m.name: m.container for m in pack.members}["Swarmspec.S01E03"] == "matroska"
    assert [r.container for r in RECIPES if r.name in ("test-matroska-360p", "test-webm-360p")] == ["matroska", "webm"]


# -- generating a pack (fake encoder) -----------------------------------------------------

class FakeContainers(FakeFfmpeg):
    """The shared fake encoder, probing by file name so members in subfolders are found,
    and answering each container's codecs."""

    def probe(self, exe, path):  # type: ignore[no-untyped-def]
        everything = [r for top in self.recipes for r in (top, *top.members)]
        recipe = next(r for r in everything if Path(path).name.startswith(f".{Path(r.video_filename).name}."))
        return ff.ProbeResult(recipe.duration, recipe.format.video_codec, recipe.format.audio_codec,
                              recipe.width, recipe.height)


def pack_recipe() -> Recipe:
    return tiny("p", multi_file=True, stem="E02", duration=3.0, container="matroska",
                companions=(CompanionFile(".srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n"),),
                members=(tiny("E01"), tiny("Sample/E02.sample", duration=0.5)))


def test_a_pack_is_generated_with_its_members_and_its_subfolder(tmp_path, monkeypatch):
    fake = FakeContainers(monkeypatch)
    video = run(tmp_path, fake, (pack_recipe(),)).get("p")
    assert fake.encodes == ["p", "E01", "Sample/E02.sample"]
    assert [f.path for f in video.files] == ["p/E01.mp4", "p/E02.mkv", "p/E02.srt", "p/Sample/E02.sample.mp4"]
    assert (video.main_file, video.container, video.content_type) == ("p/E02.mkv", "matroska", "video/x-matroska")
    assert (video.video_codec, video.audio_codec, video.moov_at_end) == ("h264", "aac", False)


def test_a_stray_file_in_a_pack_subfolder_is_found_and_removed(tmp_path, monkeypatch):
    fake = FakeContainers(monkeypatch)
    recipe = pack_recipe()
    run(tmp_path, fake, (recipe,))
    media = tmp_path / "media"
    (media / "p" / "Sample" / "stray.nfo").write_text("x")
    (media / "p" / "Extras").mkdir()
    (media / "p" / "Extras" / "junk.bin").write_text("y")
    entry = load_manifest(tmp_path / "manifest.json", media).get("p")
    reason = gen.stale_reason(recipe, entry, gen.recipe_hash(recipe, FAKE_VERSION), media,
                              gen.StatCache(media / gen.STAT_CACHE_NAME))
    assert reason == "unexpected files in p/: Extras/junk.bin, Sample/stray.nfo"
    run(tmp_path, fake, (recipe,))
    assert sorted(str(p.relative_to(media)) for p in (media / "p").rglob("*")) == [
        "p/E01.mp4", "p/E02.mkv", "p/E02.srt", "p/Sample", "p/Sample/E02.sample.mp4"]


# -- the Matroska index -------------------------------------------------------------------

def element(element_id: int, payload: bytes, unknown_size: bool = False) -> bytes:
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else bytes([0x80 | len(payload)])
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size + payload


def matroska_head(cues_position: int | None, unknown_size: bool = False) -> bytes:
    seeks = element(matroska.SEEK, element(matroska.SEEK_ID, bytes.fromhex("1549A966"))
                    + element(matroska.SEEK_POSITION, (100).to_bytes(2, "big")))
    if cues_position is not None:
        seeks += element(matroska.SEEK, element(matroska.SEEK_ID, matroska.CUES_ID_BYTES)
                         + element(matroska.SEEK_POSITION, cues_position.to_bytes(3, "big")))
    segment = element(matroska.SEEK_HEAD, seeks) + element(0xEC, b"\0" * 20)   # a Void after it
    return element(matroska.EBML, b"\x42\x82\x84webm") + element(matroska.SEGMENT, segment, unknown_size)


@pytest.mark.parametrize("unknown_size", [False, True])
def test_the_cues_are_where_the_seek_head_says_from_the_segment_data(unknown_size):
    head = matroska_head(70000, unknown_size)
    segment_data = len(element(matroska.EBML, b"\x42\x82\x84webm")) + 4 + (8 if unknown_size else 1)
    assert matroska.cues_offset(head) == segment_data + 70000


def test_a_head_without_cues_or_not_matroska():
    assert matroska.cues_offset(matroska_head(None)) is None
    with pytest.raises(ValueError, match="EBML header"):
        matroska.cues_offset(b"\0\0\0\x18ftypisom" + b"\0" * 40)
    with pytest.raises(ValueError):
        matroska.cues_offset(matroska_head(5)[:3])


@pytest.mark.parametrize("name", ["test-matroska-360p", "test-webm-360p"])
def test_the_generated_files_name_their_cues_in_their_head(name):
    video = load_manifest().get(name)
    offset = matroska.file_cues_offset(MEDIA_DIR / video.main_file)
    assert offset is not None and video.size // 2 < offset < video.size
    with open(MEDIA_DIR / video.main_file, "rb") as handle:
        handle.seek(offset)
        assert handle.read(4) == matroska.CUES_ID_BYTES


# -- target files: [stream].file_url --------------------------------------------------------

MINIMAL = 'name = "t"\nbase_url = "http://x"\ncapabilities = ["playback"]\n[stream]\nurl = "{base}/v/{name}"\n'


def parse(text: str):
    return declarative.parse(tomllib.loads(text), "my.toml")


@pytest.mark.parametrize("text, expected", [
    (MINIMAL.replace('"playback"', '"playback", "file-choice"'), r"'file-choice' needs \[stream\].file_url"),
    (MINIMAL.replace('"playback"', '"subtitle-files"'), r"'subtitle-files' needs \[stream\].file_url"),
    (MINIMAL + 'file_url = "{base}/v/{name}"\n', r"stream.file_url: .* names no file"),
    (MINIMAL + 'file_url = "{base}/v/{file_number}"\n', r"\{file_number\} .* is not a variable here"),
    (MINIMAL.replace('url = "{base}/v/{name}"', 'url = "{base}/v/{file_index}"'), r"stream.url: \{file_index\}"),
])
def test_a_file_url_is_checked_when_the_file_is_loaded(text, expected):
    with pytest.raises(TargetFileError, match=expected):
        parse(text)


def ref(file_index=None, main_file="pack/Season 1/E01.mkv"):
    return SimpleNamespace(name="pack", magnet="m", info_hash="ab" * 20, size=1, file_index=file_index,
                           main_file=main_file)


def test_a_chosen_file_is_streamed_by_index_or_by_encoded_path():
    by_index = DeclarativeTarget(parse(MINIMAL.replace('"playback"', '"file-choice"')
                                       + 'file_url = "{base}/v/{name}?file={file_index}"\n'), {}, {})
    assert by_index.stream_url(None, ref()) == "http://x/v/pack"
    assert by_index.stream_url(None, ref(3)) == "http://x/v/pack?file=3"
    by_path = DeclarativeTarget(parse(MINIMAL + 'file_url = "{base}/files/{info_hash}/{file_path_url}"\n'), {}, {})
    assert by_path.stream_url(None, ref(0)) == f"http://x/files/{'ab' * 20}/pack/Season%201/E01.mkv"


def test_a_target_without_file_url_says_it_cannot_choose():
    target = DeclarativeTarget(parse(MINIMAL), {}, {})
    with pytest.raises(Exception, match=r"declares no \[stream\].file_url"):
        target.stream_url(None, ref(1))


@pytest.mark.parametrize("name", ["reference", "range-server", "webtorrent", "peerflix"])
def test_the_shipped_targets_can_choose_a_file(name):
    spec = declarative.load(declarative_path(name))
    assert {"file-choice", "subtitle-files"} <= spec.capabilities and spec.stream.file_url


def declarative_path(name: str) -> Path:
    from infra.suite.targets import SHIPPED
    return SHIPPED[name]


# -- the reference backend: ?file= ---------------------------------------------------------

@pytest.fixture(scope="module")
def pack_torrent(tmp_path_factory) -> lt.torrent_info:
    root = tmp_path_factory.mktemp("pack") / "pack"
    (root / "Sample").mkdir(parents=True)
    for name, size in {"E01.mp4": 3000, "E02.mkv": 5000, "E02.srt": 9000, "Sample/s.mp4": 1000}.items():
        (root / name).write_bytes(bytes([len(name)]) * size)
    ct = lt.create_torrent(lt.list_files(str(root)), 16384, lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(root.parent))
    return lt.torrent_info(ct.generate())


def test_the_reference_backend_streams_the_largest_video_unless_a_file_is_chosen(pack_torrent):
    fs = pack_torrent.layout()
    paths = [fs.file_path(i) for i in range(fs.num_files())]
    assert chosen_file(pack_torrent, None) == main_file(pack_torrent)
    assert chosen_file(pack_torrent, None).path == "pack/E02.mkv"   # not the larger subtitle
    for index, path in enumerate(paths):
        by_index, by_path = chosen_file(pack_torrent, str(index)), chosen_file(pack_torrent, path)
        assert by_index == by_path and (by_index.index, by_index.path) == (index, path)
        assert (by_index.offset, by_index.size) == (fs.file_offset(index), fs.file_size(index))


@pytest.mark.parametrize("choice, message", [
    ("4", "has 4 files"), ("99999999999999999999", "has 4 files"), ("pack/E03.mkv", "no file 'pack/E03.mkv'"),
    ("E01.mp4", "no file"), ("-1", "no file"), ("١", "no file"),     # an Arabic-Indic digit is no index
])
def test_a_file_the_torrent_does_not_have_is_named(pack_torrent, choice, message):
    with pytest.raises(NoSuchFile, match=message):
        chosen_file(pack_torrent, choice)


# -- a player opening a Matroska file ------------------------------------------------------

class ServingViewer:
    """Answers every read with the asked bytes of `data` (206), like a server that has the file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.asked = data, []

    def play(self, video, range_header=None, read_limit=None):
        from infra.suite.http import Exchange
        self.asked.append(range_header)
        start = int(range_header.removeprefix("bytes=").split("-")[0])
        body = self.data[start:][:read_limit]
        return Exchange("GET", "http://x/v", {"Range": range_header}, status=206, body=body)


def test_a_player_reads_the_head_then_the_cues_the_head_names():
    from infra.suite.player import open_matroska_like_a_player
    head = matroska_head(200)
    cues_at = matroska.cues_offset(head)
    data = head + b"\0" * (cues_at - len(head)) + matroska.CUES_ID_BYTES + b"\x80"
    viewer = ServingViewer(data)
    reads, found = open_matroska_like_a_player(viewer, SimpleNamespace(size=len(data)))
    assert found == cues_at and viewer.asked == ["bytes=0-", f"bytes={cues_at}-", "bytes=0-"]
    assert reads[1].exchange.body[:4] == matroska.CUES_ID_BYTES


def test_a_player_given_something_else_finds_no_index():
    from infra.suite.player import open_matroska_like_a_player
    viewer = ServingViewer(b"\0\0\0\x18ftypisom" + b"\0" * 100)
    reads, found = open_matroska_like_a_player(viewer, SimpleNamespace(size=112))
    assert found is None and viewer.asked == ["bytes=0-", "bytes=0-"]
