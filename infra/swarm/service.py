"""What every swarmspec HTTP service shares: argument parsing, logging, running an
aiohttp app until SIGTERM/SIGINT, a JSON error shape, the upload-limit setting, and an app
with a background loop (the seeder's and the extra peers' alert and announce loop)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--run-id", default="", help="tags the process so leftovers of a run can be found")
    return parser


class MalformedRequestsAreOneLine(logging.Filter):
    """aiohttp logs every request it cannot parse as an ERROR with a 20-line traceback
    (and the offending bytes). That is the client's mistake, answered 400, not a server
    error -- and a hostile client could fill the disk with it. Said in one INFO line,
    with the reason and without the request's bytes (they may carry a token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            reason = (exc.message or "").strip().split(":", 1)[0] if exc.message else ""
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed request (%s %s)", (exc.code, reason[:80])
            record.exc_info, record.exc_text = None, None
        return True


def setup_logging(name: str) -> logging.Logger:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(MalformedRequestsAreOneLine())
    return logging.getLogger(name)


def json_error(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def put_upload_rate_limit(request: web.Request, apply: Callable[[int], None]) -> web.Response:
    """PUT /settings {"uploadRateLimit": bytes_per_second >= 0}: `apply` it and answer it,
    or answer 400 saying what was expected."""
    try:
        limit = int((await request.json())["uploadRateLimit"])
        if limit < 0:
            raise ValueError("must be >= 0")
    except (ValueError, KeyError, TypeError) as exc:
        return json_error(400, f"expected {{\"uploadRateLimit\": bytes_per_second >= 0}}: {exc}")
    apply(limit)
    return web.json_response({"uploadRateLimit": limit})


class Every:
    """Due at once, then again each `seconds` on the running loop's clock (re-announcing:
    a tracker that restarts and forgets its peers knows them again within seconds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last: float | None = None

    def due(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self.last is not None and now - self.last < self.seconds:
            return False
        self.last = now
        return True


def looping_app(routes: web.RouteTableDef, tick: Callable[[], Awaitable[None]], log: logging.Logger, failure: str,
                start: Callable[[], Awaitable[None]] | None = None, stop: Callable[[], Awaitable[None]] | None = None,
                period: float = 0.05) -> web.Application:
    """An app that, while it serves, awaits `tick` every `period` seconds: `start` before the
    first, `stop` after the loop is cancelled. A failing tick is logged (`failure`) and the
    loop goes on: a dead loop would pump no alerts and announce nothing, silently."""

    async def background(app: web.Application):
        if start is not None:
            await start()

        async def loop() -> None:
            while True:
                try:
                    await tick()
                except Exception:
                    log.exception(failure)
                await asyncio.sleep(period)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if stop is not None:
            await stop()

    app = web.Application()
    app.add_routes(routes)
    app.cleanup_ctx.append(background)
    return app


def run(app_factory: Callable[[], Awaitable[web.Application]], host: str, port: int, log: logging.Logger) -> None:
    """Serve until SIGTERM or SIGINT, then run the app's cleanup hooks and exit 0.

    A failed bind exits with status 98 so a provider can retry on another port.
    """

    async def main() -> None:
        app = await app_factory()
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", host, port, exc)
            await runner.cleanup()
            raise SystemExit(98)
        log.info("listening on http://%s:%s", host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
        await runner.cleanup()

    asyncio.run(main())
