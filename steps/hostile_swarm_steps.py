"""A swarm that misbehaves: the scenario's own peers on a fresh torrent, network
conditions on a peer's interface, faults in the middle of a body. Thin steps over
infra.suite.peers (the peers), infra.suite.mid_stream (faults mid-body, physics)."""

import parse
from behave import given, register_type, then, when
from hamcrest import assert_that, equal_to, greater_than_or_equal_to, less_than_or_equal_to

from infra.ecosystem import clock
from infra.ecosystem.conditions import NetworkConditions
from infra.ecosystem.contract import Fault
from infra.suite.matchers import body_equals, content_length_matches_body, has_status, whole_or_visibly_cut
from infra.suite.mid_stream import ended_after, physics, streams_through
from infra.suite.peers import ScenarioSwarm
from infra.suite.range_support import Outcome

MIB = 1024 * 1024
SEEK_SPAN = 256 * 1024
ROLES = {"seeder": "seeder", "fast peer": "fast", "slow peer": "slow", "honest peer": "honest",
         "steady peer": "steady", "peer that tampers": "liar", "peer that hangs up": "cutter"}


@parse.with_pattern("|".join(sorted(ROLES, key=len, reverse=True)))
def _role(text: str) -> str:
    return ROLES[text]


register_type(PeerRole=_role)


def _swarm(context) -> ScenarioSwarm:
    if context.scene.swarm is None:
        raise AssertionError("no peers yet: a Given step must say who seeds the video")
    return context.scene.swarm


def _play(context, start: int, end: int | None, figure: str | None = None):
    ref = context.scene.require_video()
    end = ref.size - 1 if end is None else min(end, ref.size - 1)
    context.scene.expected_span = (start, end)
    whole = start == 0 and end == ref.size - 1
    exchange = context.scene.viewer.play(ref, None if whole else f"bytes={start}-{end}")
    if figure:
        context.world.record_figure(context.scenario, figure, exchange.first_byte_after)
    return exchange


# -- the scenario's swarm ---------------------------------------------------------------

@given("{video:Video} is seeded only by {peers}")
def step_seeded_only_by(context, video, peers):
    if context.scene.swarm is None:
        context.scene.swarm = ScenarioSwarm(context.world.swarm, context.world.settings.run_dir)
        context.add_cleanup(context.scene.swarm.close)
    context.scene.video = context.scene.swarm.fresh(context.world.library[video])
    context.scene.swarm.start(peers, context.scene.video)


@when("the viewer turns to {video:Video}")
def step_turns_to(context, video):
    context.scene.video = _swarm(context).videos[context.world.library[video].label]


@given("the {role:PeerRole} is {conditions}")
def step_conditions(context, role, conditions):
    context.scene.conditions = NetworkConditions.parse(conditions)
    how = _swarm(context).condition(role, context.scene.conditions)
    context.world.record_figure(context.scenario, f"conditions by {how}", None)


@given("the viewer has watched the first MiB of it")
def step_watched_first_mib(context):
    _play(context, 0, MIB - 1)
    step_exact(context)


# -- watching ---------------------------------------------------------------------------

@when("the viewer starts watching it")
def step_starts(context):
    _play(context, 0, MIB - 1, "first byte (s)")


@when("the viewer seeks to {percent:d} % of it")
def step_seeks(context, percent):
    start = context.scene.require_video().size * percent // 100
    _play(context, start, start + SEEK_SPAN - 1, f"seek to {percent} % (s)")


@when("the viewer watches {count:d} MiB from the middle of it")
def step_watches_middle(context, count):
    start = context.scene.require_video().size // 2
    exchange = _play(context, start, start + count * MIB - 1)
    context.world.record_figure(context.scenario, "throughput (MB/s)",
                                len(exchange.body) / 1e6 / exchange.elapsed if exchange.elapsed else None)


@when("the viewer plays it from the start")
def step_plays_whole(context):
    exchange = _play(context, 0, None)
    context.world.record_figure(context.scenario, "whole video (s)", exchange.elapsed)


@then("the viewer gets exactly the bytes asked for")
def step_exact(context):
    ref, exchange = context.scene.require_video(), context.scene.viewer.last
    start, end = context.scene.expected_span
    if (start, end) != (0, ref.size - 1):   # a range: 206 exact, or the whole video RFC 9110 §14.2 allows
        context.scene.ranges.answer(exchange, ref, (start, end))
        return
    assert_that(exchange, has_status(200))
    assert_that(exchange, content_length_matches_body())
    assert_that(exchange, body_equals(ref.read(start, end), ref.name, offset=start))


@then("the {what} came within {factor:g} × ({trips:d} round trips + {pieces:d} piece at the link's rate) + {slack:g} s")
def step_physics_budget(context, what, factor, trips, pieces, slack):
    exchange = context.scene.viewer.last
    network = physics(context.scene.conditions, trips, pieces, context.scene.require_video().piece_length)
    budget = factor * network + slack
    context.world.record_figure(context.scenario, f"{what} budget (s)", budget)
    if _range_answered(context, exchange) is Outcome.UNIMPLEMENTED:
        return
    assert_that(exchange.first_byte_after, less_than_or_equal_to(budget),
                f"{what}: {factor:g} x {network:.3f}s of physics + {slack:g}s ({exchange.label})")


@then("the seek came within {seconds:Seconds} seconds")
def step_seek_within(context, seconds):
    exchange = context.scene.viewer.last
    if _range_answered(context, exchange) is Outcome.UNIMPLEMENTED:
        return
    assert_that(exchange.first_byte_after, less_than_or_equal_to(seconds), f"seek: first byte of {exchange.label}")


