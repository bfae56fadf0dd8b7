"""Many viewers at once."""

from behave import then, when
from hamcrest import assert_that, equal_to, has_length

from infra.suite.matchers import body_equals, content_length_matches_body, has_status
from infra.suite.range_support import Outcome

MIB = 1024 * 1024


@when("{count:d} viewers each ask for a different part of the large video at the same time")
def step_different_parts(context, count):
    ref = context.world.library["the large video"]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    part = 256 * 1024
    stride = (ref.size - part) // count
    spans = [(i * stride + 7 * i, i * stride + 7 * i + part - 1) for i in range(count)]  # misaligned on purpose
    context.scene.spans = spans
    context.scene.crowd = context.scene.viewer.together([(url, f"bytes={s}-{e}", None) for s, e in spans])


@when("{count:d} viewers ask for the first MiB of the large video at the same time")
def step_same_range(context, count):
    ref = context.world.library["the large video"]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    context.scene.spans = [(0, MIB - 1)] * count
    context.scene.crowd = context.scene.viewer.together([(url, f"bytes=0-{MIB - 1}", None)] * count)


@then("every viewer gets 206 with the exact bytes of their part")
def step_every_part_exact(context):
    ref = context.world.library["the large video"]
    assert_that(context.scene.crowd, has_length(len(context.scene.spans)))
    for (start, end), exchange in zip(context.scene.spans, context.scene.crowd):
        # 206 with the exact part; a 200 with the whole video is what RFC 9110 §14.2 allows (non-strict)
        if context.scene.ranges.answer(exchange, ref, (start, end), "one of the viewers") is Outcome.UNIMPLEMENTED:
            return


@when("{count:d} viewers start the large video at once and {leavers:d} of them leave after 64 KiB")
def step_some_leave(context, count, leavers):
    ref = context.world.library["the large video"]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    limits = [64 * 1024 if i < leavers else None for i in range(count)]
    context.scene.crowd_limits = limits
    context.scene.crowd = context.scene.viewer.together([(url, None, limit) for limit in limits])


@then("every viewer who stayed got the whole large video, byte for byte")
def step_stayers_whole(context):
    ref = context.world.library["the large video"]
    stayers = [e for e, limit in zip(context.scene.crowd, context.scene.crowd_limits) if limit is None]
    leavers = [e for e, limit in zip(context.scene.crowd, context.scene.crowd_limits) if limit is not None]
    assert_that(stayers, has_length(context.scene.crowd_limits.count(None)))
    for exchange in stayers:
        assert_that(exchange, has_status(200))
        assert_that(exchange, content_length_matches_body())
        assert_that(exchange, body_equals(ref.whole(), ref.name))
    for exchange in leavers:  # what they did read before leaving was right too
        assert_that(exchange, body_equals(ref.whole(), ref.name, partial_ok=True))
        assert_that(len(exchange.body), equal_to(64 * 1024))
