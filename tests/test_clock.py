"""infra.ecosystem.clock: the fake clock, and that nothing under infra/ reads the time or
sleeps except through the clock module (so every wait and deadline can be tested with a
FakeClock)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.ecosystem import clock
from infra.ecosystem.clock import FakeClock

ROOT = Path(__file__).resolve().parents[1]
CLOCK_MODULE = ROOT / "infra" / "ecosystem" / "clock.py"
#: What of the `time` module a module must not use directly (asyncio.sleep is fine: it
#: yields to the event loop, which is time the loop keeps).
FORBIDDEN = {"sleep", "monotonic", "monotonic_ns", "time", "time_ns", "perf_counter", "perf_counter_ns",
             "strftime", "localtime", "gmtime", "ctime", "asctime"}


# -- FakeClock --------------------------------------------------------------------------

def test_time_moves_only_when_something_sleeps_or_advances():
    fake = FakeClock()
    assert fake.now() == 1000.0
    assert fake.now() == 1000.0
    fake.sleep(2.5)
    assert fake.now() == 1002.5 and fake.slept == [2.5]
    fake.advance(0.5)
    assert fake.now() == 1003.0 and fake.slept == [2.5], "advance is not a sleep"


def test_wall_time_moves_with_the_monotonic_time():
    fake = FakeClock(t=0.0, epoch=1_700_000_000.0)
    assert fake.wall() == 1_700_000_000.0
    fake.sleep(60)
    assert fake.wall() == 1_700_000_060.0 and fake.now() == 60.0


def test_a_deadline_counts_down_and_never_goes_negative():
    fake = FakeClock()
    deadline = fake.deadline(5)
    assert deadline.remaining() == 5 and not deadline.expired() and deadline.elapsed() == 0
    fake.sleep(3)
    assert deadline.remaining() == 2 and deadline.elapsed() == 3
    fake.sleep(3)
    assert deadline.remaining() == 0 and deadline.expired() and deadline.elapsed() == 6


def test_two_fake_clocks_do_not_share_time():
    one, two = FakeClock(), FakeClock()
    one.sleep(10)
    assert two.now() == 1000.0 and two.slept == []


def test_the_module_functions_use_the_system_clock(monkeypatch):
    fake = FakeClock(t=50.0, epoch=0.0)
    monkeypatch.setattr(clock, "SYSTEM", fake)
    assert clock.monotonic() == 50.0 and clock.wall() == 50.0
    clock.sleep(1.5)
    assert fake.slept == [1.5] and clock.monotonic() == 51.5
    assert clock.deadline(2).remaining() == 2
    assert clock.stamp("%Y") == "1970"


# -- nobody else reads the time ----------------------------------------------------------

def python_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "infra").rglob("*.py")
                  if "node_modules" not in p.parts and p != CLOCK_MODULE)


def direct_time_uses(path: Path) -> list[str]:
    """`time.sleep(...)`, `t.monotonic` (import time as t), `from time import sleep`... in a module."""
    tree = ast.parse(path.read_text(), str(path))
    aliases = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names if alias.name == "time"}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [(node.lineno, f"from time import {a.name}") for a in node.names if a.name in FORBIDDEN]
        elif (isinstance(node, ast.Attribute) and node.attr in FORBIDDEN
              and isinstance(node.value, ast.Name) and node.value.id in aliases):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_scan_finds_what_it_must():
    sample = ROOT / "tests" / "test_clock.py"   # this file names them in strings only
    assert direct_time_uses(sample) == []


def test_the_scan_catches_every_spelling(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import time\nimport time as t\nfrom time import sleep, monotonic as mono\nimport asyncio\n"
                      "time.sleep(1)\nx = t.monotonic()\nf = time.time\nawait_ = asyncio.sleep(1)\n")
    assert direct_time_uses(module) == [
        "line 3: from time import monotonic", "line 3: from time import sleep",
        "line 5: time.sleep", "line 6: t.monotonic", "line 7: time.time"]


@pytest.mark.parametrize("path", python_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reads_the_time_but_the_clock(path):
    uses = direct_time_uses(path)
    assert not uses, (f"{path.relative_to(ROOT)} uses the time module directly ({'; '.join(uses)}): "
                      "go through infra.ecosystem.clock (monotonic, wall, sleep, stamp, deadline)")
