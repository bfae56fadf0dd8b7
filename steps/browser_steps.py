"""A real browser plays the stream: Chromium's <video> element and a fetch-based reader
on a page of another origin (infra/suite/browser)."""

from behave import given, then, when
from hamcrest import assert_that, close_to, equal_to, greater_than, greater_than_or_equal_to, is_not

from infra.suite import library, player
from infra.suite.browser import fetched_exchange, stream_url_for_browser
from infra.suite.matchers import body_equals, has_status
from infra.suite.range_support import Outcome
from videos import load_manifest, mp4

#: What a Media Source Extensions player sends when the target itself wants no credentials
#: (players built on hls.js or Shaka often attach their app's Authorization to every read).
APP_AUTHORIZATION = {"Authorization": "Bearer swarmspec-player"}


def _play(context, video, crossorigin=False):
    ref = context.scene.fresh if video is None else context.world.library[video]
    context.scene.video = ref
    url = stream_url_for_browser(context.world.target, context.scene.viewer.client, ref)
    context.scene.playback = context.scene.player.play(url, crossorigin=crossorigin)
    first = context.scene.playback["firstFrame"]["ms"]
    context.world.record_figure(context.scenario, f"{ref.name}: time to first frame (s)", first / 1000)
    context.world.record_figure(context.scenario, f"{ref.name}: canplay (s)", context.scene.playback["canplayMs"] / 1000)


@given("a browser is playing {video:Video} through the stream")
@when("a browser plays {video:Video} through the stream")
def step_browser_plays(context, video):
    _play(context, video)


@given("a browser is playing the fresh copy through the stream")
@when("a browser plays the fresh copy through the stream")
def step_browser_plays_fresh(context):
    _play(context, None)


@when('a browser plays {video:Video} through the stream with crossorigin="anonymous"')
def step_browser_plays_cors(context, video):
    _play(context, video, crossorigin=True)


@then("the player is ready to play it (canplay) and shows its first frame")
def step_canplay(context):
    playback, expected = context.scene.playback, load_manifest().get(context.scene.require_video().name)
    assert_that(playback["canplayMs"], greater_than(0), "canplay fired")
    assert_that(playback["firstFrame"]["presentedFrames"], greater_than(0), "frames presented")
    assert_that((playback["width"], playback["height"]), equal_to((expected.width, expected.height)),
                "the picture's size, as the browser decoded it, vs. the manifest")


@then("the picture moves on by at least {seconds:Seconds} second")
def step_moves_on(context, seconds):
    playback = context.scene.playback
    assert_that(playback["advancedTo"] - playback["advancedFrom"], greater_than_or_equal_to(seconds),
                "currentTime advanced while playing")


@then("the browser read the tail of the file where the index is")
def step_read_tail(context):
    ref = context.scene.require_video()
    index = mp4.moov_offset(ref.main_path)
    starts = context.scene.player.range_starts()
    sent = ", ".join(context.scene.player.ranges_sent())
    if not [s for s in starts if ref.size // 2 < s <= index] and context.scene.ranges.skip_if_never_served(
            f"the browser could reach the index at {index} only by reading the whole video (Range requests: {sent})"):
        return
    assert_that([s for s in starts if ref.size // 2 < s <= index], is_not(equal_to([])),
                f"Range requests the browser sent ({', '.join(context.scene.player.ranges_sent())}): one should start "
                f"in the second half, at or before the index at {index}")


@when("the viewer seeks to {percent:d} % in the browser")
def step_browser_seek(context, percent):
    context.scene.seek = context.scene.player.seek(percent / 100)
    ref = context.scene.require_video()
    context.world.record_figure(context.scenario, f"{ref.name}: seek to a rendered frame (s)",
                                context.scene.seek["frameAfterMs"] / 1000)


@then("the player reports the seek done and shows a frame from {percent:d} % of {video:Video}")
def step_seek_done(context, percent, video):
    seek = context.scene.seek
    assert_that(seek["seekedAfterMs"], greater_than_or_equal_to(0), "seeked fired")
    assert_that(seek["frame"]["mediaTime"], close_to(seek["target"], 0.5),
                f"media time of the first frame presented after seeking to {percent} %")


@then('the page may draw the picture it shows (the answer let the page read it)')
def step_may_draw(context):
    drawn = context.scene.player.draw()
    assert_that(drawn.get("error"), equal_to(None), "drawing the crossorigin video on a canvas (CORS)")
    assert_that(drawn["litPixels"], greater_than(drawn["pixels"] // 10), "pixels of the drawn frame that are not black")


@when('a browser\'s fetch-based player reads {ranges} of {video:Video} with an Authorization header')
def step_fetch_ranges(context, ranges, video):
    ref = context.world.library[video]
    context.scene.video = ref
    viewer = context.scene.viewer
    credentials = context.world.target.auth_headers(viewer.client)
    wanted = [library.expand(r, ref.positions()) for r in ranges.replace('"', "").split(" and ")]
    url = context.world.target.stream_url(viewer.client, ref)
    context.scene.fetched = context.scene.player.read_ranges(url, credentials or APP_AUTHORIZATION, wanted)


@then("the browser asked first (a preflight) and was allowed to send it")
def step_preflight(context):
    preflights = context.scene.player.preflights()
    assert_that(preflights, is_not(equal_to([])), "the browser sent a CORS preflight (OPTIONS) before the reads")
    allowed = all("error" not in answer for answer in context.scene.fetched)
    if context.world.target.auth_headers(context.scene.viewer.client) or allowed:
        for answer in context.scene.fetched:
            assert_that(answer.get("error"), equal_to(None), f"fetch of {answer['range']} from another origin")
        return
    detail = "; ".join(f"{p.status} Allow-Headers={p.allow_headers!r}" for p in preflights)
    context.scene.judge.stricter(allowed, equal_to(True), "the target needs no credentials, so a player need not send "
                                 "Authorization", f"preflights: {detail}; fetches: "
                                 + "; ".join(a.get("error", str(a.get("status"))) for a in context.scene.fetched))


@then("each range arrived as 206 with the exact bytes of {video:Video}, its Content-Range readable by the player")
def step_fetched_exact(context, video):
    ref = context.world.library[video]
    for answer in context.scene.fetched:
        if "error" in answer:
            continue   # graded by the preflight step
        exchange = fetched_exchange(answer)
        start, end = player.span_of(exchange, ref.size)
        if exchange.status == 200:   # the whole video: RFC 9110 §14.2 allows it; no range, no Content-Range to read
            if context.scene.ranges.answer(exchange, ref, (start, end), "a fetch") is Outcome.UNIMPLEMENTED:
                return
            continue
        assert_that(exchange, has_status(206))
        assert_that(exchange, body_equals(ref.read(start, end), ref.name, offset=start))
        assert_that(answer["contentRange"], equal_to(f"bytes {start}-{end}/{ref.size}"),
                    f"Content-Range of {answer['range']} as the page sees it (Access-Control-Expose-Headers)")
