"""The measurements, each as a viewer experiences it, every body compared with the file.

Cold figures run from handing the server the magnet (its target's stream flow: a POST
that waits for the metadata on WebTorrent and peerflix, a new source on the reference
backend) to the byte that matters, on a server that has never seen the torrent. Warm
figures are taken on a server that holds the whole video. A wrong status or a single
wrong byte stops the benchmark: a fast wrong answer is not a figure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from infra.measure.bench.contenders import stream
from infra.ecosystem import clock
from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef
from infra.suite.targets import Target

MIB = 1024 * 1024
FIRST_READ = 64 * 1024     # what a player reads of `bytes=0-` before it knows enough to go on
SEEK_AT = 0.75             # a seek to 75 % of the video...
SEEK_LENGTH = MIB          # ...reading 1 MiB there
WARM_AT = 0.5
WARM_REPEATS = 5


class WrongAnswer(AssertionError):
    """A server answered with the wrong status or the wrong bytes."""


def check(exchange: Exchange, server: str, video: VideoRef, start: int, end: int, status: int) -> None:
    """The exchange got `status` and exactly bytes start..end of the video (as far as it read)."""
    if exchange.status != status:
        raise WrongAnswer(f"{server}: {exchange.label} -> {exchange.status} (expected {status}) "
                          f"{exchange.error or ''} {exchange.body[:200]!r}")
    body = exchange.body
    if exchange.aborted_after is not None:   # a viewer who hung up: what it read
        end = min(end, start + len(body) - 1)
    expected = video.read(start, end)
    if body != expected:
        differs = next((i for i, (a, b) in enumerate(zip(body, expected)) if a != b), min(len(body), len(expected)))
        raise WrongAnswer(f"{server}: {exchange.label}: {len(body)} bytes, expected {len(expected)}; "
                          f"first difference at byte {start + differs} of {video.name}")


def _finished(exchange: Exchange, t0: float, first_byte: bool = False) -> float:
    """Seconds from t0 to the exchange's first body byte or its last."""
    after = exchange.first_byte_after if first_byte else exchange.elapsed
    if after is None:
        raise WrongAnswer(f"{exchange.label}: no body ({exchange.error or exchange.status})")
    return exchange.started + after - t0


def cold_first_byte(server: str, target: Target, client: Client, video: VideoRef) -> float:
    """Magnet to the first byte of `bytes=0-` (a player opening the video; it reads 64 KiB, then hangs up)."""
    t0 = clock.monotonic()
    url, headers = stream(target, client, video)
    exchange = client.request("GET", url, headers={**headers, "Range": "bytes=0-"}, read_limit=FIRST_READ,
                              record=False)
    check(exchange, server, video, 0, video.size - 1, 206)
    return _finished(exchange, t0, first_byte=True)


def seek_span(video: VideoRef) -> tuple[int, int]:
    start = int(video.size * SEEK_AT)
    return start, min(video.size, start + SEEK_LENGTH) - 1


def cold_seek(server: str, target: Target, client: Client, video: VideoRef) -> float:
    """Magnet to the last byte of 1 MiB at 75 % (a player resuming a video in the middle)."""
    start, end = seek_span(video)
    t0 = clock.monotonic()
    url, headers = stream(target, client, video)
    exchange = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{end}"}, record=False)
    check(exchange, server, video, start, end, 206)
    return _finished(exchange, t0)


def full_get(server: str, target: Target, client: Client, video: VideoRef) -> float:
    """Magnet to the last byte of the whole video (a download, or a player that reads it all)."""
    t0 = clock.monotonic()
    url, headers = stream(target, client, video)
    exchange = client.request("GET", url, headers=headers, record=False)
    check(exchange, server, video, 0, video.size - 1, 200)
    return _finished(exchange, t0)


def warm_ranges(server: str, target: Target, client: Client, video: VideoRef) -> list[float]:
    """1 MiB in the middle of a video the server holds, a few times: seconds to the last byte."""
    url, headers = stream(target, client, video)
    start = int(video.size * WARM_AT)
    end = start + MIB - 1
    seconds = []
    for _ in range(WARM_REPEATS):
        exchange = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{end}"}, record=False)
        check(exchange, server, video, start, end, 206)
        seconds.append(exchange.elapsed)
    return seconds


@dataclass(frozen=True)
class Viewer:
    status: int
    start: int
    body: bytes
    seconds: float


def crowd_spans(video: VideoRef, viewers: int) -> list[tuple[int, int]]:
    """1 MiB each, spread evenly over the video: viewers watching different moments."""
    step = (video.size - MIB) // max(1, viewers - 1)
    return [(i * step, i * step + MIB - 1) for i in range(viewers)]


async def _crowd(url: str, headers: dict[str, str], spans: list[tuple[int, int]]) -> list[Viewer]:
    """Every viewer on its own connection, released at once; each one's time runs from the
    release to its last byte. asyncio rather than threads: fifty threads fighting for the
    GIL of a 2-core machine would measure the client, not the server."""
    timeout = aiohttp.ClientTimeout(total=120, connect=3, sock_read=15)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        release = asyncio.Event()
        t0 = [0.0]

        async def one(start: int, end: int) -> Viewer:
            await release.wait()
            async with session.get(url, headers={**headers, "Range": f"bytes={start}-{end}"}) as response:
                body = await response.read()
            return Viewer(response.status, start, body, clock.monotonic() - t0[0])

        tasks = [asyncio.create_task(one(start, end)) for start, end in spans]
        await asyncio.sleep(0)
        t0[0] = clock.monotonic()
        release.set()
        return await asyncio.gather(*tasks)


def crowd(server: str, target: Target, client: Client, video: VideoRef, viewers: int) -> list[float]:
    """`viewers` viewers at once on a video the server holds: each one's seconds to its last byte."""
    url, headers = stream(target, client, video)
    spans = crowd_spans(video, viewers)
    results = asyncio.run(_crowd(url, headers, spans))
    for viewer, (start, end) in zip(results, spans):
        if viewer.status != 206 or viewer.body != video.read(start, end):
            raise WrongAnswer(f"{server}: viewer of bytes={start}-{end} got {viewer.status}, "
                              f"{len(viewer.body)} bytes, not exactly those of {video.name}")
    return [viewer.seconds for viewer in results]
