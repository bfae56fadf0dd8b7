"""The design's performance budgets; figures go to the report and the console."""

from behave import then, when
from hamcrest import assert_that

from infra.suite.matchers import answered_within, body_equals, content_length_matches_body, has_status

MIB = 1024 * 1024


@when("the viewer starts {video:Video}")
def step_start(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    context.scene.expected_span = (0, MIB - 1)
    exchange = context.scene.viewer.play(ref, f"bytes=0-{MIB - 1}")
    context.world.record_figure(context.scenario, "first byte (s)", exchange.first_byte_after)


@then("the first byte arrived within {seconds:Seconds} seconds")
def step_first_byte(context, seconds):
    exchange = context.scene.viewer.last
    assert_that(exchange, has_status(206))
    assert_that(exchange, answered_within(seconds, "first_byte"), "budget: first byte of a fresh torrent")


@then("the whole answer came within {seconds:Seconds} second")
def step_whole_answer(context, seconds):
    exchange = context.scene.viewer.last
    context.world.record_figure(context.scenario, "cached range total (s)", exchange.elapsed)
    assert_that(exchange, answered_within(seconds, "total"), "budget: a range already downloaded")


@when("{count:d} viewers play {video:Video} from the start at the same time")
def step_many_play(context, count, video):
    ref = context.world.library[video]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    context.scene.crowd = context.scene.viewer.together([(url, None, None)] * count)
    slowest = max((e.elapsed or 0) for e in context.scene.crowd)
    context.world.record_figure(context.scenario, f"{count} concurrent full streams: slowest (s)", slowest)
    context.world.record_figure(context.scenario, f"{count} concurrent full streams: MB/s aggregate",
                                count * ref.size / 1e6 / slowest if slowest else None)


@then("every viewer gets the whole large video, byte for byte")
def step_everyone_whole(context):
    ref = context.world.library["the large video"]
    for exchange in context.scene.crowd:
        assert_that(exchange, has_status(200))
        assert_that(exchange, content_length_matches_body())
        assert_that(exchange, body_equals(ref.whole(), ref.name))
