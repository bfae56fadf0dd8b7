"""The feature-length video: whole-film answers read only in part, ranges read one after
another, and the seeder's upload for them (infra/suite/upload_bound.py)."""

import re

from behave import then, when
from hamcrest import assert_that, close_to, equal_to, greater_than_or_equal_to, less_than_or_equal_to

from infra.suite import library, player, reporting, upload_bound
from infra.suite.matchers import body_equals, has_content_range, has_header, has_status

MIB = 1024 * 1024


@when("the viewer starts a full GET of {video:Video} and reads its first MiB")
def step_full_get_head(context, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.viewer.play(ref, read_limit=MIB)


@when('the viewer sends "Range: {header}" for {video:Video} and reads the first MiB of the answer')
def step_range_head(context, header, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.viewer.play(ref, library.expand(header, ref.positions()), read_limit=MIB)


@then("the answer announces the whole of {video:Video} in its Content-Length")
def step_announces_whole(context, video):
    ref = context.world.library[video]
    assert_that(context.scene.viewer.last, has_header("Content-Length", str(ref.size)),
                f"{ref.size} B is {ref.size / 2**30:.2f} GiB: a length kept in 32 bits would read {ref.size % 2**32}")


@then("the first MiB of the body is the first MiB of {video:Video}, and more was on its way")
def step_first_mib(context, video):
    ref, exchange = context.world.library[video], context.scene.viewer.last
    assert_that(len(exchange.body), equal_to(MIB), "body bytes read before the suite hung up")
    assert_that(exchange, body_equals(ref.read(0, MIB - 1), ref.name, offset=0))
    assert_that(exchange.aborted_after, equal_to(MIB), "the suite hung up after 1 MiB, with the body still coming")


@then("a Content-Length, if the answer has one, is the size of {video:Video}")
def step_head_length(context, video):
    ref, head = context.world.library[video], context.scene.viewer.last
    if "Content-Length" in head.headers:   # §8.6: MUST NOT announce another length than GET's
        step_announces_whole(context, video)
    context.scene.judge.stricter(head, has_header("Content-Length", str(ref.size)),
                                 "§9.3.2 MAY omit fields (Content-Length) determined while generating content",
                                 f"HEAD of {ref.name}")


@when("the viewer reads {ranges} of the fresh copy, one after another")
def step_read_ranges(context, ranges):
    ref = context.scene.video = context.scene.fresh
    context.scene.large_reads = []
    for quoted in re.findall(r'"([^"]+)"', ranges):
        header = library.expand(quoted, ref.positions())
        exchange = context.scene.viewer.play(ref, header)
        context.scene.large_reads.append((header, player.span_of(exchange, ref.size), exchange))


@then("each answer is 206 with exactly those bytes of the fresh copy")
def step_each_exact(context):
    ref = context.scene.fresh
    for header, (start, end), exchange in context.scene.large_reads:
        reason = f"GET {ref.label}, Range: {header}"
        assert_that(exchange, has_status(206), reason)
        assert_that(exchange, has_content_range(f"bytes {start}-{end}/{ref.size}"), reason)
        assert_that(exchange, body_equals(ref.read(start, end), ref.name, offset=start), reason)


@then("the seeder uploaded no more of the fresh copy than the pieces holding those ranges and the file's head and tail")
def step_upload_bound(context):
    ref, client = context.scene.fresh, context.scene.viewer.client
    bound = upload_bound.bound_for([span for _, span, _ in context.scene.large_reads], ref.size, ref.piece_length)
    uploaded = upload_bound.settled(lambda: context.world.swarm.uploaded(client, ref.info_hash))
    for name, value in (("asked (B)", bound.asked), ("bound (B)", bound.limit), ("seeder uploaded (B)", uploaded)):
        context.world.record_figure(context.scenario, name, value)
    reporting.attach_text("the seeder's upload against the bytes asked", bound.describe(uploaded))
    assert_that(uploaded, greater_than_or_equal_to(bound.asked),
                "the seeder's counter: the fresh copy has no other seeder, so every byte served came from it")
    context.scene.judge.stricter(uploaded, less_than_or_equal_to(bound.limit),
                                 "neither RFC 9110 nor BEP 3 limits what a server fetches from the swarm "
                                 "(a torrent client may download the whole torrent)", bound.describe(uploaded))


@then("the player reports the seek done and shows a frame from {percent:d} % of the fresh copy")
def step_seek_done_fresh(context, percent):
    seek = context.scene.seek
    assert_that(seek["seekedAfterMs"], greater_than_or_equal_to(0), "seeked fired")
    assert_that(seek["frame"]["mediaTime"], close_to(seek["target"], 0.5),
                f"media time of the first frame presented after seeking to {percent} %")
