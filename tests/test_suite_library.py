"""The suite's own library: matchers, redaction, range expressions, the test videos as
the steps see them (one record from the catalog on) and what a player reads."""

import json
import struct
from pathlib import Path

import pytest
from hamcrest import assert_that
from hamcrest.core.string_description import StringDescription

from infra.suite import redact
from infra.suite.http import Exchange
from infra.suite.library import CHOSEN_FILES, FRIENDLY_NAMES, Library, VideoRef, evaluate, expand
from infra.suite.matchers import (answered_within, body_equals, content_length_matches_body, first_difference,
                                  has_content_range, has_status)
from infra.suite.player import open_like_a_player, percentages, span_of
from infra.swarm import ranges
from infra.swarm.catalog import Catalog, CatalogEntry
from infra.swarm.content import ContentFile


def exchange(status=206, body=b"", headers=None, rng="bytes=0-3", **timing) -> Exchange:
    return Exchange("GET", "http://127.0.0.1:1/api/stream/x?token=secret", {"Range": rng}, status=status,
                    reason="Partial Content", headers=headers or {}, body=body, **timing)


def mismatch(matcher, item) -> str:
    description = StringDescription()
    assert not matcher.matches(item)
    matcher.describe_mismatch(item, description)
    return str(description)


def test_first_difference():
    assert first_difference(b"abc", b"abc") is None
    assert first_difference(b"abX", b"abc") == 2
    assert first_difference(b"ab", b"abc") == 2
    big = bytes(10000)
    assert first_difference(big[:9000] + b"\x01" + big[9001:], big) == 9000


def test_body_mismatch_names_the_first_differing_file_offset_and_both_bytes():
    text = mismatch(body_equals(b"\x00\x01\x02\x03", "test-large-4k", offset=1000), exchange(body=b"\x00\x01\xff\x03"))
    assert "body offset 2 (file offset 1002)" in text
    assert "got 0xff, the file has 0x02" in text
    assert "token=secret" not in text and "[Range: bytes=0-3]" in text


def test_short_body_mismatch_says_where_it_ends():
    text = mismatch(body_equals(b"abcd", "f"), exchange(body=b"ab"))
    assert "agree up to byte 2" in text


def test_partial_ok_accepts_a_prefix_only_for_aborted_reads():
    aborted = exchange(body=b"ab")
    aborted.aborted_after = 2
    assert body_equals(b"abcd", "f", partial_ok=True).matches(aborted)
    assert not body_equals(b"abcd", "f", partial_ok=True).matches(exchange(body=b"ab"))


def test_status_mismatch_shows_the_json_error():
    text = mismatch(has_status(206), exchange(status=500, body=b'{"error": "boom"}',
                                              headers={"Content-Type": "application/json"}))
    assert "-> 500" in text and "boom" in text


def test_content_range_and_length_matchers():
    good = exchange(body=b"abcd", headers={"Content-Range": "bytes 0-3/10", "Content-Length": "4"})
    assert_that(good, has_content_range("bytes 0-3/10"))
    assert_that(good, content_length_matches_body())
    assert "was absent" in mismatch(has_content_range("bytes 0-3/10"), exchange())
    short = exchange(body=b"ab", headers={"Content-Length": "4"})
    assert "Content-Length '4' but 2 body bytes" in mismatch(content_length_matches_body(), short)


def test_answered_within():
    assert answered_within(1, "total").matches(exchange(elapsed=0.5))
    assert "after 2.000s" in mismatch(answered_within(1, "total"), exchange(elapsed=2.0))
    assert "came never" in mismatch(answered_within(1, "first_byte"), exchange())


def test_redaction_of_headers_urls_and_json():
    assert redact.headers({"Authorization": "Bearer abc.def.ghi", "Range": "bytes=0-1"}) == {
        "Authorization": "Bearer <redacted>", "Range": "bytes=0-1"}
    assert redact.text("/api/stream/x?token=eyJhbGciOi.eyJzdWIi.sig&a=1") == "/api/stream/x?token=<redacted>&a=1"
    body = json.loads(redact.json_body(b'{"token": "t", "nested": {"password": "p"}, "ok": 1}'))
    assert body == {"token": "<redacted>", "nested": {"password": "<redacted>"}, "ok": 1}
    assert redact.json_body(b"\x00\x01") is None


def test_exchange_summary_never_carries_secrets():
    ex = exchange(body=b'{"token": "eyJa.eyJb.c"}', headers={"Set-Cookie": "s=1"})
    ex.request_headers["Authorization"] = "Bearer eyJa.eyJb.c"
    text = json.dumps(ex.summary())
    assert "eyJa" not in text and "secret" not in text and "s=1" not in text


@pytest.mark.parametrize(("expression", "value"), [
    ("size", 1000), ("last", 999), ("size-8192", 1000 - 8192), ("3*piece-1", 767), ("piece+9", 265),
    ("middle", 500), ("size+99999", 100999), ("-5", -5),
])
def test_range_expressions(expression, value):
    assert evaluate(expression, {"size": 1000, "last": 999, "middle": 500, "piece": 256}) == value


@pytest.mark.parametrize("bad", ["__import__('os')", "size/2", "unknown", "1.5", "size**2"])
def test_range_expressions_refuse_anything_else(bad):
    with pytest.raises(ValueError):
        evaluate(bad, {"size": 1000})


def test_expand_header_templates():
    assert expand("bytes={size-100}-{last}", {"size": 1000, "last": 999}) == "bytes=900-999"
    assert expand("bytes=0-1023", {"size": 1}) == "bytes=0-1023"


