"""The HTTP contract where RFC 9110 allows several answers: plain asserts for what the RFC
requires, `judge.stricter` for what swarmspec's own contract adds (graded non-strict)."""

from behave import given, then, when
from hamcrest import all_of, assert_that, equal_to, is_not

from infra.suite import library, range_answers as answers
from infra.suite.matchers import answered, has_header, has_header_containing, has_status
from infra.suite.cors import allows_origin, allows_preflight, exposes


@then("the range is refused with 416, or ignored by sending all of {video:Video} as RFC 9110 allows")
def step_refused_or_ignored(context, video):
    ref, exchange = context.world.library[video], context.scene.viewer.last
    assert_that(exchange, has_status(416, 200), "RFC 9110 §14.2: a range it cannot serve is refused or ignored")
    if exchange.status == 200:
        assert_that(exchange, answers.serves_file_bytes(ref.whole(), ref.name))


@then("swarmspec's contract wants it refused with 416")
def step_contract_416(context):
    context.scene.judge.stricter(context.scene.viewer.last, has_status(416), "§14.2 MAY ignore the Range header")


@then('a refusal names the size in "Content-Range: {template}"')
def step_refusal_size(context, template):
    exchange = context.scene.viewer.last
    if exchange.status == 416:
        expected = library.expand(template, context.scene.require_video().positions())
        assert_that(exchange, has_header("Content-Range", expected), "RFC 9110 §15.5.17 SHOULD")


@then("the answer is one RFC 9110 allows, and every byte in it is {video:Video}'s own")
def step_allowed_answer(context, video):
    ref, exchange = context.world.library[video], context.scene.viewer.last
    if exchange.status != 416:
        assert_that(exchange, has_status(200, 206))
        assert_that(exchange, answers.serves_file_bytes(ref.whole(), ref.name))


@then("the answer is never a refusal while one of the ranges can be served")
def step_no_416(context):
    assert_that(context.scene.viewer.last, is_not(has_status(416)),
                "RFC 9110 §15.5.17: 416 only when none of the ranges is satisfiable")


@then('swarmspec\'s contract wants exactly the ranges "{served}"')
def step_contract_ranges(context, served):
    ref = context.scene.require_video()
    spans = answers.parse_spans(library.expand(served, ref.positions()))
    context.scene.judge.stricter(context.scene.viewer.last, answers.serves_exactly(spans, ref.size),
                                 "§14.2/§14.6: coalesced, fewer ranges or 200 are allowed too")


