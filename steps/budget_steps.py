"""Budgets for what a viewer feels: explicit numbers, or the transfer time of what the
viewer needs on a slow swarm plus a stated margin (infra/suite/budgets.py)."""

from behave import given, then
from hamcrest import assert_that, greater_than_or_equal_to, less_than, less_than_or_equal_to

from infra.suite import budgets, reporting


def _figure(context, name, value):
    context.world.record_figure(context.scenario, name, value)


def _rate(context) -> float:
    if context.scene.swarm_rate is None:
        raise AssertionError("no upload limit set: a Given step must slow the swarm first")
    return context.scene.swarm_rate


def _derived(context, figure: str, need: budgets.Need, margin: float) -> float:
    """The budget for `need` at the scenario's swarm rate, attached with how it was derived."""
    reporting.attach_text(f"budget: {figure}", need.describe(_rate(context), margin))
    _figure(context, f"budget: {figure} (s)", need.seconds_at(_rate(context), margin))
    return need.seconds_at(_rate(context), margin)


@given("the swarm uploads at most {rate:Seconds} MB/s")
def step_slow_swarm(context, rate):
    limit = int(rate * budgets.MB)
    context.world.swarm.set_upload_rate(context.scene.viewer.client, limit)
    context.add_cleanup(context.world.swarm.set_upload_rate, context.scene.viewer.client, 0)
    context.scene.swarm_rate = float(limit)


@then("the first frame showed within {seconds:Seconds} seconds")
def step_first_frame_within(context, seconds):
    shown = context.scene.playback["firstFrame"]["ms"] / 1000
    assert_that(shown, less_than_or_equal_to(seconds), "budget: seconds to the first frame of a fresh torrent")


@then("the first frame showed within the transfer time of what it needs at that rate plus {margin:Seconds} seconds")
def step_first_frame_derived(context, margin):
    budget = _derived(context, "first frame", budgets.first_frame(context.scene.require_video()), margin)
    step_first_frame_within(context, budget)


@then("the frame at the seek point showed within {seconds:Seconds} seconds")
def step_seek_within(context, seconds):
    shown = context.scene.seek["frameAfterMs"] / 1000
    assert_that(shown, less_than_or_equal_to(seconds), "budget: seconds from the seek to a frame shown there")


@then("the frame at the seek point showed within the transfer time of what it needs at that rate plus {margin:Seconds} seconds")
def step_seek_derived(context, margin):
    need = budgets.frame_at(context.scene.require_video(), context.scene.seek["target"])
    step_seek_within(context, _derived(context, "seek to a frame", need, margin))


def _longest_pause(context) -> float:
    exchange = context.scene.viewer.last
    pause = exchange.longest_pause or 0.0
    _figure(context, "longest pause between two body chunks (s)", pause)
    return pause


@then("the longest pause between two chunks of the body was under {seconds:Seconds} second")
def step_pause_under(context, seconds):
    assert_that(_longest_pause(context), less_than(seconds),
                f"budget: the longest freeze of {context.scene.viewer.last.label} "
                f"(ended at body offset {context.scene.viewer.last.longest_pause_at})")


@then("the longest pause between two chunks of the body was under the transfer time of {count:d} pieces at that rate plus {margin:Seconds} second")
def step_pause_derived(context, count, margin):
    need = budgets.pieces(context.scene.require_video(), count)
    step_pause_under(context, _derived(context, "longest pause", need, margin))


def _throughput(context) -> float:
    exchange = context.scene.viewer.last
    rate = len(exchange.body) / exchange.elapsed / budgets.MB
    _figure(context, "play-through throughput (MB/s)", rate)
    _figure(context, "play-through time (s)", exchange.elapsed)
    return rate


@then("it arrived at {rate:Seconds} MB/s or faster")
def step_throughput(context, rate):
    assert_that(_throughput(context), greater_than_or_equal_to(rate), "budget: MB/s of a whole play-through")


@then("the whole video arrived within its transfer time at that rate plus {margin:Seconds} seconds")
def step_whole_derived(context, margin):
    _throughput(context)
    budget = _derived(context, "play-through", budgets.whole(context.scene.require_video()), margin)
    assert_that(context.scene.viewer.last.elapsed, less_than_or_equal_to(budget),
                "budget: seconds of a whole play-through on a slow swarm")
