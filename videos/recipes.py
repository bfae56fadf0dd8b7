"""The test videos as data.

Each recipe fully describes one torrent's content. Everything that influences
the produced bytes lives here (or in the ffmpeg command built from it), so a
recipe's canonical JSON is a sound cache key. No I/O in this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CompanionFile:
    """A small deterministic non-video file shipped next to the video (multi-file torrents)."""

    suffix: str  # appended to the recipe name, e.g. ".srt"
    text: str


@dataclass(frozen=True)
class ContainerFormat:
    """A container and the codecs its recipes use: what ffmpeg writes and what a server must say."""

    extension: str
    muxer: str           # ffmpeg -f
    video_codec: str     # as ffprobe names it
    audio_codec: str
    content_type: str    # the media type a stream of it answers


#: The containers a recipe may ask for. MP4 (H.264 + AAC) is the default; Matroska carries
#: the same codecs; WebM is VP9 + Opus, which Chromium plays and seeks in.
CONTAINERS: dict[str, ContainerFormat] = {
    "mp4": ContainerFormat("mp4", "mp4", "h264", "aac", "video/mp4"),
    "matroska": ContainerFormat("mkv", "matroska", "h264", "aac", "video/x-matroska"),
    "webm": ContainerFormat("webm", "webm", "vp9", "opus", "video/webm"),
}


@dataclass(frozen=True)
class Recipe:
    """How to synthesise one test video (and, for multi-file torrents, its companions)."""

    name: str
    duration: float  # seconds
    width: int
    height: int
    fps: int
    video_bitrate_kbps: int  # average target; maxrate/bufsize are derived from it
    faststart: bool  # True: moov before mdat; False: moov at the end of the file
    multi_file: bool = False  # True: content is a folder named after the recipe
    companions: tuple[CompanionFile, ...] = ()
    audio_bitrate_kbps: int = 64
    audio_frequency_hz: int = 440
    audio_sample_rate: int = 48000
    gop_seconds: int = 2  # regular keyframes so seeking tests have predictable targets
    preset: str = "ultrafast"
    video_source: str = "testsrc2"  # lavfi source; draws a running timestamp in a corner
    # Added later: left out of the canonical form while at their defaults, so the recipes
    # written before them keep their cache keys (a default changes no byte).
    container: str = "mp4"  # a key of CONTAINERS
    stem: str = ""  # the video's file name without extension (default: the recipe's name)
    members: tuple[Recipe, ...] = ()  # more videos of a multi-file torrent, each `<name>.<ext>` in its folder

    @property
    def format(self) -> ContainerFormat:
        return CONTAINERS[self.container]

    @property
    def video_filename(self) -> str:
        return f"{self.stem or self.name}.{self.format.extension}"

    @property
    def content_path(self) -> str:
        """Torrent content relative to the media dir: the file, or the folder for multi-file."""
        return self.name if self.multi_file else self.video_filename

    @property
    def main_file(self) -> str:
        """Relative path (media dir) of the video a backend must stream."""
        if self.multi_file:
            return f"{self.name}/{self.video_filename}"
        return self.video_filename

    def companion_path(self, companion: CompanionFile) -> str:
        """Relative path (media dir) of a companion file."""
        return f"{self.name}/{self.stem or self.name}{companion.suffix}"

    def member_path(self, member: Recipe) -> str:
        """Relative path (media dir) of another video of a multi-file torrent (may be in a subfolder)."""
        return f"{self.name}/{member.video_filename}"

    @property
    def file_paths(self) -> tuple[str, ...]:
        """Every file of the content, relative to the media dir, sorted."""
        return tuple(sorted([self.main_file, *(self.companion_path(c) for c in self.companions),
                             *(self.member_path(m) for m in self.members)]))

    def canonical_json(self) -> str:
        """Stable serialisation (sorted keys, no whitespace) used for hashing."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    def to_dict(self) -> dict[str, Any]:
        data = {**asdict(self), "members": [m.to_dict() for m in self.members]}
        return {k: v for k, v in data.items() if k not in _LATER_DEFAULTS or v != _LATER_DEFAULTS[k]}

    def __post_init__(self) -> None:
        if (self.companions or self.members) and not self.multi_file:
            raise ValueError(f"recipe {self.name!r}: companions and members require multi_file=True")
        if self.container not in CONTAINERS:
            raise ValueError(f"recipe {self.name!r}: container {self.container!r} is not one of {', '.join(CONTAINERS)}")
        if len(set(self.file_paths)) != len(self.file_paths):
            raise ValueError(f"recipe {self.name!r}: two files of the content have the same path")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"recipe {self.name!r}: yuv420p needs even width/height")
        if self.duration <= 0 or self.fps <= 0:
            raise ValueError(f"recipe {self.name!r}: duration and fps must be positive")


