"""The player page, served by the suite on 127.0.0.1 at a port of its own: an origin
other than the target's, so every read of the stream is cross-origin, as it is for a
web player. A new server (a new port, so a new origin) per scenario: nothing a browser
keeps per origin (preflight answers, connections) carries over from one scenario to the next."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE_DIR = Path(__file__).parent / "page"
HOST = "127.0.0.1"          # loopback only
STOP_TIMEOUT = 5.0


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files from PAGE_DIR, no access log on the console, never cached."""

    def log_message(self, format: str, *args) -> None:   # noqa: A002 (the base class's name)
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class PageServer:
    def __init__(self, directory: Path = PAGE_DIR) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = ThreadingHTTPServer((HOST, 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="swarmspec-page-server", daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.server.server_port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/index.html"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(STOP_TIMEOUT)
