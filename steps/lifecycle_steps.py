"""Metadata, idle clean-up and the tracker going away."""

from pathlib import PurePosixPath

from infra.ecosystem import clock

from behave import given, then, when
from hamcrest import assert_that, contains_inanyorder, equal_to, greater_than_or_equal_to, has_entries

from infra.suite.range_support import Outcome

MIB = 1024 * 1024


@when("the curator asks for the metadata of {video:Video}")
def step_metadata(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    context.scene.viewer.last = context.world.target.metadata(context.scene.viewer.client, ref.magnet)


@then("the metadata names the info hash of {video:Video}")
def step_metadata_hash(context, video):
    ref = context.world.library[video]
    assert_that(context.scene.viewer.last.json()["infoHash"].lower(), equal_to(ref.info_hash))


@then("the metadata lists every file of {video:Video} with its size")
def step_metadata_files(context, video):
    ref = context.world.library[video]
    files = context.scene.viewer.last.json()["files"]
    expected = [(f.path, f.size) for f in ref.files]
    assert_that([(f["path"], f["length"]) for f in files], contains_inanyorder(*expected))


@then("the metadata names the torrent, its main video and its piece length")
def step_metadata_shape(context):
    ref = context.scene.require_video()
    assert_that(context.scene.viewer.last.json(), has_entries(
        name=PurePosixPath(ref.content_path).name, mainFile=ref.main_file, pieceLength=ref.piece_length),
        "the documented answer: {infoHash, name, files: [{path, length}], mainFile, pieceLength}")


@given("the viewer has watched the first MiB of {video:Video}")
@when("the viewer watches the first MiB of {video:Video} again")
def step_watched_first_mib(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    context.scene.expected_span = (0, MIB - 1)
    exchange = context.scene.viewer.play(ref, f"bytes=0-{MIB - 1}")
    if context.scene.ranges.answer(exchange, ref, (0, MIB - 1), "watching the first MiB") is Outcome.UNIMPLEMENTED:
        return
    context.scene.last_watched_at = clock.monotonic()


@when("nobody watches {video:Video} for longer than the idle time")
def step_nobody_watches(context, video):
    ref = context.world.library[video]
    idle = context.world.settings.idle_timeout
    context.scene.forgotten_at = context.world.backend_forgets(context.scene.viewer, ref, deadline=idle + 10)


@then("the backend no longer holds {video:Video}")
def step_no_longer_held(context, video):
    ref = context.world.library[video]
    idle = context.world.settings.idle_timeout
    held = [t["infoHash"] for t in context.world.target.active_torrents(context.scene.viewer.client)]
    assert_that(ref.info_hash in held, equal_to(False), f"active torrents: {held}")
    # Not before the idle time: cleaned up *after* it (1 s of slack for clock granularity).
    assert_that(context.scene.forgotten_at - context.scene.last_watched_at, greater_than_or_equal_to(idle - 1.0))


@given("the backend does not hold {video:Video}")
@when("the backend has forgotten {video:Video}")
def step_backend_forgot(context, video):
    ref = context.world.library[video]
    context.world.backend_forgets(context.scene.viewer, ref, deadline=context.world.settings.idle_timeout + 10)


@given("the tracker has gone away")
def step_tracker_gone(context):
    context.world.swarm.stop_service("tracker")
    context.add_cleanup(context.world.swarm.ensure_running, "tracker")


@when("the tracker comes back")
def step_tracker_back(context):
    swarm = context.world.swarm
    swarm.start_service("tracker")
    for ref in context.world.library.seeded():
        swarm.wait_until_tracker_knows(context.scene.viewer.client, ref.info_hash)
