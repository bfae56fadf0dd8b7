"""`--workers 1,2`: the knees of one target with one and with two Locust workers, compared;
the option's parsing; the report's section; which side saturated, bursts included. Pure:
made-up ramp results and CPU samples, no Locust."""

from __future__ import annotations

import argparse
import json

import pytest

from infra.measure.capacity import __main__ as cli
from infra.measure.capacity import report, workers
from infra.measure.capacity.runner import Ramp, TargetResult
from infra.suite.crowd import knee


def level(viewers: int, passed: bool, generator: dict[str, float]) -> knee.Level:
    return knee.Level(viewers, viewers, passed, 1.0 if passed else 0.9, 0.3, 0.5, None, 0, 0, 0.0, 5.0, 0, 0,
                      range_p50=40.0, range_p95=120.0, range_p99=150.0, generator_cpu=generator)


def ramp_result(count: int, knee_at: int, failed_at: int | None, generator: dict[str, float],
                saturated: str = "the target (0.98 cores)") -> TargetResult:
    levels = [level(v, True, generator) for v in (20, 30, 40, 50, 60) if v <= knee_at]
    if failed_at:
        levels.append(level(failed_at, False, generator))
    return TargetResult("webtorrent", "cold", knee_at, failed_at, levels, 120.0, {}, saturated, "", workers=count)


def test_the_same_knee_with_two_workers_is_the_targets():
    one = ramp_result(1, 40, 46, {"master": 0.01, "worker-1": 0.3})
    two = ramp_result(2, 40, 46, {"master": 0.01, "worker-1": 0.15, "worker-2": 0.16})
    [comparison] = workers.compare([one, two])
    assert comparison.ratio == 1.0 and comparison.same_knee is True
    text = workers.verdict(comparison)
    assert "1 worker 40, 2 workers 40: 1.00×, the same knee within ±15 %" in text
    assert "coarser" not in text                                     # 46 / 40: a 15 % step


def test_a_knee_that_moves_with_the_workers_names_what_saturated_with_fewer():
    one = ramp_result(1, 30, 40, {"worker-1": 0.97}, saturated="the generator's worker-1 (0.97 cores)")
    two = ramp_result(2, 50, 60, {"worker-1": 0.5, "worker-2": 0.5})
    comparison = workers.compare([two, one])[0]                      # the fewest workers is the baseline
    assert comparison.baseline is one and comparison.same_knee is False
    text = workers.verdict(comparison)
    assert "1.67×, moved by more than ±15 %: with 1 worker the limit was the generator's worker-1" in text
    assert "coarser than ±15 %" in text                               # 40 / 30: a 33 % step


def test_a_ramp_that_never_failed_is_not_judged():
    comparison = workers.compare([ramp_result(1, 60, None, {}), ramp_result(2, 60, None, {})])[0]
    assert comparison.same_knee is None
    assert "not judged" in workers.verdict(comparison) and "≥ 60 (no level failed)" in workers.verdict(comparison)


def test_the_report_shows_each_ramp_and_the_verdict_and_saves_them(tmp_path):
    one = ramp_result(1, 40, 46, {"master": 0.01, "worker-1": 0.3})
    two = ramp_result(2, 40, 46, {"master": 0.01, "worker-1": 0.15, "worker-2": 0.16})
    ramp = Ramp((20, 30, 40, 46), 15.0, 1, modes=("cold",), compare_workers=(1, 2))
    machine = {"cpus": 2, "loadAverage": [0.5, 0.5, 0.5], "at": "now"}
    text = report.text([one, two], ramp, machine, machine, tmp_path)
    assert "1 then 2 Locust workers" in text
    assert "| webtorrent | cold, 2 workers | 40 |" in text
    assert "| webtorrent | cold | 2 | 40 | 46 | 15 % | master 0.01, worker-1 0.15, worker-2 0.16 |" in text
    report.save([one, two], ramp, machine, machine, tmp_path / "capacity.json")
    saved = json.loads((tmp_path / "capacity.json").read_text())
    assert saved["ramp"]["workers"] == [1, 2]
    assert saved["workersCompared"][0]["knees"] == [40, 40] and saved["workersCompared"][0]["sameKnee"] is True


def test_one_worker_count_compares_nothing():
    assert workers.table([ramp_result(1, 40, 46, {})]) == []


