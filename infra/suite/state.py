"""Typed state of one scenario, carried from its When steps to its Then steps.

behave's `context` accepts any attribute, so a typo in a Then step reads a stale value
from another layer instead of failing; here every field is declared, typed and reset
for each scenario (`before_scenario` makes a new one as `context.scene`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.suite.grading import Judge
from infra.suite.http import Exchange
from infra.suite.library import VideoRef
from infra.suite.viewer import Viewer


@dataclass
class ScenarioState:
    viewer: Viewer
    judge: Judge
    video: VideoRef | None = None                      # the video the scenario is about
    expected_span: tuple[int, int] | None = None       # bytes the last request asked for (start, end)
    player_reads: list[Any] = field(default_factory=list)   # infra.suite.player.PlayerRead
    found_index_at: int | None = None                  # moov offset found by walking served bytes
    crowd: list[Exchange] = field(default_factory=list)     # answers of many viewers at once
    crowd_limits: list[int | None] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    source: dict[str, Any] | None = None               # a source created through the target's API
    described: dict[str, Any] | None = None            # what the curator said of that source's video
    stream_token: str | None = None
    validator: str | None = None                       # an ETag or date the player holds (If-Range)
    validators: Any = None                             # infra.suite.conditions.Validators the viewer holds
    last_watched_at: float | None = None               # monotonic time of the last stream read
    forgotten_at: float | None = None                  # monotonic time the backend was seen without the torrent
    fresh: VideoRef | None = None                      # a fresh copy of a video the backend has never seen
    first_byte_after: float | None = None              # seconds from handing over a magnet to the first body byte
    probe: Any = None                                  # infra.suite.decoders.Probe of the stream
    frames: tuple[Any, Any] | None = None              # decoders.Frame through the stream, from the local file
    player: Any = None                                 # infra.suite.browser.BrowserPlayer (@browser scenarios)
    playback: dict[str, Any] | None = None             # what the browser's player reported of playing
    seek: dict[str, Any] | None = None                 # ... and of its last seek
    fetched: list[dict[str, Any]] = field(default_factory=list)   # a fetch-based player's answers
    swarm_rate: float | None = None                    # the seeder's upload limit, bytes/s (a slow swarm)
    swarm: Any = None                                  # infra.suite.peers.ScenarioSwarm: the scenario's own peers
    conditions: Any = None                             # infra.ecosystem.conditions.NetworkConditions in force
    audience: Any = None                               # infra.suite.crowd.audience.Audience (a crowd of players)
    fault_at: float | None = None                      # monotonic time a fault was injected mid-stream
    ranges: Any = None                                 # infra.suite.range_support.RangeJudge of this scenario

    def require_video(self) -> VideoRef:
        if self.video is None:
            raise AssertionError("no video chosen yet: a When step must name the video first")
        return self.video