def _range_answered(context, exchange) -> Outcome:
    """A timed range came as 206; a 200 with the whole video is graded by the range judge (RFC 9110 §14.2)."""
    if exchange.status == 200:
        return context.scene.ranges.answer(exchange, context.scene.require_video(), context.scene.expected_span)
    assert_that(exchange, has_status(206))
    return Outcome.SERVED


# -- what the peers saw -----------------------------------------------------------------

def _nothing_to_judge(context, why: str) -> None:
    """The backend never met the misbehaviour (it took everything from the other peers): the
    scenario cannot judge it either way, so it is not run (neither passed nor failed)."""
    context.scenario.skip(f"nothing to judge: {why}")


def _misbehaved(context, peer: str, count: str, figure: str, never: str) -> None:
    """Record how often the peer misbehaved (its status' `count`); not run if never (`never` says why)."""
    status = _swarm(context).status(peer, context.scene.viewer.client)
    context.world.record_figure(context.scenario, figure, status[count])
    if status[count] < 1:
        _nothing_to_judge(context, f"{never}: {status}")


@then("the peer that tampers sent at least one tampered piece")
def step_liar_lied(context):
    _misbehaved(context, "liar", "tamperedPiecesSent", "tampered pieces sent",
                "the target never took a tampered piece from the peer that tampers")


@then("the backend took nothing from the peer that tampers in the last {seconds:g} seconds of the stream")
def step_liar_dropped(context, seconds):
    status = _swarm(context).status("liar", context.scene.viewer.client)
    exchange = context.scene.viewer.last
    ended_ago = clock.monotonic() - (exchange.started + (exchange.elapsed or 0))
    quiet = (status["lastBlockSentAgo"] or 0) - ended_ago       # seconds at the end of the stream without the liar
    context.world.record_figure(context.scenario, "stream's last seconds without the liar (s)", quiet)
    context.world.record_figure(context.scenario, "stream (s)", exchange.elapsed)
    context.scene.judge.stricter(quiet, greater_than_or_equal_to(seconds), "BEP 3 does not require dropping a peer "
                                 "whose pieces fail the hash check", f"the peer that tampers: {status}")


@then("the peer that hangs up cut a piece off at least once")
def step_cutter_cut(context):
    _misbehaved(context, "cutter", "cuts", "pieces cut off mid-way",
                "the target never asked the peer that hangs up for a block")


# -- faults in the middle of a body -------------------------------------------------------

def _interrupt(context, viewers: int, after_mib: int, fault, what: str) -> None:
    swarm, viewer = _swarm(context), context.scene.viewer
    url = context.world.target.stream_url(viewer.client, context.scene.require_video())
    role = next(iter(swarm.peers))
    result = streams_through([(url, viewer.headers())] * viewers,
                             lambda: swarm.status(role, viewer.client)["uploaded"], after_mib * MIB, fault, what,
                             lambda: context.world.swarm.log_tail(context.world.target.services[0]))
    for exchange in result.exchanges:
        viewer.client.record(exchange)
    context.scene.crowd, context.scene.fault_at = result.exchanges, result.fault_at
    context.scene.expected_span = (0, context.scene.require_video().size - 1)


@when("the viewer plays it from the start and the {role:PeerRole} is killed after {count:d} MiB")
def step_killed_mid_body(context, role, count):
    context.world.swarm.provider.require(Fault.KILL)
    _interrupt(context, 1, count, _swarm(context).peer(role).kill, f"killing the {role}")


@when("{viewers:d} viewers play it from the start and the backend restarts after {count:d} MiB")
def step_backend_restarts(context, viewers, count):
    service = context.world.target.services[0]
    context.add_cleanup(context.world.swarm.restore_service, service)
    _interrupt(context, viewers, count, lambda: context.world.swarm.restart(service), "restarting the backend")
    context.world.target.forget_streams()


@then("every viewer's answer ended within {seconds:Seconds} seconds of it, short or whole, never hung")
def step_bounded(context, seconds):
    ref = context.scene.require_video()
    for exchange in context.scene.crowd:
        context.world.record_figure(context.scenario, "answer ended after the fault (s)",
                                    ended_after(exchange, context.scene.fault_at))
        assert_that(ended_after(exchange, context.scene.fault_at), less_than_or_equal_to(seconds), exchange.label)
        assert_that(exchange, has_status(200))
        assert_that(exchange, whole_or_visibly_cut(ref.whole(), ref.name))


@when("the {role:PeerRole} is back")
def step_peer_back(context, role):
    _swarm(context).peer(role).start()


@when("the tracker dies")
def step_tracker_dies(context):
    context.add_cleanup(context.world.swarm.restore_service, "tracker", context.world.library)
    context.world.swarm.kill_service("tracker")


@when("the tracker is back")
def step_tracker_back(context):
    context.world.swarm.start_service("tracker")
    for fresh in _swarm(context).videos.values():     # every peer of the scenario has announced again
        context.world.swarm.wait_until_tracker_knows(context.scene.viewer.client, fresh.info_hash)


@then("the source the viewer created is still there")
def step_source_survives(context):
    ref = context.scene.require_video()
    key = context.world.target.source_id(context.scene.viewer.client, ref)
    exchange = context.world.target.get_source(context.scene.viewer.client, key)
    assert_that(exchange, has_status(200))
    assert_that(exchange.json()["id"], equal_to(key))


@then("streaming that source again gives exactly the video")
def step_same_source_streams(context):
    ref, viewer = context.scene.require_video(), context.scene.viewer
    key = context.world.target.source_id(viewer.client, ref)
    exchange = viewer.get(context.world.target.stream_url_for(key))
    context.scene.expected_span = (0, ref.size - 1)
    assert_that(exchange, has_status(200))
    step_exact(context)
