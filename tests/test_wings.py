"""The three wings of infra/ import only what they may: the swarm and the reference
backend stand alone (their Docker images carry only infra/swarm, infra/config.py and,
for the time, infra/ecosystem/clock.py), and the ecosystem never reaches up into a
backend or sideways into the suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOCK = "infra.ecosystem.clock"
MEASURE = "infra.measure"  # the measuring wing sits above the others, never under them

#: wing -> (module prefixes it must not import, exceptions)
RULES = {
    "infra/swarm": (("infra.ecosystem", "infra.backends", "infra.suite", MEASURE), (CLOCK,)),
    "infra/backends/reference": (("infra.ecosystem", "infra.suite", MEASURE), (CLOCK,)),
    "infra/ecosystem": (("infra.backends", "infra.suite", MEASURE), ()),
    "infra/suite": ((MEASURE,), ()),
}


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports; `from a import b` gives a.b."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return names


def forbidden(name: str, prefixes: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    within = lambda prefix: name == prefix or name.startswith(prefix + ".")  # noqa: E731
    return any(within(p) for p in prefixes) and not any(within(a) for a in allowed)


CASES = [(wing, path) for wing in RULES for path in sorted((ROOT / wing).rglob("*.py"))
         if "node_modules" not in path.parts]


@pytest.mark.parametrize("wing,path", CASES, ids=[str(p.relative_to(ROOT)) for _, p in CASES])
def test_a_wing_imports_only_what_it_may(wing, path):
    prefixes, allowed = RULES[wing]
    bad = [f"line {line}: {name}" for line, name in imported(path) if forbidden(name, prefixes, allowed)]
    assert not bad, f"{path.relative_to(ROOT)} reaches out of {wing}: {'; '.join(bad)}"


def test_the_rule_sees_both_spellings():
    assert forbidden("infra.ecosystem.local.tail", ("infra.ecosystem",), (CLOCK,))
    assert not forbidden("infra.ecosystem.clock", ("infra.ecosystem",), (CLOCK,))
    assert not forbidden("infra.ecosystem.clock.wall", ("infra.ecosystem",), (CLOCK,))
    assert not forbidden("infra.ecosystemx", ("infra.ecosystem",), ())
