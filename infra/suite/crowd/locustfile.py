"""The Locust side of a capacity run: a viewer (a Locust user playing `model.Playback`)
and the stepped ramp (a `LoadTestShape`). Only Locust's own processes import this file
(`python -m locust -f infra/suite/crowd/locustfile.py`; gevent patches them).

Messages, all Locust's own (so workers on other machines need no other channel):
- "plan?" worker -> master once it listens, "plan" master -> that worker: the Plan
  (streams, digests, habits);
- "level" master -> workers when the ramp moves: every viewer closes its tally of the
  level it was in and sends it;
- "tally" worker -> master: one viewer's `Tally` of one level, appended to --records;
- "usage" every Locust process -> master when a level ends: the CPU (cores) and memory it
  used in that level, measured in the process itself, appended to --usage. So the
  generator's CPU is known for workers on other machines and in containers too.
Locust's stats carry the latency of each range by level ("startup @40", "range @40").
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import psutil
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner

from infra.ecosystem import clock
from infra.suite.crowd.digests import WrongBytes
from infra.suite.crowd.knee import level_passes
from infra.suite.crowd.model import Playback, Tally
from infra.suite.crowd.plan import NO_FRESH_TORRENT, Plan

END = -1      # the "level" after the ramp: viewers stop asking and send their last tally


class State:
    """This process's view of the run: the plan, the current level, what arrived (master)."""

    plan: Plan | None = None
    level: int = 0
    records: Path | None = None
    tallies: dict[int, list[dict]] = {}
    users_started: int = 0
    usage: Path | None = None
    meter: Meter | None = None


class Meter:
    """This process's CPU since the last level change: psutil's user + system seconds over
    the wall time between two marks, so a level's figure is that level's alone."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.mark = (clock.monotonic(), self._cpu())

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def close(self, runner, level: int) -> None:
        """Report the level that just ended (if it was one) and start measuring the next."""
        now, cpu = clock.monotonic(), self._cpu()
        then, before = self.mark
        self.mark = (now, cpu)
        if level > 0 and now > then:
            usage = {"process": process_name(runner), "level": level, "cores": round((cpu - before) / (now - then), 3),
                     "rss_mib": round(self.process.memory_info().rss / 2**20, 1)}
            if isinstance(runner, WorkerRunner):
                runner.send_message("usage", usage)
            else:                                   # the master (a message from it goes to the workers) or a local run
                _record_usage(usage)


def process_name(runner) -> str:
    """How the capacity table names a Locust process (as the launcher names their logs)."""
    if isinstance(runner, WorkerRunner):
        return f"worker-{runner.worker_index + 1}"
    return "master" if isinstance(runner, MasterRunner) else "locust"


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--plan", default="", help="the capacity plan (JSON), read by the master or a local run")
    parser.add_argument("--records", default="", help="where the master appends every viewer's tallies (JSONL)")
    parser.add_argument("--usage", default="", help="where the master appends each Locust process's CPU per level")


@events.init.add_listener
def _init(environment, **_):
    runner, options = environment.runner, environment.parsed_options
    if not isinstance(runner, WorkerRunner):
        State.plan = Plan.load(Path(options.plan))
        State.records = Path(options.records)
        State.records.parent.mkdir(parents=True, exist_ok=True)
        State.records.write_text("")
        State.usage = Path(options.usage) if options.usage else State.records.with_name("usage.jsonl")
        State.usage.write_text("")
    State.meter = Meter()
    runner.register_message("plan", _on_plan)
    runner.register_message("level", _on_level)
    runner.register_message("tally", _on_tally)
    runner.register_message("usage", _on_usage)
    runner.register_message("plan?", lambda environment, msg, **_: runner.send_message(
        "plan", State.plan.to_json(), client_id=msg.node_id))
    if isinstance(runner, WorkerRunner):
        # Asked for once this worker listens (Locust's worker_connect fires on the master
        # before a worker's init has finished: a plan sent then can arrive unheard).
        runner.send_message("plan?")


def _on_plan(environment, msg, **_):
    """A worker's plan. In a container on a docker run's network the streams are reached at
    their in-network addresses: SWARMSPEC_CROWD_URL_MAP maps the host's URL prefixes to them."""
    mapping = json.loads(os.environ.get("SWARMSPEC_CROWD_URL_MAP", "{}"))
    State.plan = Plan.from_json(msg.data).with_urls_mapped(mapping)


def _on_level(environment, msg, **_):
    State.meter.close(environment.runner, State.level)
    State.level = msg.data


def _on_tally(environment, msg, **_):
    tally = msg.data
    State.tallies.setdefault(tally["level"], []).append(tally)
    with State.records.open("a") as out:
        out.write(json.dumps(tally) + "\n")


