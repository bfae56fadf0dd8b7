"""The run's browser: launched at the first `@browser` scenario (a run without one never
starts it), closed with the run. Without a browser, `@browser` scenarios are skipped with
the reason (graded "not run", never passed)."""

from __future__ import annotations

import atexit

from infra.suite.browser.chromium import BrowserUnavailable, Chromium
from infra.suite.browser.player import BrowserPlayer


class BrowserSession:
    def __init__(self) -> None:
        self.chromium: Chromium | None = None
        self.unavailable: str | None = None

    def why_not(self) -> str | None:
        """None when a browser is running (launching it the first time), else why not."""
        if self.chromium is None and self.unavailable is None:
            try:
                self.chromium = Chromium.launch()
                atexit.register(self.close)   # a run that dies before its clean-up leaves no browser behind
            except BrowserUnavailable as exc:
                self.unavailable = str(exc)
        return self.unavailable

    def player(self) -> BrowserPlayer:
        if self.chromium is None:
            raise BrowserUnavailable(self.unavailable or "the browser was not launched")
        return BrowserPlayer(self.chromium)

    def versions(self) -> dict[str, str]:
        if self.chromium is None:
            return {}
        return {"chromium": self.chromium.version, "playwright": Chromium.playwright_version()}

    def close(self) -> None:
        if self.chromium is not None:
            self.chromium.close()
            self.chromium = None
