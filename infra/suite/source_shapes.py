"""What a curator says about a test video when registering it as a source, in the design's
own shapes (Miauflix's ``MovieSource``): ``quality`` one of its labels (``"HD"``, ``"FHD"``,
``"4K"``...), ``resolution`` the vertical resolution as a number of pixels, ``size`` a number
of bytes, ``videoCodec`` one of its codec names (``"X264"``...). The suite sends these, not
shapes of its own, so a backend that stops taking the design's request is noticed."""

from __future__ import annotations

from videos import load_manifest

from infra.suite.library import VideoRef

#: The design's Quality labels by the least vertical resolution that earns them.
_QUALITIES = ((4320, "8K"), (2160, "4K"), (1440, "2K"), (1080, "FHD"), (720, "HD"), (0, "SD"))
#: The design's VideoCodec names for the codecs ffprobe reports.
_CODECS = {"h264": "X264", "hevc": "X265", "av1": "AV1", "vp9": "VP9", "vp8": "VP8", "mpeg4": "MPEG4"}


def design_description(video: VideoRef) -> dict[str, object]:
    """quality, resolution, size and videoCodec of `video`, as the design would send them."""
    described = load_manifest().get(video.name)
    return {
        "quality": next(label for least, label in _QUALITIES if described.height >= least),
        "resolution": described.height,
        "size": video.size,
        "videoCodec": _CODECS.get(described.video_codec, described.video_codec.upper()),
    }
