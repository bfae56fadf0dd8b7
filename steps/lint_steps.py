"""HTTP lint: httplint's verdict on the answers a player gets."""

from behave import then, when
from hamcrest import assert_that, empty, is_not

from infra.suite import library, lint
from infra.suite.matchers import has_status
from infra.suite.range_answers import serves_file_bytes

PREFLIGHT = {"Origin": "http://player.example", "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "range, authorization"}


@when("the viewer sends these requests for {video:Video}:")
def step_send_requests(context, video):
    ref = context.world.library[video]
    context.scene.video = ref
    viewer, url = context.scene.viewer, context.world.target.stream_url(context.scene.viewer.client, ref)
    for row in context.table:
        if row["method"] == "OPTIONS":   # what a browser sends first: no credentials, the CORS request headers
            context.scene.crowd.append(viewer.get(url, method="OPTIONS", extra=PREFLIGHT, anonymous=True))
            continue
        rng = library.expand(row["range"], ref.positions()) if row["range"].strip() else None
        context.scene.crowd.append(viewer.get(url, rng, method=row["method"]))


@then("every body is exactly the bytes of {video:Video} it names")
def step_bodies_exact(context, video):
    ref = context.world.library[video]
    answers = [e for e in context.scene.crowd if e.method == "GET" and e.status in (200, 206)]
    assert_that(answers, is_not(empty()), "no GET was answered with a body")
    for exchange in answers:
        assert_that(exchange, serves_file_bytes(ref.whole(), ref.name))
    for exchange in context.scene.crowd:
        assert_that(exchange, has_status(*range(200, 500)), "every request gets an answer, never a 5xx")


@then("the linter finds no errors in those answers")
def step_no_lint_errors(context):
    assert_that(context.scene.crowd, lint.lint_clean(lint.ERROR))


@then("swarmspec's contract wants no linter warnings either")
def step_no_lint_warnings(context):
    context.scene.judge.stricter(context.scene.crowd, lint.lint_clean(lint.WARNING),
                                 "httplint warnings are advice, not RFC 9110 requirements", "httplint")
