"""Conditional requests (RFC 9110 §13.1.1-§13.1.4, §13.2.2) and HEAD with a Range (§14.2):
plain asserts for what the RFC requires, `judge.stricter` where it allows several answers."""

from behave import given, then, when
from hamcrest import assert_that, is_not

from infra.suite import conditions, player
from infra.suite.matchers import body_equals, content_length_matches_body, has_header, has_no_body, has_status

@given("the viewer holds the validators of {video:Video}")
def step_hold_validators(context, video):
    ref = context.scene.video = context.world.library[video]
    exchange = context.scene.viewer.play(ref, method="HEAD")
    assert_that(exchange, has_status(200), "the validators of the whole video come from a plain HEAD")
    context.scene.validators = conditions.Validators(exchange.header("ETag"), exchange.header("Last-Modified"))


@when('the viewer sends {method:w} for {video:Video} with "{spec}"')
def step_send_conditional(context, method, video, spec):
    ref = context.scene.video = context.world.library[video]
    held = context.scene.validators or conditions.Validators(None, None)
    extra = conditions.headers(spec, held, ref.positions())
    exchange = context.scene.viewer.play(ref, extra.pop("Range", None), method=method, extra=extra)
    context.scene.expected_span = player.span_of(exchange, ref.size)


@then("the answer is 304 Not Modified without a body")
def step_not_modified(context):
    exchange = context.scene.viewer.last
    assert_that(exchange, has_status(304), "RFC 9110 §13.1.2 MUST (If-None-Match) / §13.1.3 SHOULD "
                "(If-Modified-Since): a GET or HEAD whose validator is current is answered 304")
    assert_that(exchange, has_no_body(), "RFC 9110 §15.4.5: a 304 cannot contain content")


@then("the 304 carries the current ETag, and no length but the video's")
def step_not_modified_fields(context):
    exchange, ref, held = context.scene.viewer.last, context.scene.require_video(), context.scene.validators
    if held is not None and held.etag is not None:
        assert_that(exchange, has_header("ETag", held.etag), "RFC 9110 §15.4.5 MUST: the ETag a 200 would carry")
    if exchange.header("Content-Length") is not None:
        assert_that(exchange, has_header("Content-Length", str(ref.size)),
                    "RFC 9110 §8.6: a 304's Content-Length MUST be the 200's, if sent at all")


@then("the video is not served")
def step_not_performed(context):
    assert_that(context.scene.viewer.last, conditions.not_performed(),
                "RFC 9110 §13.1.1 / §13.1.4: an origin server MUST NOT perform the method when the precondition is false")


@then("swarmspec's contract wants 412 Precondition Failed")
def step_contract_412(context):
    context.scene.judge.stricter(context.scene.viewer.last, has_status(412),
                                 "§13.1.1/§13.1.4 only forbid performing the method; 412 is how it MAY say so, "
                                 "and §13.2.2's order (If-Match before If-None-Match) is the recommended one")


@then("{video:Video} is served whole")
def step_served_whole(context, video):
    ref, exchange = context.world.library[video], context.scene.viewer.last
    assert_that(exchange, has_status(200), "RFC 9110 §13.2.2: a precondition that holds, or that must be "
                "ignored (§13.1.3, §13.1.4), lets the request go on")
    if exchange.method == "HEAD":
        assert_that(exchange, has_header("Content-Length", str(ref.size)), "RFC 9110 §9.3.2: the GET's Content-Length")
        assert_that(exchange, has_no_body())
    else:
        assert_that(exchange, content_length_matches_body())
        assert_that(exchange, body_equals(ref.whole(), ref.name))


@then("the answer is not 304 Not Modified")
def step_not_304(context):
    assert_that(context.scene.viewer.last, is_not(has_status(304)),
                "RFC 9110 §13.1.3: a recipient MUST ignore If-Modified-Since on a method other than GET or HEAD")


@then("the Range is ignored: 200 with the whole video's Content-Length and no Content-Range")
def step_head_range_ignored(context):
    exchange, ref = context.scene.viewer.last, context.scene.require_video()
    reason = "RFC 9110 §14.2: a server MUST ignore Range on a method for which range handling is not defined (only GET)"
    assert_that(exchange, has_status(200), reason)
    assert_that(exchange, has_header("Content-Length", str(ref.size)), reason)
    assert_that(exchange, is_not(has_header("Content-Range")), reason)
    assert_that(exchange, has_no_body(), "RFC 9110 §9.3.2: no content in an answer to HEAD")