def _on_usage(environment, msg, **_):
    _record_usage(msg.data)


def _record_usage(usage: dict) -> None:
    with State.usage.open("a") as out:
        out.write(json.dumps(usage) + "\n")


def _broadcast_level(runner, level: int) -> None:
    State.meter.close(runner, State.level)
    State.level = level
    if isinstance(runner, MasterRunner):
        runner.send_message("level", level)


class Viewer(FastHttpUser):
    """A seat in the audience: a viewer plays the video, and when they leave (or the video
    ends) a new viewer takes the seat, so the number of viewers stays the ramp's level."""

    host = "http://127.0.0.1"          # replaced per stream; Locust wants one
    connection_timeout = 10.0
    network_timeout = 30.0
    insecure = True

    def on_start(self) -> None:
        deadline = clock.SYSTEM.deadline(30)
        while State.plan is None and not deadline.expired():   # a worker's plan: asked for at its init
            gevent.sleep(0.1)
        if State.plan is None:
            raise RuntimeError("no capacity plan from the master within 30 s")
        self.plan = State.plan
        State.users_started += 1
        self.seat = f"{self.environment.runner.client_id if isinstance(self.environment.runner, WorkerRunner) else 'local'}-{State.users_started}"
        self.random = random.Random(f"{self.plan.seed}-{self.seat}")
        self.viewings = 0
        self.cold = ColdStreams(self.plan.cold, self.environment.runner) if self.plan.cold else None
        if self.cold is None:
            self._use(self.plan.streams[State.users_started % len(self.plan.streams)])

    def _use(self, stream: dict) -> None:
        self.path, self.headers = urlsplit(stream["url"])._replace(scheme="", netloc="").geturl(), stream["headers"]
        self.client.base_url = "{0.scheme}://{0.netloc}".format(urlsplit(stream["url"]))

    @task
    def watch(self) -> None:
        """One viewer, from opening the video to leaving it."""
        if State.level == END:                  # the ramp is over: nobody new sits down
            gevent.sleep(1.0)
            return
        plan, habits = self.plan, self.plan.habits
        self.viewings += 1
        now = clock.monotonic()
        playback = Playback(plan.size, habits, now, chunk=plan.chunk)
        level, entered = State.level, now
        tally = Tally(f"{self.seat}/{self.viewings}", level)
        if self.cold is not None:                 # a torrent the target has never seen: its stream flow first
            try:
                self._use(self.cold.open())
            except ColdStreamFailed as failed:
                tally.errors.append(str(failed))
                tally.startups.append(clock.monotonic() - now)
                self._send(tally, playback, clock.monotonic(), now)
                gevent.sleep(1.0)
                return
        next_habit = now + 10.0
        pause_until = None
        while State.level != END:
            now = clock.monotonic()
            if State.level != level:                              # the ramp moved: close this level's tally
                self._send(tally, playback, now, entered)
                level, entered = State.level, now
                tally = Tally(tally.viewer, level)
                continue
            if pause_until is not None and now >= pause_until:
                playback.resume(now)
                pause_until = None
            if now >= next_habit and playback.state == "playing":
                next_habit = now + 10.0
                roll = self.random.random()
                if roll < habits.leave_chance:
                    break
                if roll < habits.leave_chance + habits.seek_chance:
                    playback.seek(now, plan.table.align(self.random.randrange(plan.size)))
                elif roll < habits.leave_chance + habits.seek_chance + habits.pause_chance:
                    playback.pause(now)
                    pause_until = now + habits.pause_seconds
            wanted = playback.next_range(now)
            if wanted is None:
                if playback.ended:
                    break
                gevent.sleep(min(1.0, playback.wait_seconds(now)))
                continue
            self._fetch(playback, tally, wanted, level)
        self._send(tally, playback, clock.monotonic(), entered)

    def _fetch(self, playback: Playback, tally: Tally, wanted: tuple[int, int], level: int) -> None:
        first, last = wanted
        name = f"{'startup' if playback.state in ('starting', 'stalled') else 'range'} @{level}"
        headers = {**self.headers, "Range": f"bytes={first}-{last}"}
        asked = clock.monotonic()
        with self.client.get(self.path, headers=headers, name=name, catch_response=True) as response:
            now = clock.monotonic()
            tally.slowest = max(tally.slowest, now - asked)
            problem = _answer_problem(response, first, last, self.plan.size)
            if problem:
                response.failure(problem)
                tally.errors.append(problem)
                gevent.sleep(1.0)                     # a player retries after a moment
                return
            try:
                count = self.plan.table.verified(first, response.content)
            except WrongBytes as wrong:
                response.failure(str(wrong))
                tally.wrong_bytes.append(str(wrong))
                gevent.sleep(1.0)
                return
            tally.bytes += count
            event = playback.received(now, count)
            if event is not None:
                kind, seconds = event
                {"startup": tally.startups, "seek": tally.seeks, "rebuffer": tally.rebuffers}[kind].append(seconds)

    def _send(self, tally: Tally, playback: Playback, now: float, entered: float) -> None:
        """Close a level's tally. A stall still going on counts as far as it went; so does
        a startup that already took longer than the criterion. Both go on, and count
        again, in the next level's tally (a viewer stuck across two levels fails both)."""
        stall = playback.open_stall(now)
        if stall > 0:
            tally.rebuffers.append(stall)
        waiting = now - playback.asked_at
        if playback.state == "starting" and (waiting > self.plan.criteria.startup_seconds or State.level == END):
            (tally.seeks if playback.seeking else tally.startups).append(waiting)
        tally.watched = now - entered
        self.environment.runner.send_message("tally", tally.to_json())