@when("the viewer asks for the headers of {video:Video} twice")
def step_head_twice(context, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.crowd = [context.scene.viewer.play(ref, method="HEAD") for _ in range(2)]


@then("both answers carry the same strong ETag")
def step_same_etag(context):
    first, second = context.scene.crowd
    assert_that(first, has_header("ETag"), "RFC 9110 §8.8.3: an origin server SHOULD send an ETag")
    assert_that(first.header("ETag").startswith("W/"), equal_to(False), f"ETag {first.header('ETag')} is weak; "
                "If-Range needs a strong validator (RFC 9110 §13.1.5)")
    assert_that(second, has_header("ETag", first.header("ETag")))


@then("both answers carry the same Last-Modified date")
def step_same_date(context):
    first, second = context.scene.crowd
    assert_that(first, has_header("Last-Modified"), "RFC 9110 §8.8.2: an origin server SHOULD send Last-Modified")
    assert_that(second, has_header("Last-Modified", first.header("Last-Modified")))


@given("the viewer has {video:Video}'s current ETag")
def step_current_etag(context, video):
    exchange = context.scene.viewer.play(context.world.library[video], method="HEAD")
    assert_that(exchange, has_header("ETag"), "RFC 9110 §8.8.3: If-Range needs the server's entity tag")
    context.scene.validator = exchange.header("ETag")


@when('the viewer resumes {video:Video} at "{header}" with If-Range set to that ETag')
def step_resume_current(context, video, header):
    _resume(context, video, header, context.scene.validator)


@when("the viewer resumes {video:Video} at \"{header}\" with If-Range set to '{validator}'")
def step_resume_stale(context, video, header, validator):
    _resume(context, video, header, validator)


def _resume(context, video, header, validator):
    ref = context.scene.video = context.world.library[video]
    context.scene.viewer.play(ref, header, extra={"If-Range": validator})
    context.scene.expected_span = answers.parse_spans(header.split("=", 1)[1])[0]


@when("the viewer asks for the headers of {what} of {video:Video}, then plays it")
def step_head_then_get(context, what, video):
    ref = context.scene.video = context.world.library[video]
    rng = what.strip('"') if what.startswith('"') else None
    context.scene.crowd = [context.scene.viewer.play(ref, rng, method=m) for m in ("HEAD", "GET")]


@then("both answers carry the same status, Content-Type, Accept-Ranges and Content-Range")
def step_head_same(context):
    head, get = context.scene.crowd
    for exchange in (get, head):
        assert_that(exchange, answered(), "two requests that both hang look alike; a hang is a failure")
    assert_that(head, has_status(get.status), "RFC 9110 §9.3.2: HEAD answers as GET would")
    for name in ("Content-Type", "Accept-Ranges", "Content-Range"):
        if get.header(name) is not None:
            assert_that(head, has_header(name, get.header(name)), "RFC 9110 §9.3.2 SHOULD send the same fields")
    if head.header("Content-Length") is not None and get.header("Content-Length") is not None:
        assert_that(head, has_header("Content-Length", get.header("Content-Length")), "RFC 9110 §8.6")


@then("swarmspec's contract wants the same Content-Length, ETag and Last-Modified too")
def step_head_same_strict(context):
    head, get = context.scene.crowd
    wanted = [has_header(n, get.header(n)) for n in ("Content-Length", "ETag", "Last-Modified") if get.header(n)]
    context.scene.judge.stricter(head, all_of(*wanted), "§9.3.2 MAY omit fields determined while generating content")


@when('a player on "{origin}" reads "{header}" of {video:Video}')
def step_cors_get(context, origin, header, video):
    ref = context.scene.video = context.world.library[video]
    context.scene.viewer.play(ref, header, extra={"Origin": origin})


@then('the answer lets "{origin}" read it')
def step_cors_allows(context, origin):
    exchange = context.scene.viewer.last
    assert_that(exchange, has_status(206, 200))
    assert_that(exchange, allows_origin(origin), "Fetch standard, CORS check")


@then("the answer exposes Content-Range and Accept-Ranges to the player")
def step_cors_exposes(context):
    assert_that(context.scene.viewer.last, exposes("Content-Range", "Accept-Ranges"),
                "Fetch standard: headers a range-reading player needs, not CORS-safelisted")


@then("swarmspec's contract wants Content-Length exposed too")
def step_cors_exposes_length(context):
    context.scene.judge.stricter(context.scene.viewer.last, exposes("Content-Length"),
                                 "Content-Length is CORS-safelisted (Fetch standard), so browsers expose it anyway")


@when('a player on "{origin}" asks to send Range and Authorization with a GET of {video:Video}')
def step_cors_preflight(context, origin, video):
    ref = context.scene.video = context.world.library[video]
    url = context.world.target.stream_url(context.scene.viewer.client, ref)
    context.scene.viewer.get(url, method="OPTIONS", anonymous=True, extra={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,range"})


@then('the preflight allows a GET from "{origin}" with the headers Range and Authorization')
def step_cors_preflight_ok(context, origin):
    exchange = context.scene.viewer.last
    assert_that(exchange, all_of(has_status(200, 204), allows_preflight(origin, "GET", ("Range", "Authorization"))),
                "Fetch standard, CORS-preflight")
    assert_that(exchange, is_not(has_header_containing("Access-Control-Allow-Origin", "null")))
