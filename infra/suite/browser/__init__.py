"""Real players in the suite: Debian's Chromium under Playwright, a page of the suite's
own on another origin, a `<video>` element and a fetch-based range reader."""

from infra.suite.browser.chromium import BrowserUnavailable, Chromium
from infra.suite.browser.player import BrowserPlayer, PlayerFailed, fetched_exchange, stream_url_for_browser
from infra.suite.browser.session import BrowserSession

__all__ = ["BrowserPlayer", "BrowserSession", "BrowserUnavailable", "Chromium", "PlayerFailed",
           "fetched_exchange", "stream_url_for_browser"]
