"""Debian's Chromium, driven by Playwright (PyPI), once per run.

`playwright install` cannot download a browser here, so the suite launches the system's
`chromium` by its path. Headless, no sandbox (the suite runs as root in CI), and every
background service off: without them Chromium reaches out to the network on start
(component updates, sync, field trials), which this machine must never do. The profile
is a fresh temporary folder, removed when the browser closes; one left by a run that
was killed (its process id no longer alive) is removed by the next run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from infra.ecosystem import processes

#: The Debian package and the PyPI package that give the suite a browser.
CHROMIUM_PACKAGE = "chromium"
PLAYWRIGHT_PACKAGE = "playwright"
CANDIDATES = ("chromium", "chromium-browser")
PROFILE_PREFIX = "swarmspec-chromium-"

FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
)
LAUNCH_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 30_000


class BrowserUnavailable(RuntimeError):
    """No browser can be had here; the message says what to install."""


def find_chromium() -> str:
    """The system Chromium's path, or BrowserUnavailable naming the Debian package."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable(f"no Chromium on PATH (looked for {', '.join(CANDIDATES)}): install the Debian "
                             f"package `{CHROMIUM_PACKAGE}` (apt-get install {CHROMIUM_PACKAGE}; infra/setup.sh "
                             "does it when run as root)")


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserUnavailable(f"the PyPI package `{PLAYWRIGHT_PACKAGE}` is not installed (it is pinned in "
                                 "requirements.txt: bash infra/setup.sh)") from None
    return sync_playwright


def reap_stale_profiles(tmp: Path | None = None) -> list[Path]:
    """Remove profiles of runs whose process is gone (a SIGKILL leaves them behind)."""
    removed = []
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}*"):
        pid = path.name[len(PROFILE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not processes.alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class Chromium:
    """One headless Chromium for the run: pages are opened per scenario, the browser and
    its profile folder go when `close` is called (the run's clean-up)."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        reap_stale_profiles()
        self.profile = Path(tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"))
        self._driver = None
        self.context = None
        try:
            self._driver = _playwright()().start()
            self.context = self._driver.chromium.launch_persistent_context(
                str(self.profile), executable_path=executable, headless=True, args=list(FLAGS),
                timeout=LAUNCH_TIMEOUT_MS, viewport={"width": 640, "height": 400})
            self.context.set_default_timeout(ACTION_TIMEOUT_MS)
            self.version = self.context.browser.version if self.context.browser else "unknown"
        except BaseException:
            self.close()
            raise

    @classmethod
    def launch(cls) -> "Chromium":
        """The system Chromium under Playwright, or BrowserUnavailable saying what is missing."""
        _playwright()
        executable = find_chromium()
        try:
            return cls(executable)
        except BrowserUnavailable:
            raise
        except Exception as exc:   # Playwright's own errors: name the browser and what went wrong
            raise BrowserUnavailable(f"{executable} did not start under Playwright: {str(exc).splitlines()[0]}") from exc

    @staticmethod
    def playwright_version() -> str:
        from importlib.metadata import version

        return version(PLAYWRIGHT_PACKAGE)

    def new_page(self):
        return self.context.new_page()

    def close(self) -> None:
        """Browser, driver and profile folder, whichever of them exist (safe to call twice)."""
        try:
            if self.context is not None:
                self.context.close()
        finally:
            self.context = None
            try:
                if self._driver is not None:
                    self._driver.stop()
            finally:
                self._driver = None
                shutil.rmtree(self.profile, ignore_errors=True)

