"""python -m infra.bench: start the ecosystem and print the figures the design cares about.

Ecosystem start time, first byte of a fresh torrent, a seek into a region not yet
downloaded, a cached range, and the resident memory of each service. Figures only,
no pass/fail: budgets are asserted by features/performance.feature.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from infra import PROJECT_ROOT
from infra.config import Settings
from infra.ecosystem import clock
from infra.ecosystem.local import LocalProvider
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Client
from infra.suite.targets import ReferenceTarget, load_credentials


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def wait_until_dropped(client: Client, target: ReferenceTarget, info_hash: str) -> None:
    """The backend no longer holds the torrent (idle 1 s), so the next stream is a fresh one."""

    def dropped() -> None:
        if any(t["infoHash"] == info_hash for t in target.active_torrents(client)):
            raise NotReady(f"the backend still holds {info_hash}")

    Wait(service="backend", what=f"the backend to drop {info_hash} (idle)", probe=dropped, timeout=30,
         interval=0.1).run()


def measure(client: Client, target: ReferenceTarget, large: dict, rounds: int, label: str) -> dict[str, object]:
    """First byte of a fresh torrent, then at once a seek to 90 % (not downloaded yet),
    then the same range again (cached)."""
    size = large["mainFileSize"]
    first_bytes, seeks, cached, progress = [], [], [], []
    for _ in range(rounds):
        source = json.loads(target.create_source(client, large["magnetURI"]).body)["id"]
        url = target.stream_url_for(source)
        headers = target.auth_headers(client)
        wait_until_dropped(client, target, large["hash"])
        first = client.request("GET", url, headers={**headers, "Range": "bytes=0-65535"})
        if first.status != 206:
            raise RuntimeError(f"{first.label} -> {first.status} after {first.elapsed:.2f}s {first.body[:200]!r}")
        progress.append(next(t["downloaded"] / large["size"] for t in target.active_torrents(client) if t["infoHash"] == large["hash"]))
        start = int(size * 0.9)
        seek = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{start + 65535}"})
        again = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{start + 65535}"})
        for exchange in (first, seek, again):
            if exchange.status != 206:
                raise RuntimeError(f"{exchange.label} -> {exchange.status} {exchange.error or ''}")
        first_bytes.append(first.first_byte_after)
        seeks.append(seek.elapsed)
        cached.append(again.elapsed)
    ms = lambda values: f"median {statistics.median(values) * 1000:.1f}, max {max(values) * 1000:.1f}"
    return {
        f"[{label}] first byte of a fresh torrent (ms, {rounds} runs)": ms(first_bytes),
        f"[{label}] share of the file downloaded when the seek was sent (max)": f"{max(progress):.0%}",
        f"[{label}] seek to 90 % of the large video (ms)": ms(seeks),
        f"[{label}] the same range again, cached (ms)": ms(cached),
    }


def main(rounds: int = 5) -> int:
    with tempfile.TemporaryDirectory(prefix="swarmspec-bench-") as tmp:
        settings = Settings(run_dir=Path(tmp) / "run", reports_dir=PROJECT_ROOT / "reports" / "bench", idle_timeout=1.0)
        provider = LocalProvider(settings, progress=False)
        started = clock.monotonic()
        endpoints = provider.up()
        figures: dict[str, object] = {"ecosystem start (s)": round(clock.monotonic() - started, 3)}
        client = Client()
        try:
            target = ReferenceTarget(endpoints.backend, load_credentials(endpoints.credentials_file, {}))
            torrents = {t["name"]: t for t in json.loads(client.request("GET", f"{endpoints.seeder}/torrents").body)}
            large = torrents["test-large-4k"]
            for limit in (0, 2_000_000):
                client.request("PUT", f"{endpoints.seeder}/settings", json_body={"uploadRateLimit": limit})
                label = "unlimited swarm" if not limit else f"swarm limited to {limit / 1e6:g} MB/s"
                figures.update(measure(client, target, large, rounds, label))
            client.request("PUT", f"{endpoints.seeder}/settings", json_body={"uploadRateLimit": 0})
            for name, service in provider.services.items():
                figures[f"RSS {name} (MiB)"] = round(rss_mib(service.pid) or 0, 1)
        finally:
            client.close()
            provider.down()
    for name, value in figures.items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
