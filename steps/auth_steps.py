"""Access control: credentials, tampered tokens, stream tokens in the URL."""

from urllib.parse import quote

from behave import given, then, when
from hamcrest import assert_that, is_not, has_key

from infra.suite import forged_tokens


@when("an anonymous viewer plays {video:Video}")
def step_anonymous(context, video):
    ref = context.world.library[video]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    context.scene.viewer.anonymous = True
    context.scene.viewer.get(url)


@when("a viewer with {kind} plays {video:Video}")
def step_bad_token(context, kind, video):
    target, client = context.world.target, context.scene.viewer.client
    ref = context.world.library[video]
    url = target.stream_url(client, ref)
    if kind == "an expired stream token":
        token = target.stream_token(client, target.source_id(client, ref), lifetime=1)
        forged_tokens.wait_until_expired(token)
        context.scene.viewer.anonymous = True
        context.scene.viewer.get(f"{url}?token={quote(token)}")
        return
    context.scene.viewer.token_override = forged_tokens.forge(kind, target.token(client))
    context.scene.viewer.get(url)


@when("someone logs in with a wrong password")
def step_wrong_password(context):
    context.scene.viewer.last = context.world.target.login(context.scene.viewer.client, password="wrong-password-on-purpose")


@then("the answer holds no token")
def step_no_token(context):
    body = context.scene.viewer.last.json(default={})
    assert_that(body if isinstance(body, dict) else {}, is_not(has_key("token")))


@given("the viewer holds a stream token for {video:Video}")
def step_hold_stream_token(context, video):
    target, client = context.world.target, context.scene.viewer.client
    ref = context.world.library[video]
    context.scene.stream_token = target.stream_token(client, target.source_id(client, ref))


@when("the viewer's video element plays {video:Video} with that token")
@when("the viewer uses that token to play {video:Video}")
def step_play_with_token(context, video):
    ref = context.world.library[video]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    context.scene.viewer.anonymous = True   # a <video> element sends no Authorization header
    context.scene.viewer.get(f"{url}?token={quote(context.scene.stream_token)}")
