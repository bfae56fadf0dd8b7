"""Shared pytest setup for the infra unit and integration tests."""

from __future__ import annotations

import sys
from pathlib import Path

# `pytest tests/` puts tests/ (not the repo root) on sys.path; make `infra` and `videos` importable.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "integration: starts the real ecosystem (opentracker, seeder, range server, backend)")
    config.addinivalue_line(
        "markers", "recipes: builds the wheel and runs the CI recipes in fresh venvs (minutes; -m 'not recipes' leaves it out)")
    # A skip says why (no Docker engine, ...): print the reasons in the summary, as -rs would.
    if "s" not in config.option.reportchars and "a" not in config.option.reportchars:
        config.option.reportchars += "s"