#: Fields added after the first recipes, with the default that keeps them out of the cache key.
_LATER_DEFAULTS: dict[str, Any] = {"container": "mp4", "stem": "", "members": []}


def _srt(cues: list[tuple[float, float, str]]) -> str:
    """Render SubRip text; timestamps are HH:MM:SS,mmm and cues are 1-based."""

    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"

    blocks = [f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1)]
    return "\n".join(blocks)


MULTI_FILE_SRT = _srt(
    [
        (0.0, 1.5, "swarmspec multi-file test"),
        (1.5, 3.0, "This subtitle is not the video."),
        (3.0, 5.0, "A backend must stream test-multi-file.mp4."),
    ]
)

MULTI_FILE_NFO = (
    "swarmspec test content: test-multi-file\n"
    "\n"
    "A multi-file torrent. The video is test-multi-file.mp4 (the largest file);\n"
    "test-multi-file.srt and this .nfo are decoys a streaming backend must skip.\n"
    "Synthetic pattern (lavfi testsrc2) and a 440 Hz sine tone. Generated by videos/generate.py.\n"
)

SEASON_PACK_SRT = _srt(
    [
        (0.0, 2.0, "swarmspec season pack, episode 2"),
        (2.0, 4.0, "A subtitle is text: it is not served as video."),
        (4.0, 6.0, "Streamed on its own, it keeps its own type."),
    ]
)


def _episode(name: str, duration: float, container: str = "mp4", frequency: int = 440) -> Recipe:
    """A short video of the season pack; each sounds its own tone so no two are alike."""
    return Recipe(name=name, duration=duration, width=640, height=360, fps=24, video_bitrate_kbps=300,
                  faststart=True, container=container, audio_frequency_hz=frequency)


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="test-small-720p",
        duration=10.0,
        width=1280,
        height=720,
        fps=24,
        video_bitrate_kbps=720,
        faststart=True,
    ),
    Recipe(
        name="test-medium-1080p",
        duration=30.0,
        width=1920,
        height=1080,
        fps=24,
        video_bitrate_kbps=1250,
        faststart=False,  # the "index at the end" case: players must fetch the tail first
    ),
    Recipe(
        name="test-large-4k",
        duration=60.0,
        width=3840,
        height=2160,
        fps=10,  # low frame rate keeps cold generation fast on 2 cores
        video_bitrate_kbps=2600,
        faststart=True,
    ),
    Recipe(
        name="test-multi-file",
        duration=5.0,
        width=640,
        height=360,
        fps=24,
        video_bitrate_kbps=300,
        faststart=True,
        multi_file=True,
        companions=(
            CompanionFile(suffix=".nfo", text=MULTI_FILE_NFO),
            CompanionFile(suffix=".srt", text=MULTI_FILE_SRT),
        ),
    ),
    # Containers beside MP4: Matroska with MP4's codecs (H.264 + AAC), WebM with VP9 + Opus.
    # Each muxer writes its index (Cues) after the clusters: a player reads the tail to seek.
    Recipe(
        name="test-matroska-360p",
        duration=12.0,
        width=640,
        height=360,
        fps=24,
        video_bitrate_kbps=500,
        faststart=True,  # MP4-only; Matroska has no moov
        container="matroska",
    ),
    Recipe(
        name="test-webm-360p",
        duration=12.0,
        width=640,
        height=360,
        fps=24,
        video_bitrate_kbps=500,
        faststart=True,
        container="webm",
    ),
    # A season pack: three episodes (the second, the largest video, is what a backend streams
    # when nobody chooses), one of them Matroska, a sample in a subfolder and a subtitle.
    Recipe(
        name="test-season-pack",
        stem="Swarmspec.S01E02",
        duration=6.0,
        width=640,
        height=360,
        fps=24,
        video_bitrate_kbps=300,
        faststart=True,
        multi_file=True,
        audio_frequency_hz=550,
        companions=(CompanionFile(suffix=".srt", text=SEASON_PACK_SRT),),
        members=(
            _episode("Swarmspec.S01E01", 4.0, frequency=440),
            _episode("Swarmspec.S01E03", 4.0, container="matroska", frequency=660),
            _episode("Sample/Swarmspec.S01E02.sample", 2.0, frequency=880),
        ),
    ),
)


def recipe_names(recipes: tuple[Recipe, ...] = RECIPES) -> list[str]:
    return [r.name for r in recipes]


def get_recipe(name: str, recipes: tuple[Recipe, ...] = RECIPES) -> Recipe:
    """Look a recipe up by name; the KeyError lists the known names."""
    for recipe in recipes:
        if recipe.name == name:
            return recipe
    raise KeyError(f"unknown video {name!r}; known: {', '.join(recipe_names(recipes))}")
