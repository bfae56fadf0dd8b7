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
