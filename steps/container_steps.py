"""Containers beside MP4 (Matroska, WebM) and files chosen from multi-file torrents:
the media type each answer names, and a player finding a Matroska index."""

from behave import then, when
from hamcrest import assert_that, equal_to, is_in, is_not, none

from infra.suite import player
from infra.suite.matchers import has_header_containing
from videos import matroska


#: What a server sends for a type it does not know (RFC 9110 §8.3).
UNKNOWN = "application/octet-stream"


def _media_type(exchange) -> str:
    """The Content-Type without parameters, lower case ("" when absent)."""
    return exchange.headers.get("Content-Type", "").split(";")[0].strip().lower()


@then('the {what} is served as one of "{types}", or as a type the server does not know')
@then('the {what} are served as one of "{types}", or as a type the server does not know')
def step_served_as_one_of(context, what, types):
    """RFC 9110 §8.3: the type of the representation. application/octet-stream says "some
    bytes" (what a server that does not know the type may send, and what a recipient assumes
    without one): allowed, graded non-strict. Another type, or none, is a false statement."""
    allowed = [t.strip().lower() for t in types.split(",")]
    exchange = context.scene.viewer.last
    reason = f"the Content-Type of the {what} ({exchange.headers.get('Content-Type')!r}): RFC 9110 §8.3"
    assert_that(_media_type(exchange), is_in([*allowed, UNKNOWN]), reason)
    context.scene.judge.stricter(_media_type(exchange), is_in(allowed), f"{UNKNOWN}: a type the server does not know",
                                 reason)


@then('swarmspec\'s contract wants it served as "{wanted}"')
def step_contract_type(context, wanted):
    context.scene.judge.stricter(context.scene.viewer.last, has_header_containing("Content-Type", wanted),
                                 "RFC 9110 §8.3 names no registry a server must pick from")


@when("the viewer opens {video:Video} like a player and reads its index at the place its head names")
def step_open_matroska(context, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.player_reads, context.scene.index_found = player.open_matroska_like_a_player(context.scene.viewer, ref)


@then("the index the player read is the one in the file")
def step_index_read(context):
    ref = context.scene.require_video()
    expected = matroska.file_cues_offset(ref.main_path)
    assert_that(expected, is_not(none()), f"{ref.main_file} names its Cues in its head (the generator's promise)")
    assert_that(context.scene.index_found, equal_to(expected),
                "offset of the Cues named by the SeekHead in the served head vs. in the file")
    tail = next(read.exchange for read in context.scene.player_reads if read.start == expected)
    assert_that(bytes(tail.body[:4]), equal_to(matroska.CUES_ID_BYTES), "the served bytes at that offset open the Cues")
