"""A crowd of players (Locust, in processes of its own: infra.suite.crowd) around what
one viewer does."""

import re

from behave import given, then, when
from hamcrest import assert_that, empty, greater_than, has_length

from infra.ecosystem import clock
from infra.suite import reporting
from infra.suite.crowd.audience import Audience
from videos import load_manifest


def _audience(context, count, ref, seconds):
    world = context.world
    url = world.target.stream_url(context.scene.viewer.client, ref)
    folder = world.settings.reports_dir / "crowds" / re.sub(r"[^a-z0-9]+", "-", context.scenario.name.lower())[:60]
    bitrate = ref.size / load_manifest().get(ref.name).duration
    audience = Audience(count, seconds, url, world.target.auth_headers(context.scene.viewer.client), ref.main_path,
                        bitrate, folder)
    context.add_cleanup(audience.stop)
    context.scene.audience = audience.start()
    audience.wait_until_playing()


def _outcome(context):
    """The crowd's outcome, waited for once (the viewers leave after their time)."""
    scene = context.scene
    if not isinstance(scene.audience, Audience):
        return scene.audience
    outcome = scene.audience.wait()
    scene.audience = outcome
    reporting.attach_file("Locust report of the crowd", outcome.folder / "locust.html")
    reporting.attach_text("the crowd", outcome.summary())
    for name, figures in sorted(outcome.latencies.items()):
        context.world.record_figure(context.scenario, f"crowd {name.split(' @')[0]} p95 (ms)", figures["p95"])
    assert_that(outcome.tallies, has_length(greater_than(0)), f"no viewer of the crowd reported back: {outcome.summary()}")
    return outcome


def _names(tallies) -> str:
    return "; ".join(f"{t['viewer']}: stalls {[round(s, 2) for s in t['rebuffers']]}, startups "
                     f"{[round(s, 2) for s in t['startups']]}, slowest {t['slowest']:.1f} s, errors {t['errors'][:2]}, "
                     f"wrong {t['wrong_bytes'][:1]}" for t in tallies[:4])


@given("{count:d} viewers are playing {video:Video} for {seconds:Seconds} seconds")
@when("{count:d} viewers play {video:Video} at once for {seconds:Seconds} seconds")
def step_crowd(context, count, video, seconds):
    _audience(context, count, context.world.library[video], seconds)


@given("{count:d} viewers are playing the fresh copy for {seconds:Seconds} seconds")
def step_crowd_fresh(context, count, seconds):
    _audience(context, count, context.scene.fresh, seconds)


@then("none of the crowd rebuffered for {seconds:Seconds} second or more")
def step_no_long_rebuffer(context, seconds):
    outcome = _outcome(context)
    assert_that(outcome.with_long_rebuffers(seconds), empty(),
                f"viewers whose playback stalled {seconds:g} s or more ({outcome.summary()}): "
                f"{_names(outcome.with_long_rebuffers(seconds))}")


@then("every viewer of the crowd started within {seconds:Seconds} seconds")
def step_started(context, seconds):
    outcome = _outcome(context)
    assert_that(outcome.slow_starters(seconds), empty(),
                f"viewers who waited more than {seconds:g} s for the first seconds of video: "
                f"{_names(outcome.slow_starters(seconds))}")


@then("every byte the crowd received is the source file's")
def step_exact(context):
    outcome = _outcome(context)
    assert_that(outcome.with_wrong_bytes(), empty(), f"viewers who got wrong bytes: {_names(outcome.with_wrong_bytes())}")
    assert_that(outcome.received_bytes, greater_than(0), f"the crowd received nothing to check: {outcome.summary()}")


@then("every viewer of the crowd kept playing or saw an error within {seconds:Seconds} seconds, never a hang")
def step_bounded(context, seconds):
    outcome = _outcome(context)
    assert_that(outcome.hung(seconds), empty(),
                f"viewers who waited more than {seconds:g} s for one answer: {_names(outcome.hung(seconds))}")


@when("the swarm's seeder dies")
def step_kill_seeder(context):
    context.add_cleanup(context.world.swarm.restore_service, "seeder", context.world.library)
    context.world.swarm.kill_service("seeder")


@when("the swarm's seeder is back")
def step_seeder_back(context):
    context.world.swarm.restore_service("seeder", context.world.library)


@when("the crowd has left")
def step_crowd_left(context):
    _outcome(context)


@when("the crowd has played for {seconds:Seconds} seconds")
def step_played_for(context, seconds):
    clock.SYSTEM.sleep(seconds)
