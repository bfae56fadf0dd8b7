"""A viewer's playback, as a browser's media stack plays a progressive file: fill a buffer
goal as fast as the server allows, start once the first seconds are in, keep the buffer
topped up in sequential ranges at the playback bitrate, stall when the play head catches
up with the buffer and resume once a little is buffered again; seek (drop the buffer,
start again at the new point), pause, leave.

Pure state over an explicit clock (`now` in seconds), so it is unit-tested without a
server; the Locust user (`locustfile.py`) drives it with real requests. What it observes
goes into a `Tally` per load level, which the ramp's knee is judged on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STARTING, PLAYING, STALLED, PAUSED, ENDED = "starting", "playing", "stalled", "paused", "ended"


@dataclass(frozen=True)
class Habits:
    """How a viewer plays. Defaults after Chromium's and hls.js's progressive playback:
    a 30 s buffer goal, playback starts with 2 s buffered, resumes after a stall with 2 s."""

    bitrate: float                 # bytes per second of video
    goal_seconds: float = 30.0
    start_seconds: float = 2.0     # buffered before playback starts (and the startup time ends)
    resume_seconds: float = 2.0    # buffered before playback resumes after a stall
    request_bytes: int = 2 * 1024 * 1024   # a top-up range
    seek_chance: float = 0.15      # per 10 s watched: seek to a random point
    pause_chance: float = 0.05     # per 10 s watched: pause for pause_seconds
    pause_seconds: float = 5.0
    leave_chance: float = 0.05     # per 10 s watched: leave (a new viewer takes the seat)


@dataclass
class Tally:
    """What one viewer saw while the ramp held one level of viewers."""

    viewer: str
    level: int
    startups: list[float] = field(default_factory=list)     # seconds from request to start_seconds buffered
    seeks: list[float] = field(default_factory=list)        # the same after a seek
    rebuffers: list[float] = field(default_factory=list)    # seconds of each stall (an open one: so far)
    bytes: int = 0
    watched: float = 0.0                                     # seconds in the level
    errors: list[str] = field(default_factory=list)          # failed requests (status or exception)
    wrong_bytes: list[str] = field(default_factory=list)     # bytes that differ from the source
    slowest: float = 0.0                                     # seconds of the longest request, answered or failed

    def to_json(self) -> dict:
        return asdict(self)


class Playback:
    """One viewing of a file of `size` bytes; positions are byte offsets."""

    def __init__(self, size: int, habits: Habits, now: float, start: int = 0, chunk: int = 1) -> None:
        """`chunk`: ranges end on multiples of it (the digest table's chunks: only whole
        chunks are verified, so a range ending mid-chunk would leave bytes unusable)."""
        self.size, self.habits, self.chunk = size, habits, chunk
        self._begin(now, start, PLAYING)

    def _begin(self, now: float, offset: int, previous: str) -> None:
        self.playhead = self.buffered = offset
        self.state = STARTING
        self.asked_at = now
        self.since = now                  # when the play head was last advanced
        self.seeking = previous != PLAYING or offset != 0
        self.stall_from: float | None = None

    # -- the clock ------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Move the play head to `now`. A stall that begins is noted in `stall_from`; it
        ends only when data arrives (`received`)."""
        if self.state == PLAYING:
            moved = self.playhead + (now - self.since) * self.habits.bitrate
            if moved >= self.size and self.buffered >= self.size:
                self.playhead, self.state = self.size, ENDED
            elif moved >= self.buffered:
                self.stall_from = self.since + (self.buffered - self.playhead) / self.habits.bitrate
                self.playhead, self.state = self.buffered, STALLED
            else:
                self.playhead = int(moved)
        self.since = now

    def buffer_seconds(self, now: float) -> float:
        self.advance(now)
        return (self.buffered - self.playhead) / self.habits.bitrate

    # -- what the viewer does next ----------------------------------------------------
    def next_range(self, now: float) -> tuple[int, int] | None:
        """The range (first, last byte) to ask for now, or None while the buffer is full."""
        if self.buffered >= self.size or self.state == ENDED:
            return None
        ahead = self.buffer_seconds(now)
        if ahead >= self.habits.goal_seconds and self.state != STARTING:
            return None
        wanted = self.habits.request_bytes
        if self.state in (STARTING, STALLED):      # the first range: as little as starts playback
            wanted = min(wanted, max(1, int(self.habits.start_seconds * self.habits.bitrate)))
        end = -(-(self.buffered + wanted) // self.chunk) * self.chunk
        return self.buffered, min(self.size, end) - 1

    def wait_seconds(self, now: float) -> float:
        """How long a full buffer lasts before the next top-up range is due."""
        if self.state == PAUSED or self.state == ENDED:
            return 1.0
        spare = (self.buffered - self.playhead) - (self.habits.goal_seconds * self.habits.bitrate
                                                   - self.habits.request_bytes)
        return max(0.05, spare / self.habits.bitrate)

    def received(self, now: float, count: int) -> tuple[str, float] | None:
        """`count` verified bytes arrived; returns ("startup"|"seek"|"rebuffer", seconds)
        when this ends a startup or a stall."""
        self.advance(now)
        self.buffered = min(self.size, self.buffered + count)
        ahead = (self.buffered - self.playhead) / self.habits.bitrate
        complete = self.buffered >= self.size
        if self.state == STARTING and (ahead >= self.habits.start_seconds or complete):
            self.state, self.since = PLAYING, now
            return ("seek" if self.seeking else "startup", now - self.asked_at)
        if self.state == STALLED and (ahead >= self.habits.resume_seconds or complete):
            stalled = now - (self.stall_from if self.stall_from is not None else now)
            self.state, self.since, self.stall_from = PLAYING, now, None
            return ("rebuffer", stalled)
        return None

    def open_stall(self, now: float) -> float:
        """The length so far of a stall still going on (0 when playing)."""
        self.advance(now)
        return now - self.stall_from if self.state == STALLED and self.stall_from is not None else 0.0

    def seek(self, now: float, offset: int) -> None:
        self._begin(now, offset, previous="seek")

    def pause(self, now: float) -> None:
        self.advance(now)
        if self.state == PLAYING:
            self.state = PAUSED

    def resume(self, now: float) -> None:
        if self.state == PAUSED:
            self.state, self.since = PLAYING, now

    @property
    def ended(self) -> bool:
        return self.state == ENDED
