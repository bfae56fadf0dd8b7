"""Allure attachments and the files written beside the results: every HTTP exchange
(secrets redacted), service log tails on failure, environment.properties and
categories.json (product defects vs. a broken environment)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from infra.suite import lint, redact
from infra.suite.http import Exchange

try:
    import allure
    from allure_commons.types import AttachmentType
except ImportError:  # allure is optional when behave runs without the Allure formatter
    allure = None

CATEGORIES = [
    # Grades first: Allure puts a result in the first category that matches.
    {"name": "Grade non-strict: RFC 9110 allows it, swarmspec's contract is stricter",
     "matchedStatuses": ["failed"], "messageRegex": r"(?s)^non-strict: .*"},
    {"name": "Grade unimplemented: the target lacks the capability", "matchedStatuses": ["skipped"],
     "messageRegex": r"(?s).*unimplemented: .*"},
    {"name": "Broken environment: a swarm service did not start or went away",
     "matchedStatuses": ["broken", "failed"],
     "messageRegex": r"(?s).*(ServiceFailed|WaitTimeout|waited for|ConnectionError|Connection refused|TargetError).*"},
    {"name": "Product defect: wrong bytes", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(first difference at|bodies agree up to|body equal to).*"},
    {"name": "Product defect: wrong status or headers", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(a response with status|header is|Content-Length).*"},
    {"name": "Product defect: too slow", "matchedStatuses": ["failed"],
     "messageRegex": r"(?s).*(came within|budget).*"},
    {"name": "Test defect: the suite itself raised", "matchedStatuses": ["broken"]},
]


def attach_exchange(exchange: Exchange) -> None:
    """The exchange (JSON) and httplint's notes on it, under the step that made it.

    Only while an Allure report is being written (behave's Allure formatter): without one
    there is nowhere to attach, and linting every body costs about a fifth of a run."""
    if allure is None or _current_allure_test() is None:
        return
    timing = exchange.elapsed * 1000 if exchange.elapsed is not None else float("nan")
    name = f"{exchange.label} → {exchange.status or exchange.error} ({timing:.0f} ms)"
    allure.attach(json.dumps(exchange.summary(), indent=2), name=name, attachment_type=AttachmentType.JSON)
    try:
        notes = lint.lint(exchange)
    except Exception as exc:   # the linter's own failure is reported, never mistaken for a clean answer
        allure.attach(f"httplint failed on {exchange.label}: {exc.__class__.__name__}: {exc}",
                      name=f"httplint: {exchange.label} (linter error)", attachment_type=AttachmentType.TEXT)
        return
    errors, warnings = len(lint.problems(notes, lint.ERROR)), len(lint.problems(notes, lint.WARNING))
    allure.attach(lint.report(exchange, notes), name=f"httplint: {exchange.label} ({errors} errors, {warnings} warnings)",
                  attachment_type=AttachmentType.TEXT)


def attach_text(name: str, text: str) -> None:
    if allure is not None:
        allure.attach(redact.text(text), name=name, attachment_type=AttachmentType.TEXT)


def attach_file(name: str, path, kind: str = "html") -> None:
    """A file a tool wrote (e.g. Locust's HTML report), if it exists."""
    if allure is not None and Path(path).exists():
        allure.attach.file(str(path), name=name, attachment_type=getattr(AttachmentType, kind.upper()))


def attach_json(name: str, value: object) -> None:
    if allure is not None:
        allure.attach(json.dumps(value, indent=2), name=name, attachment_type=AttachmentType.JSON)


def attach_player(player) -> None:
    """What a browser scenario's player did: the Range headers the browser sent (and its
    preflights), the player's event timeline and a screenshot of the page."""
    if allure is None:
        return
    evidence = player.evidence()
    attach_text("browser: Range headers sent", "\n".join(evidence["ranges_sent"]) or "(no media or fetch request)")
    attach_json("browser: requests (media, fetch, preflights)", evidence["requests"])
    attach_json("browser: player event timeline", player.timeline())
    try:
        allure.attach(player.screenshot(), name="browser: screenshot", attachment_type=AttachmentType.PNG)
    except Exception as exc:   # a crashed page: say so instead of failing the clean-up
        attach_text("browser: no screenshot", f"{exc.__class__.__name__}: {exc}")


def label_grade(grade: str, deviations: list[str]) -> None:
    """The scenario's grade as an Allure tag (``grade:strict`` ...), and the deviations a
    non-strict scenario had under ``-D contract=rfc9110`` (where it did not fail)."""
    if allure is None:
        return
    test = _current_allure_test()
    if test is not None:
        # allure-behave 2.16 implements no add_label hook, so allure.dynamic.tag would be lost:
        # label the open test result through the formatter's own listener instead.
        from allure_commons.model2 import Label

        test.labels += [Label(name="tag", value=f"grade:{grade}"), Label(name="grade", value=grade)]
    if deviations:
        attach_text("non-strict: deviations from swarmspec's contract", "\n\n".join(deviations))


def _current_allure_test():
    from allure_commons import plugin_manager

    for plugin in plugin_manager.get_plugins():
        logger = getattr(plugin, "logger", None)
        if type(plugin).__name__ == "AllureListener" and logger is not None:
            return logger.get_test(None)
    return None


def write_results_metadata(results_dir: Path, properties: dict[str, str]) -> None:
    """environment.properties and categories.json, read by `allure generate`."""
    results_dir.mkdir(parents=True, exist_ok=True)
    props = {"python": platform.python_version(), "platform": platform.platform(), **properties}
    lines = [f"{key}={str(value).replace(chr(10), ' ')}" for key, value in sorted(props.items())]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n")
    (results_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))


def add_results_properties(results_dir: Path, properties: dict[str, str]) -> None:
    """Properties learnt during the run (the browser's version), added to environment.properties."""
    if not properties:
        return
    path = results_dir / "environment.properties"
    known = {line.split("=", 1)[0] for line in path.read_text().splitlines()} if path.exists() else set()
    with path.open("a") as out:
        out.writelines(f"{key}={str(value).replace(chr(10), ' ')}\n" for key, value in sorted(properties.items())
                       if key not in known)


def attach_figures(results_dir: Path, measured: dict) -> None:
    """The run's own figures in the report's Environment panel (each scenario's figures are
    attached to the scenario): the stall detector's verdict over every stream exchange."""
    stalls = measured["stalls"]
    add_results_properties(results_dir, {f"figure.stalls.{key.replace(' ', '_')}": value for key, value in stalls.items()})


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("behave", "libtorrent", "aiohttp", "requests", "PyHamcrest", "allure-behave", "httplint", "playwright"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out
