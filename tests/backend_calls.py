"""Calls on a running ecosystem's backend and seeder, shared by the provider tests."""

from __future__ import annotations

import requests


class BackendCalls:
    """Mixin for a test's ecosystem handle that has `endpoints`, `http` and `token`."""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.endpoints.backend + path, headers=headers, **kwargs)

    def seeder_entry(self, name: str) -> dict:
        torrents = self.http.get(self.endpoints.seeder + "/torrents", timeout=10).json()
        return next(t for t in torrents if t["name"] == name)

    def source_for(self, name: str) -> dict:
        entry = self.seeder_entry(name)
        reply = self.api("POST", "/api/sources", json={"magnetUri": entry["magnetURI"], "size": entry["mainFileSize"]})
        assert reply.status_code == 201, reply.text
        source = reply.json()
        assert source["infoHash"] == entry["hash"]
        return source

    def check_range_of_the_large_video(self, manifest, start: int, end: int) -> None:
        """Stream bytes start..end of test-large-4k through a new source; they must be the file's."""
        video = manifest.get("test-large-4k")
        source = self.source_for("test-large-4k")
        reply = self.api("GET", f"/api/stream/{source['id']}", headers={"Range": f"bytes={start}-{end}"})
        assert reply.status_code == 206, reply.text
        assert reply.headers["Content-Range"] == f"bytes {start}-{end}/{video.size}"
        assert reply.headers["Content-Length"] == str(end - start + 1)
        assert reply.headers["Content-Type"] == "video/mp4"
        assert reply.content == video.read(start, end - start + 1)
