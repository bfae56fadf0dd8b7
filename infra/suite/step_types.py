"""Custom parse types for step patterns, so steps receive typed values."""

from __future__ import annotations

import parse
from behave import register_type

from infra.suite.library import VIDEO_PATTERN


@parse.with_pattern(VIDEO_PATTERN)
def _video(text: str) -> str:
    return text


@parse.with_pattern(r"\d+(?:\s*,\s*\d+)*(?:\s*(?:,|or)\s*\d+)?")
def _statuses(text: str) -> tuple[int, ...]:
    import re

    return tuple(int(x) for x in re.findall(r"\d+", text))


@parse.with_pattern(r"\d+(?:\.\d+)?")
def _seconds(text: str) -> float:
    return float(text)


def register() -> None:
    register_type(Video=_video, Statuses=_statuses, Seconds=_seconds)