def test_percentages():
    assert percentages("10%, 75%, 30%, 95% and back to 0%") == [10, 75, 30, 95, 0]
    with pytest.raises(ValueError):
        percentages("nowhere")


def test_span_of_follows_rfc_9110_not_the_response():
    assert span_of(exchange(rng="bytes=-8192"), 100000) == (100000 - 8192, 99999)
    assert span_of(exchange(rng="bytes=90-200"), 100) == (90, 99)
    assert span_of(exchange(rng="items=1-2"), 100) == (0, 99)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def library_over(media: Path) -> Library:
    """Every friendly name's video as one small file under `media` (index at the end)."""
    media.mkdir(exist_ok=True)
    entries = []
    for number, name in enumerate(dict.fromkeys(FRIENDLY_NAMES.values())):
        data = box(b"ftyp", b"isom") + box(b"mdat", bytes([number]) * 1000) + box(b"moov", b"m" * 10)
        chosen = [path for owner, path in CHOSEN_FILES.values() if owner == name]
        if chosen:   # a multi-file torrent: each file its own bytes, the first one its main video
            files = []
            for at, path in enumerate(chosen):
                (media / path).parent.mkdir(parents=True, exist_ok=True)
                (media / path).write_bytes(data + bytes([at]) * (at + 1))
                files.append(ContentFile(path, len(data) + at + 1))
            entries.append(CatalogEntry(name=name, content_path=name, main_file=chosen[0], size=files[0].size,
                                        files=tuple(files), info_hash=f"{number:040x}", torrent_file=f"{name}.torrent",
                                        piece_length=256, seeded=True))
            continue
        (media / f"{name}.mp4").write_bytes(data)
        entries.append(CatalogEntry(name=name, content_path=f"{name}.mp4", main_file=f"{name}.mp4", size=len(data),
                                    files=(ContentFile(f"{name}.mp4", len(data)),), info_hash=f"{number:040x}",
                                    torrent_file=f"{name}.torrent", piece_length=256, seeded=name != "test-unseeded"))
    return Library(Catalog(entries), media, None, {e.info_hash: f"magnet:?xt=urn:btih:{e.info_hash}" for e in entries})


def test_a_video_ref_is_the_catalog_entry_plus_label_and_magnet(tmp_path):
    library = library_over(tmp_path / "media")
    ref = library["the large video"]
    assert isinstance(ref, VideoRef) and isinstance(ref, CatalogEntry)
    assert (ref.label, ref.name) == ("the large video", "test-large-4k")
    assert ref.magnet == f"magnet:?xt=urn:btih:{ref.info_hash}"
    assert ref.main_path == (tmp_path / "media" / "test-large-4k.mp4").absolute()
    assert ref.whole() == ref.main_path.read_bytes() and ref.read(12, 19)[4:] == b"mdat"
    assert ref.positions() == {"size": ref.size, "last": ref.size - 1, "middle": ref.size // 2, "piece": 256}
    assert [r.name for r in library.seeded()] == ["test-small-720p", "test-medium-1080p", "test-large-4k",
                                                  "test-multi-file", "test-matroska-360p", "test-webm-360p",
                                                  "test-season-pack", "test-feature-length"]
    assert all(r.file_index is None for r in library.seeded())
    assert library.has("the feature-length video")
    with pytest.raises(KeyError, match="the small video"):
        library["the huge video"]


class FakeViewer:
    """Answers every play like a server that has the file: 206 with the asked bytes."""

    def play(self, video, range_header=None, read_limit=None):
        data = video.whole()
        decision = ranges.resolve(range_header, len(data))
        body = data[decision.start:decision.end + 1][:read_limit]
        return Exchange("GET", f"http://x/{video.name}", {"Range": range_header}, status=206, body=body)


def test_the_player_jumps_from_the_head_to_the_index_at_the_end(tmp_path):
    video = library_over(tmp_path / "media")["the medium video"]
    reads, found = open_like_a_player(FakeViewer(), video)
    assert [read.start for read in reads] == [0, 12 + 1008, 0]
    assert found == 12 + 1008


def test_a_chosen_file_of_a_pack_reads_that_file(tmp_path):
    library = library_over(tmp_path / "media")
    pack, episode = library["the season pack"], library["episode 3 of the season pack"]
    assert pack.file_index is None and pack.main_file == "test-season-pack/Swarmspec.S01E01.mp4"
    assert (episode.name, episode.info_hash, episode.magnet) == (pack.name, pack.info_hash, pack.magnet)
    assert episode.main_file == "test-season-pack/Swarmspec.S01E03.mkv"
    assert episode.file_index == [f.path for f in pack.files].index(episode.main_file)
    assert episode.whole() == (tmp_path / "media" / episode.main_file).read_bytes() != pack.whole()
    assert episode.size == len(episode.whole())
    with pytest.raises(KeyError, match="Swarmspec.S01E01.mp4"):
        pack.chosen("test-season-pack/nothing.mkv", "nothing")


def test_a_swarm_without_the_feature_length_video_still_has_a_library(tmp_path):
    """SWARMSPEC_LARGE_VIDEO=0: the optional film is left out; any other missing video is an error."""
    full = library_over(tmp_path / "media")
    entries = [full[label] for label in ("the small video", "the medium video", "the large video",
                                         "the multi-file torrent", "the unseeded torrent", "the Matroska video",
                                         "the WebM video", "the season pack")]
    without = Library(Catalog(entries), tmp_path / "media", None, {e.info_hash: e.magnet for e in entries})
    assert not without.has("the feature-length video") and without.has("the large video")
    with pytest.raises(KeyError, match="test-large-4k"):
        Library(Catalog(entries[:2] + entries[3:]), tmp_path / "media", None, {e.info_hash: e.magnet for e in entries})
