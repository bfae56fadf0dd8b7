"""Grades, not just pass/fail — after Autobahn|Testsuite's Pass / Non-Strict / Failed.

Every scenario result is one of:

* **strict** — meets swarmspec's own contract (which is stricter than RFC 9110 in places);
* **non-strict** — RFC 9110 allows what the server did, swarmspec's contract wants more;
* **failed** — an RFC MUST or SHOULD is broken, or the viewer got wrong bytes, a 5xx, a hang;
* **unimplemented** — the target lacks a capability the scenario needs (neither a pass
  nor a failure: the scenario is skipped with a reason that starts with "unimplemented"):
  either it does not claim it (``@needs.<capability>``, decided before the scenario) or a
  step saw it missing and skipped the scenario with the evidence (a target that serves no
  byte range at all: `infra.suite.range_support`);
* **informational** — the scenario measures figures (tag ``@informational``) and checks
  only what every server must do.

Steps check RFC requirements with plain ``assert_that`` (a mismatch fails the scenario)
and the stricter contract with `Judge.stricter`: under ``-D contract=strict`` a deviation
raises `NonStrict` (the scenario fails and behave's exit status says so); under
``-D contract=rfc9110`` it is only recorded, the scenario goes on, and its grade is
non-strict. Either way the grade is the same; only the exit status follows the contract.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

NON_STRICT_PREFIX = "non-strict: "
UNIMPLEMENTED_PREFIX = "unimplemented: "


class Grade(str, enum.Enum):
    STRICT = "strict"
    NON_STRICT = "non-strict"
    FAILED = "failed"
    UNIMPLEMENTED = "unimplemented"
    INFORMATIONAL = "informational"
    NOT_RUN = "not run"            # skipped for a reason that is not the target's (e.g. needs Docker)


class Contract(str, enum.Enum):
    """What fails the run: ``strict`` fails on non-strict too, ``rfc9110`` only on failed."""

    STRICT = "strict"
    RFC9110 = "rfc9110"

    @classmethod
    def parse(cls, text: str) -> "Contract":
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown contract {text!r}: choose strict or rfc9110") from None


class NonStrict(AssertionError):
    """The server did something RFC 9110 allows but swarmspec's contract does not."""


@dataclass
class Judge:
    """Per scenario: records deviations from the stricter contract."""

    contract: Contract
    deviations: list[str] = field(default_factory=list)

    def stricter(self, actual: Any, matcher: Matcher, allowed_by: str, reason: str = "") -> None:
        """swarmspec wants `matcher`; RFC 9110 (`allowed_by`, e.g. "§14.2 MAY ignore") also
        allows what the server did when it does not match."""
        if matcher.matches(actual):
            return
        description = StringDescription()
        description.append_text("swarmspec's contract wants ").append_description_of(matcher)
        description.append_text("\n     but: ")
        matcher.describe_mismatch(actual, description)
        message = f"{reason + ': ' if reason else ''}{description}\n     (RFC 9110 allows it: {allowed_by})"
        self.deviations.append(message)
        if self.contract is Contract.STRICT:
            raise NonStrict(NON_STRICT_PREFIX + message)


@dataclass(frozen=True)
class ScenarioGrade:
    feature: str
    scenario: str
    grade: Grade
    clauses: tuple[str, ...]
    detail: str = ""
    location: str = ""


def clauses_of(tags: Iterable[str]) -> tuple[str, ...]:
    """``@rfc9110.14.2`` -> "RFC 9110 §14.2"; ``@contract`` -> "swarmspec contract"."""
    out = []
    for tag in tags:
        if tag.startswith("rfc9110."):
            out.append("RFC 9110 §" + tag.split(".", 1)[1])
        elif tag == "fetch.cors":
            out.append("Fetch standard: CORS protocol")
        elif tag == "contract":
            out.append("swarmspec contract")
    return tuple(sorted(set(out)))


def grade_of(status: str, tags: Iterable[str], error: BaseException | str | None, deviations: list[str],
             skip_reason: str = "") -> Grade:
    """The grade of one finished scenario (behave's status name, its tags and error)."""
    tags = set(tags)
    if status == "skipped":
        return Grade.UNIMPLEMENTED if skip_reason.startswith(UNIMPLEMENTED_PREFIX) else Grade.NOT_RUN
    if status in ("failed", "error", "hook_error", "untested", "undefined"):
        if isinstance(error, NonStrict) or str(error or "").startswith(NON_STRICT_PREFIX):
            return Grade.NON_STRICT
        return Grade.FAILED
    if deviations:
        return Grade.NON_STRICT
    if "informational" in tags:
        return Grade.INFORMATIONAL
    return Grade.STRICT


@dataclass
class GradeBook:
    """Every scenario's grade in one run, written as ``grades.json`` beside the results."""

    target: str
    contract: Contract
    provider: str
    grades: list[ScenarioGrade] = field(default_factory=list)

    def add(self, grade: ScenarioGrade) -> None:
        self.grades.append(grade)

    def counts(self) -> dict[str, int]:
        counts = {g.value: 0 for g in Grade}
        for item in self.grades:
            counts[item.grade.value] += 1
        return counts

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"target": self.target, "contract": self.contract.value, "provider": self.provider,
                "counts": self.counts(),
                "scenarios": [{**asdict(g), "grade": g.grade.value, "clauses": list(g.clauses)} for g in self.grades]}
        path.write_text(json.dumps(data, indent=2))

    def summary(self) -> str:
        counts = self.counts()
        shown = ", ".join(f"{n} {g}" for g, n in counts.items() if n)
        return f"grades for {self.target} (contract {self.contract.value}): {shown or 'nothing graded'}"
