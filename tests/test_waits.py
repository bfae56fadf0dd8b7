"""infra.ecosystem.waits.Wait with `clock.FakeClock`: no real sleeping anywhere."""

from __future__ import annotations

import time

import pytest

from infra.ecosystem.clock import FakeClock
from infra.ecosystem.waits import NotReady, Wait, WaitTimeout, wait_for


class Probe:
    """Not ready (with an observation) for the first `failures` calls, then returns 'ready'."""

    def __init__(self, failures: int, error=lambda n: NotReady(f"status 503 on poll {n}")) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(self.calls)
        return "ready"


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch):
    def forbidden(seconds):
        raise AssertionError(f"real time.sleep({seconds}) called")
    monkeypatch.setattr(time, "sleep", forbidden)


def test_succeeds_after_n_polls():
    clock = FakeClock()
    probe = Probe(failures=3)
    result = Wait("backend", "GET /health", probe, timeout=10, interval=0.25, clock=clock).run()
    assert result == "ready"
    assert probe.calls == 4
    assert clock.slept == [0.25, 0.25, 0.25]


def test_ready_at_once_does_not_sleep():
    clock = FakeClock()
    assert wait_for("x", "y", lambda: 42, timeout=1, clock=clock) == 42
    assert clock.slept == []


def test_timeout_message_carries_the_evidence():
    clock = FakeClock()
    probe = Probe(failures=10**9)
    wait = Wait(
        service="seeder", what="GET http://127.0.0.1:1/health to answer 200", probe=probe,
        timeout=5, interval=0.5, clock=clock,
        hint="full log: /tmp/seeder.log",
        log_tail=lambda: "line one\nline two: tracker refused\n",
    )
    with pytest.raises(WaitTimeout) as info:
        wait.run()
    message = str(info.value)
    assert message.startswith("seeder: waited for GET http://127.0.0.1:1/health to answer 200")
    assert "not ready after 5s" in message
    assert f"last observed: status 503 on poll {probe.calls}" in message
    assert "hint: full log: /tmp/seeder.log" in message
    assert "log tail of seeder:" in message
    assert "    | line one" in message and "    | line two: tracker refused" in message
    # It waited the limit, not much more and not less.
    elapsed = clock.t - 1000.0
    assert 5 <= elapsed < 5 + 0.5 + 1e-9
    assert probe.calls == len(clock.slept) + 1
    assert isinstance(info.value, TimeoutError)


def test_message_without_hint_or_log_has_no_empty_sections():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as info:
        Wait("tracker", "stats", Probe(10**9), timeout=1, interval=0.5, clock=clock).run()
    message = str(info.value)
    assert "hint:" not in message and "log tail" not in message
    assert "not ready after 1s" in message


def test_bail_out_gives_up_at_once():
    clock = FakeClock()
    probe = Probe(failures=10**9)
    with pytest.raises(WaitTimeout) as info:
        Wait("backend", "health", probe, timeout=30, clock=clock,
             bail_out=lambda: "the process exited with status 1",
             log_tail=lambda: "Traceback: boom").run()
    message = str(info.value)
    assert "gave up" in message
    assert "the process exited with status 1" in message
    assert "Traceback: boom" in message
    assert probe.calls == 0
    assert clock.slept == []


def test_bail_out_after_some_polls_keeps_the_last_observation():
    clock = FakeClock()
    probe = Probe(failures=10**9)
    with pytest.raises(WaitTimeout) as info:
        Wait("backend", "health", probe, timeout=30, interval=1, clock=clock,
             bail_out=lambda: "exited" if probe.calls >= 2 else None).run()
    assert probe.calls == 2
    assert "gave up after 2.0s: exited" in str(info.value)
    assert "last observed: status 503 on poll 2" in str(info.value)


def test_oserror_from_the_probe_counts_as_not_ready():
    clock = FakeClock()
    probe = Probe(failures=2, error=lambda n: ConnectionRefusedError(111, "Connection refused"))
    assert Wait("range_server", "connect", probe, timeout=5, interval=0.1, clock=clock).run() == "ready"
    assert probe.calls == 3


def test_oserror_is_reported_as_the_last_observation():
    clock = FakeClock()
    probe = Probe(failures=10**9, error=lambda n: ConnectionResetError(104, "reset by peer"))
    with pytest.raises(WaitTimeout) as info:
        Wait("range_server", "connect", probe, timeout=1, interval=0.1, clock=clock).run()
    assert "last observed: ConnectionResetError: [Errno 104] reset by peer" in str(info.value)


def test_other_exceptions_are_not_swallowed():
    clock = FakeClock()
    probe = Probe(failures=1, error=lambda n: ValueError("a bug in the probe"))
    with pytest.raises(ValueError, match="a bug in the probe"):
        Wait("x", "y", probe, timeout=5, clock=clock).run()
    assert probe.calls == 1
