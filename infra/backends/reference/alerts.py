"""libtorrent's alerts delivered to the event loop the moment they are posted.

libtorrent writes a byte to a file descriptor when its alert queue goes from empty to
non-empty (`session.set_alert_fd`); the event loop watches that descriptor, so an alert
(a piece read, a piece verified, metadata) is handled at once, with no thread parked in
`wait_for_alert` and no polling interval. The former loop ran `wait_for_alert(50 ms)` in
an executor thread: a thread hop per batch of alerts, and 20 wake-ups a second when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Callable

import libtorrent as lt

log = logging.getLogger("backend.alerts")


class AlertPump:
    """Calls `handle(alert)` on the event loop for every alert of `session`."""

    def __init__(self, session: lt.session, handle: Callable[[lt.alert], None]) -> None:
        self.session = session
        self.handle = handle
        self._read_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._read_fd, self._pump)
        self.session.set_alert_fd(self._write_fd)
        self._pump()   # whatever was posted before the descriptor was set

    def stop(self) -> None:
        """Stop watching. libtorrent is pointed at /dev/null before the pipe is closed,
        so it never writes to a descriptor number the process has since reused."""
        if self._loop is not None:
            self._loop.remove_reader(self._read_fd)
            self._loop = None
        sink = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        self.session.set_alert_fd(sink)   # kept open for as long as the session may write
        for fd in (self._read_fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _pump(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read_fd, 4096):
                pass
        for alert in self.session.pop_alerts():
            try:
                self.handle(alert)
            except Exception:  # one bad alert must not stop every stream
                log.exception("while handling %s", type(alert).__name__)
