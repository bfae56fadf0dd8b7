"""The design's performance budgets; figures go to the report and the console."""

from behave import given, then, when
from hamcrest import all_of, assert_that, less_than_or_equal_to, not_none

from infra.suite.matchers import answered_within, body_equals, content_length_matches_body, has_status
from infra.suite.range_support import Outcome

MIB = 1024 * 1024


@given("the swarm seeds a fresh copy of {video:Video} that the backend has never seen")
def step_fresh_copy(context, video):
    ref = context.world.library[video]
    variant = context.world.swarm.fresh_variant(context.scene.viewer.client, ref.name)
    context.add_cleanup(context.world.swarm.remove_variant, variant["hash"])
    context.scene.fresh = ref.variant(variant["hash"], variant["magnetURI"])


@when("the viewer starts the fresh copy")
def step_start_fresh(context):
    context.scene.video, context.scene.expected_span = context.scene.fresh, (0, MIB - 1)
    exchange, context.scene.first_byte_after = context.scene.viewer.start(context.scene.fresh, f"bytes=0-{MIB - 1}")
    context.world.record_figure(context.scenario, "first byte since the magnet (s)", context.scene.first_byte_after)
    context.world.record_figure(context.scenario, "first byte of the stream request (s)", exchange.first_byte_after)


@then("the first byte arrived within {seconds:Seconds} seconds")
def step_first_byte(context, seconds):
    exchange = context.scene.viewer.last
    if exchange.status == 200:   # the whole video instead of the range: RFC 9110 §14.2 allows it (non-strict)
        if context.scene.ranges.answer(exchange, context.scene.require_video(), context.scene.expected_span,
                                       "first byte") is Outcome.UNIMPLEMENTED:
            return
    else:
        assert_that(exchange, has_status(206))
    assert_that(context.scene.first_byte_after, all_of(not_none(), less_than_or_equal_to(seconds)),
                f"budget: seconds from handing over a fresh torrent's magnet to the first byte of {exchange.label}")


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