class ColdStreamFailed(RuntimeError):
    """No stream URL for a fresh torrent: the pool is used up, or the target's flow failed."""


class ColdStreams:
    """Fresh variants for one Locust process, each used once. Workers take disjoint shares
    of the pool (every `count`-th from their index). The target's stream flow runs here, in
    the viewer's startup, with the suite's own target adapters (requests, which gevent made
    cooperative); imported late, as only cold runs need them."""

    _next: dict[int, int] = {}

    def __init__(self, cold: dict, runner) -> None:
        from infra.suite.http import Client
        from infra.suite.targets import make_target

        self.cold = cold
        self.index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        self.count = max(1, int(cold.get("workers", 1)))
        self.client = Client()
        self.target = make_target(cold["target"], cold["urls"], cold["credentials"])
        if self.target.spec.login is not None:
            self.target.session(self.client)         # logging in is not part of a viewer's startup

    def open(self) -> dict:
        from types import SimpleNamespace

        taken = ColdStreams._next.get(self.index, 0)
        ColdStreams._next[self.index] = taken + 1
        position = self.index + taken * self.count
        if position >= len(self.cold["variants"]):
            raise ColdStreamFailed(f"{NO_FRESH_TORRENT} ({len(self.cold['variants'])} in the pool)")
        variant = self.cold["variants"][position]
        video = SimpleNamespace(magnet=variant["magnet"], info_hash=variant["hash"], **self.cold["video"])
        try:
            url = self.target.stream_url(self.client, video)
        except Exception as exc:   # noqa: BLE001 - any failure of the flow is this viewer's visible error
            raise ColdStreamFailed(f"stream flow for {variant['hash']}: {exc.__class__.__name__}: {exc}") from None
        self.client.exchanges.clear()                 # the suite's client records; a crowd does not need it
        return {"url": url, "headers": self.target.auth_headers(self.client)}


def _answer_problem(response, first: int, last: int, size: int) -> str | None:
    """Why an answer to `bytes=first-last` is not a usable part of the video, or None."""
    if response.status_code != 206:
        return f"status {response.status_code} for bytes={first}-{last} ({response.error or 'no error'})"
    content_range = response.headers.get("Content-Range", "")
    if not content_range.startswith(f"bytes {first}-") or not content_range.endswith(f"/{size}"):
        return f"Content-Range {content_range!r} for bytes={first}-{last} of {size}"
    return None


class Ramp(LoadTestShape):
    """The plan's levels, each held `level_seconds`; then a flush until every viewer of
    the last level has sent its tally. After a failed level the ramp ends early."""

    def __init__(self) -> None:
        super().__init__()
        self.current: int | None = None
        self.ending_since: float | None = None

    def tick(self):
        plan = State.plan
        elapsed = self.get_run_time()
        step = int(elapsed // plan.level_seconds)
        failed = plan.stop_after_failure and self._a_level_failed()
        if step < len(plan.levels) and not failed:
            level = plan.levels[step]
            if level != self.current:
                self.current = level
                _broadcast_level(self.runner, level)
            return level, plan.spawn_rate_at(step)
        if self.ending_since is None:
            self.ending_since = elapsed
            _broadcast_level(self.runner, END)
        last = self.current or 0
        seated = min(last, self.runner.user_count)          # viewers of the last level who were spawned
        if len(State.tallies.get(last, ())) >= seated or elapsed - self.ending_since > plan.flush_seconds:
            return None
        return last, plan.spawn_rate

    def _a_level_failed(self) -> bool:
        plan = State.plan
        return any(level != self.current and len(tallies) >= level and not level_passes(tallies, plan.criteria)
                   for level, tallies in State.tallies.items() if level > 0)
