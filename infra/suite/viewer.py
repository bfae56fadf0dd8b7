"""A viewer: what a video player does against the target, in the suite's vocabulary."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from infra.ecosystem import clock
from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef
from infra.suite.targets import Target


@dataclass
class Viewer:
    client: Client
    target: Target
    last: Exchange | None = None
    history: list[Exchange] = field(default_factory=list)
    token_override: str | None = None      # "Authorization" header to send instead of the target's
    anonymous: bool = False

    def headers(self, extra: dict[str, str] | None = None, anonymous: bool = False) -> dict[str, str]:
        if self.anonymous or anonymous:
            headers = {}
        elif self.token_override is not None:
            headers = {"Authorization": f"Bearer {self.token_override}"}
        else:
            headers = self.target.auth_headers(self.client)
        return {**headers, **(extra or {})}

    def get(self, url: str, range_header: str | None = None, method: str = "GET", read_limit: int | None = None,
            extra: dict[str, str] | None = None, client: Client | None = None, anonymous: bool = False) -> Exchange:
        """One request as this viewer; `anonymous` sends no credentials (a browser's preflight)."""
        headers = self.headers(extra, anonymous)
        if range_header is not None:
            headers["Range"] = range_header
        exchange = (client or self.client).request(method, url, headers=headers, read_limit=read_limit)
        self.last = exchange
        self.history.append(exchange)
        return exchange

    def play(self, video: VideoRef, range_header: str | None = None, method: str = "GET",
             read_limit: int | None = None, extra: dict[str, str] | None = None) -> Exchange:
        return self.get(self.target.stream_url(self.client, video), range_header, method, read_limit, extra)

    def start(self, video: VideoRef, range_header: str | None = None) -> tuple[Exchange, float | None]:
        """Play a torrent the target has not seen yet: the answer, and the seconds from handing
        the target its magnet (the stream flow: a POST that may wait for the metadata) to the
        first body byte (None if none came). Only both together are a viewer's wait."""
        handed_over = clock.monotonic()
        exchange = self.play(video, range_header)
        if exchange.first_byte_after is None:
            return exchange, None
        return exchange, exchange.started + exchange.first_byte_after - handed_over

    def together(self, jobs: list[tuple[str, str | None, int | None]]) -> list[Exchange]:
        """Many viewers at once: (url, Range, read_limit) each, released together by a barrier.
        Each has its own connection; the exchanges are recorded in this viewer's client."""
        barrier = threading.Barrier(len(jobs))
        headers = self.headers()

        def one(job: tuple[str, str | None, int | None]) -> Exchange:
            url, rng, limit = job
            own = Client()
            try:
                barrier.wait(timeout=30)
                request_headers = dict(headers)
                if rng:
                    request_headers["Range"] = rng
                exchange = own.request("GET", url, headers=request_headers, read_limit=limit, record=False)
            finally:
                own.close()
            return exchange

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(one, jobs))
        for exchange in results:  # recorded from this thread, so the report attaches them to the step
            self.client.record(exchange)
        self.history.extend(results)
        return results
