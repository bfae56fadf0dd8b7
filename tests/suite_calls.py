"""The suite's own client, target and library on an ecosystem a test started, shared by
the provider tests: they speak to the backend exactly as the scenarios do, so there is
no second backend client to keep in step with the API."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from hamcrest import assert_that

from infra.ecosystem.endpoints import Endpoints
from infra.suite.http import Client
from infra.suite.library import Library, VideoRef
from infra.suite.matchers import body_equals, has_content_range, has_header, has_status
from infra.suite.swarm_control import SwarmControl
from infra.suite.targets import ReferenceTarget
from infra.suite.viewer import Viewer


class SuiteCalls:
    """Mixin for a test's ecosystem handle that has `endpoints`; `close()` when done."""

    endpoints: Endpoints

    @cached_property
    def client(self) -> Client:
        return Client()

    @cached_property
    def target(self) -> ReferenceTarget:
        """Logged in with `self.admin` when the handle has one (a login the settings gave),
        else with the ecosystem's credentials file."""
        credentials = getattr(self, "admin", None) or json.loads(Path(self.endpoints.credentials_file).read_text())
        return ReferenceTarget(self.endpoints.backend, credentials)

    @cached_property
    def library(self) -> Library:
        return Library.of_running(self.endpoints, self.client)

    @property
    def viewer(self) -> Viewer:
        """A viewer that plays through the target (a source per video, created once)."""
        return Viewer(self.client, self.target)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()

    def seeder_torrent(self, video: VideoRef) -> dict:
        """What the seeder's control API says about the video's torrent."""
        return next(t for t in SwarmControl(self.endpoints).torrents(self.client) if t["hash"] == video.info_hash)

    def check_range_of_the_large_video(self, start: int, end: int) -> None:
        """Stream bytes start..end of the large video through the target; they must be the file's."""
        video = self.library["the large video"]
        exchange = self.viewer.play(video, f"bytes={start}-{end}")
        assert_that(exchange, has_status(206))
        assert_that(exchange, has_content_range(f"bytes {start}-{end}/{video.size}"))
        assert_that(exchange, has_header("Content-Length", str(end - start + 1)))
        assert_that(exchange, has_header("Content-Type", "video/mp4"))
        assert_that(exchange, body_equals(video.read(start, end), video.name, offset=start))
