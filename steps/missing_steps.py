"""Unknown, malformed and unseeded torrents; seeding that stops and resumes."""

import secrets

from behave import given, when

from infra.suite.targets import ReferenceTarget


def _backend(context) -> ReferenceTarget:
    return context.world.target


@when("the viewer asks for a torrent nobody has heard of")
def step_unknown_hash(context):
    context.scene.viewer.get(_backend(context).stream_url_for(secrets.token_hex(20)))


@when("the viewer asks for a source that does not exist")
def step_unknown_source(context):
    import uuid

    context.scene.viewer.get(_backend(context).stream_url_for(str(uuid.uuid4())))


@when('the viewer asks for the stream "{key}"')
def step_malformed_id(context, key):
    context.scene.viewer.get(_backend(context).stream_url_for(key))


@when("the viewer plays the unseeded torrent")
def step_play_unseeded(context):
    context.scene.viewer.play(context.world.library["the unseeded torrent"])


@given("the seeder has stopped seeding {video:Video}")
def step_seeding_stopped(context, video):
    ref = context.world.library[video]
    context.world.swarm.stop_seeding(context.scene.viewer.client, ref.info_hash)
    context.add_cleanup(context.world.swarm.resume_seeding, context.scene.viewer.client, ref.info_hash)


@when("the seeder seeds {video:Video} again")
def step_seeding_again(context, video):
    ref = context.world.library[video]
    context.world.swarm.resume_seeding(context.scene.viewer.client, ref.info_hash)
