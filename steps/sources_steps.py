"""Curating sources."""

import json

from behave import given, then, when
from hamcrest import assert_that, contains_string, equal_to, has_entries, has_key, is_not, empty

from infra.suite.source_shapes import design_description
from infra.suite.matchers import body_equals, content_length_matches_body, has_status


@when("the curator adds {video:Video} as a source")
@given("the curator has added {video:Video} as a source")
def step_add_source(context, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.described = design_description(ref)
    exchange = context.world.target.create_source(context.scene.viewer.client, ref.magnet, **context.scene.described)
    context.scene.viewer.last = exchange
    if exchange.status == 201:
        context.scene.source = exchange.json()


@then("the new source describes the video as it was sent, numbers as numbers")
def step_source_as_sent(context):
    created = context.scene.viewer.last.json()
    assert_that(created, has_entries(context.scene.described), "the design's shapes come back as they were sent")
    for name, value in context.scene.described.items():
        assert_that(type(created[name]).__name__, equal_to(type(value).__name__), f"the type of {name}")


@when("the curator adds {video:Video} as a source with {name} set to {value}")
def step_add_source_with(context, video, name, value):
    ref = context.scene.video = context.world.library[video]
    described = {**design_description(ref), name: json.loads(value)}
    context.scene.viewer.last = context.world.target.create_source(context.scene.viewer.client, ref.magnet, **described)


@then('the refusal names the field "{name}"')
def step_refusal_names(context, name):
    body = context.scene.viewer.last.json()
    assert_that(body, has_entries(field=name, error=is_not(empty())), "a 400 says which field is wrong")


@then("the new source has an id")
def step_source_has_id(context):
    body = context.scene.viewer.last.json()
    assert_that(body, has_key("id"))
    assert_that(str(body["id"]), is_not(empty()))


@then("the viewer can play the new source from the start")
def step_play_new_source(context):
    ref = context.scene.video
    exchange = context.scene.viewer.get(context.world.target.stream_url_for(context.scene.source["id"]))
    assert_that(exchange, has_status(200))
    assert_that(exchange, content_length_matches_body())
    assert_that(exchange, body_equals(ref.whole(), ref.name))


@when('the curator adds a source with the magnet "{magnet}"')
def step_add_bad_source(context, magnet):
    context.scene.viewer.last = context.world.target.create_source(context.scene.viewer.client, magnet)


@then('the error message mentions "{word}"')
def step_error_mentions(context, word):
    body = context.scene.viewer.last.json()
    message = " ".join(str(v) for v in body.values()) if isinstance(body, dict) else str(body)
    assert_that(message.lower(), contains_string(word.lower()))


@when("the backend restarts")
def step_backend_restarts(context):
    context.world.swarm.restart("backend")


@then("the source is still known with the same magnet")
def step_source_still_there(context):
    exchange = context.world.target.get_source(context.scene.viewer.client, context.scene.source["id"])
    context.scene.viewer.last = exchange
    assert_that(exchange, has_status(200))
    assert_that(exchange.json(), has_entries(id=context.scene.source["id"], magnetUri=context.scene.video.magnet))


@then("the viewer can seek to the middle of the source")
def step_seek_middle_of_source(context):
    ref = context.scene.video
    start = ref.size // 2
    end = start + 65535
    exchange = context.scene.viewer.get(context.world.target.stream_url_for(context.scene.source["id"]), f"bytes={start}-{end}")
    context.scene.ranges.answer(exchange, ref, (start, end), "a seek in the source")
