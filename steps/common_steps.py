"""Steps shared by every feature: the swarm, statuses, headers and bodies."""

from behave import given, then
from hamcrest import assert_that, equal_to

from infra.suite import library
from infra.suite.matchers import (answered_within, body_equals, content_length_matches_body, has_content_range,
                                  has_header, has_header_containing, has_no_body, has_status)


@given("the swarm is seeding the test videos")
def step_swarm_seeding(context):
    context.world.swarm.require_seeding(context.scene.viewer.client, context.world.library)


@then("the response status is {status:d}")
def step_status(context, status):
    scene, exchange = context.scene, context.scene.viewer.last
    if status == 206 and exchange.status == 200 and scene.expected_span and "Range" in exchange.request_headers:
        # RFC 9110 §14.2 allows the whole video instead; a current If-Range SHOULD get the range (§13.1.5)
        scene.ranges.answer(exchange, scene.require_video(), scene.expected_span, required_by=(
            "RFC 9110 §13.1.5: a current If-Range validator SHOULD get the range"
            if "If-Range" in exchange.request_headers else None))
        return
    assert_that(exchange, has_status(status))


@then("the response status is one of {statuses:Statuses}")
def step_status_one_of(context, statuses):
    assert_that(context.scene.viewer.last, has_status(*statuses))


@then('the video is served as "{content_type}"')
def step_content_type(context, content_type):
    assert_that(context.scene.viewer.last, has_header_containing("Content-Type", content_type))


@then("the response advertises byte ranges")
def step_accept_ranges(context):
    context.scene.judge.stricter(context.scene.viewer.last, has_header("Accept-Ranges", "bytes"),
                                 "§14.3: a server MAY send Accept-Ranges, and §14.2 need not support ranges at all")


@then("the Content-Length is the size of {video:Video}")
def step_content_length(context, video):
    ref = context.world.library[video]
    assert_that(context.scene.viewer.last, has_header("Content-Length", str(ref.size)))


@then('the Content-Range is "{template}"')
def step_content_range(context, template):
    if context.scene.ranges.was_ignored(context.scene.viewer.last):
        return   # a 200 with the whole video (graded non-strict by the status step) has no Content-Range
    expected = library.expand(template, context.scene.video.positions())
    assert_that(context.scene.viewer.last, has_content_range(expected))


@then("the body is exactly {video:Video}")
def step_body_is_video(context, video):
    ref = context.world.library[video]
    assert_that(context.scene.viewer.last, content_length_matches_body())
    assert_that(context.scene.viewer.last, body_equals(ref.whole(), ref.name))


@then("the body is exactly those bytes of {video:Video}")
def step_body_is_those_bytes(context, video):
    ref = context.world.library[video]
    exchange = context.scene.viewer.last
    if context.scene.ranges.was_ignored(exchange):
        return   # the status step compared the whole video, byte for byte
    start, end = context.scene.expected_span
    assert_that(exchange, content_length_matches_body())
    assert_that(exchange, body_equals(ref.read(start, end), ref.name, offset=start))


@then("the response has no body")
def step_no_body(context):
    assert_that(context.scene.viewer.last, has_no_body())


@then("the answer came within {seconds:Seconds} second")
@then("the answer came within {seconds:Seconds} seconds")
def step_answer_within(context, seconds):
    assert_that(context.scene.viewer.last, answered_within(seconds, "total"))


@then("the answer came within the backend's stream timeout")
def step_within_stream_timeout(context):
    budget = context.world.settings.stream_timeout + 2.0
    assert_that(context.scene.viewer.last, answered_within(budget, "total"), "stream timeout + 2 s of slack")


@then("the server still serves {video:Video} normally")
def step_still_serves(context, video):
    ref = context.world.library[video]
    exchange = context.scene.viewer.play(ref, "bytes=0-1023")
    context.scene.ranges.answer(exchange, ref, (0, 1023), "still serves normally", essential=False)


@then("the viewer can play {video:Video} from the start")
def step_can_play(context, video):
    ref = context.world.library[video]
    exchange = context.scene.viewer.play(ref)
    assert_that(exchange, has_status(200))
    assert_that(exchange, content_length_matches_body())
    assert_that(exchange, body_equals(ref.whole(), ref.name))
    assert_that(len(exchange.body), equal_to(ref.size))
