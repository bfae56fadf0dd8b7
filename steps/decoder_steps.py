"""Decoders (ffprobe, ffmpeg) reading the stream URL, compared with the local file."""

from behave import then, when
from hamcrest import assert_that, close_to, equal_to

from infra.suite import decoders
from videos import load_manifest


def _stream(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    viewer = context.scene.viewer
    return ref, context.world.target.stream_url(viewer.client, ref), viewer.headers()


@when("ffprobe reads {video:Video} through the stream")
def step_probe(context, video):
    ref, url, headers = _stream(context, video)
    context.scene.probe = decoders.probe(url, headers, label=f"{ref.name} through {context.world.target.name}")


@then("it reports the manifest's duration of {video:Video} to within {seconds:Seconds} seconds")
def step_probe_duration(context, video, seconds):
    expected = load_manifest().get(context.world.library[video].name)
    assert_that(context.scene.probe.duration, close_to(expected.duration, seconds), "ffprobe's duration vs. the manifest's")


@then("it reports the manifest's video and audio codecs of {video:Video}")
def step_probe_codecs(context, video):
    expected = load_manifest().get(context.world.library[video].name)
    probe = context.scene.probe
    assert_that((probe.video_codec, probe.audio_codec), equal_to((expected.video_codec, expected.audio_codec)),
                "(video, audio) codecs: ffprobe through the stream vs. the manifest")


@when("ffmpeg decodes the frame at {percent:d} % of {video:Video} through the stream and from the local file")
def step_decode_frame(context, percent, video):
    ref, url, headers = _stream(context, video)
    at = load_manifest().get(ref.name).duration * percent / 100
    context.scene.frames = (decoders.frame_at(url, at, headers, label=f"{ref.name} through {context.world.target.name}"),
                            decoders.frame_at(str(ref.main_path), at, label=f"the local {ref.name}"))


@then("both decoded frames are the same picture")
def step_same_frame(context):
    streamed, local = context.scene.frames
    assert_that((streamed.size, streamed.sha256), equal_to((local.size, local.sha256)),
                f"(raw size, sha256) of the frame decoded at {local.at:.3f}s: through the stream vs. the local file")