@pytest.mark.parametrize("text, counts", [("2", (2,)), ("1,2", (1, 2)), ("0, 1, 2", (0, 1, 2))])
def test_workers_takes_one_count_or_several(text, counts):
    assert cli._worker_counts(text) == counts


@pytest.mark.parametrize("text", ["", "two", "1,1", "-1"])
def test_workers_refuses_what_is_not_distinct_counts(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli._worker_counts(text)


def test_a_burst_at_a_levels_start_names_the_generator_though_its_mean_is_low():
    from infra.measure.capacity.runner import saturation
    from infra.suite.crowd.launch import busy_seconds

    samples = [{"t": t, "load": 0.3, "target": 0.25, "worker-1": 1.0 if t < 8 else 0.1} for t in range(15)]
    assert busy_seconds(samples, 0, 15) == {"target": 0, "worker-1": 8}
    burst = level(342, False, {"worker-1": 0.65})
    assert "no process" in saturation(burst)                       # the mean alone: nobody saturated
    burst = knee.Level(**{**burst.to_json(), "busy_seconds": {"worker-1": 8}})
    assert saturation(burst) == "the generator's worker-1 (≥ 0.9 cores for 8 s of the level, 0.65 on average)"
    short = knee.Level(**{**burst.to_json(), "busy_seconds": {"worker-1": 2}})
    assert "no process" in saturation(short)                        # two seconds are not a limit


def _tally(level: int, startup: float = 0.5, errors: tuple[str, ...] = ()) -> dict:
    return {"viewer": "v", "level": level, "startups": [startup], "seeks": [], "rebuffers": [], "bytes": 10**6,
            "watched": 10.0, "errors": list(errors), "wrong_bytes": [], "slowest": 0.5}


def test_levels_where_the_pool_of_fresh_copies_ran_out_are_not_judged(tmp_path):
    from infra.measure.capacity.runner import analyse
    from infra.suite.crowd.launch import Outputs
    from infra.suite.crowd.model import Habits
    from infra.suite.crowd.plan import NO_FRESH_TORRENT, Plan

    plan = Plan([], 10, 4, [1], Habits(bitrate=1.0), levels=[10, 20, 30], level_seconds=15.0)
    outputs = Outputs(tmp_path / "ramp")
    tallies = [_tally(10)] * 10 + [_tally(20)] * 20 + [_tally(30, 0.01, (f"{NO_FRESH_TORRENT} (40 in the pool)",))] * 30
    outputs.tallies.write_text("\n".join(json.dumps(t) for t in tallies))
    result = analyse(plan, outputs, "webtorrent", "cold", {})
    assert (result.capacity, result.failed_level) == (20, None)          # a lower bound, not a knee
    assert "at 30 the pool of fresh copies ran out" in result.saturated and not result.notes


def test_the_cold_pool_covers_every_viewing_of_a_ramp_that_never_fails():
    from infra.measure.capacity.runner import cold_pool_size
    from infra.suite.crowd.model import Habits

    habits = Habits(bitrate=1000.0, leave_chance=0.0)                    # a 60 s video, nobody leaves
    assert cold_pool_size([10], 60.0, habits, 60_000) == round((10 + 10) * 1.1) + 5      # every seat watches twice
    assert cold_pool_size([10, 20], 60.0, habits, 60_000) > cold_pool_size([10, 20], 30.0, habits, 60_000)


def test_the_command_line_becomes_the_ramp_it_names():
    args = cli.parse(["--workers", "1,2", "--cold-pool", "50", "--cold-max", "40", "--modes", "cold"])
    ramp = cli.ramp_of(args, (10, 20), ("cold",))
    assert (ramp.workers, ramp.compare_workers, ramp.worker_counts()) == (1, (1, 2), (1, 2))
    assert (ramp.cold_pool, ramp.cold_max, ramp.modes, ramp.levels) == (50, 40, ("cold",), (10, 20))
    one = cli.ramp_of(cli.parse(["--workers", "2"]), (10,), ("warm",))
    assert (one.workers, one.compare_workers, one.cold_pool) == (2, (), None)


def test_a_busy_seeder_is_named_in_a_cold_ramp(monkeypatch):
    from infra.measure.capacity import runner

    monkeypatch.setattr(runner, "CPUS", 2)
    busy = knee.Level(**{**level(80, False, {"worker-1": 0.2}).to_json(), "seeder_cpu": 0.95, "load_average": 4.5})
    assert runner.saturation(busy) == "the swarm's seeder (0.95 cores), the machine (load average 4.5 on 2 CPUs)"
