"""Playing and seeking: what a player asks for."""

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, is_, is_not

from infra.suite import library, player
from infra.suite.matchers import body_equals, has_content_range, has_status
from infra.suite.range_support import Outcome
from videos import mp4


@when("the viewer plays {video:Video} from the start")
def step_play(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    context.scene.expected_span = (0, ref.size - 1)
    context.scene.viewer.play(ref)


@when("the viewer plays the fresh copy from the start")
def step_play_fresh(context):
    ref = context.scene.video = context.scene.fresh
    context.scene.expected_span = (0, ref.size - 1)
    context.scene.viewer.play(ref)


@when("the viewer asks for the headers of {video:Video}")
def step_head(context, video):
    context.scene.viewer.play(context.world.library[video], method="HEAD")


@when('the viewer sends "Range: {header}" for {video:Video}')
def step_send_range(context, header, video):
    ref = context.world.library[video]
    context.scene.video = ref
    expanded = library.expand(header, ref.positions())
    exchange = context.scene.viewer.play(ref, expanded)
    context.scene.expected_span = player.span_of(exchange, ref.size)


@when("the viewer watches {video:Video}, seeking to {positions}")
def step_seek_around(context, video, positions):
    ref = context.world.library[video]
    context.scene.video = ref
    percents = player.percentages(positions)
    context.scene.player_reads = player.seek_through(context.scene.viewer, ref, percents)


@then("every answer is 206 with the exact bytes of {video:Video}")
def step_every_answer_exact(context, video):
    ref = context.world.library[video]
    assert_that(context.scene.player_reads, is_not(empty()))
    for read in context.scene.player_reads:
        exchange = read.exchange
        reason = f"player read at offset {read.start}"
        if exchange.status == 200:   # RFC 9110 §14.2 allows the whole video; a target that serves no range lacks seeking
            if context.scene.ranges.answer(exchange, ref, (read.start, ref.size - 1), reason) is Outcome.UNIMPLEMENTED:
                return
            continue
        assert_that(exchange, has_status(206), reason)
        assert_that(exchange, has_content_range(read.expected_content_range(ref.size)), reason)
        assert_that(exchange, body_equals(ref.read(read.start, read.start + len(exchange.body) - 1), ref.name,
                                          offset=read.start), reason)
        assert_that(len(exchange.body), equal_to(read.expected_length(ref.size)), reason)


@given("{video:Video} keeps its index at the end of the file")
def step_index_at_end(context, video):
    ref = context.world.library[video]
    assert_that((mp4.moov_offset(ref.main_path) or -1) > ref.size // 2, is_(True),
                f"{ref.name}: the test video is expected to keep its moov box in its second half")


@when("the viewer's player reads the head, then the index at the end, then plays from the start")
def step_player_tail_first(context):
    ref = context.world.library["the medium video"]
    context.scene.video = ref
    context.scene.player_reads, context.scene.found_index_at = player.open_like_a_player(context.scene.viewer, ref)


@then("the player found the index at the end")
def step_found_index(context):
    ref = context.scene.video
    jump = next((read for read in context.scene.player_reads if read.start > 0 and read.exchange.status == 200), None)
    if jump is not None:
        # the jump to the index got the whole video: unimplemented where the target serves no range at all, else
        # non-strict (RFC 9110 §14.2); either way the index came, byte for byte, inside the whole video
        context.scene.ranges.answer(jump.exchange, ref, (jump.start, ref.size - 1), "the jump to the index")
        return
    assert_that(context.scene.found_index_at, equal_to(mp4.moov_offset(ref.main_path)),
                "offset of the moov box found by walking the served bytes vs. the file's own")
