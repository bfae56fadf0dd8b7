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
import time
from pathlib import Path

from infra.config import Settings
from infra.providers.local import LocalProvider
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


def main(rounds: int = 5) -> int:
    with tempfile.TemporaryDirectory(prefix="swarmspec-bench-") as tmp:
        settings = Settings(run_dir=Path(tmp) / "run", reports_dir=Path(tmp) / "reports", idle_timeout=1.0)
        provider = LocalProvider(settings, progress=False)
        started = time.monotonic()
        endpoints = provider.up()
        figures: dict[str, object] = {"ecosystem start (s)": round(time.monotonic() - started, 3)}
        client = Client()
        try:
            target = ReferenceTarget(endpoints.backend, load_credentials(endpoints.credentials_file, {}))
            torrents = {t["name"]: t for t in json.loads(client.request("GET", f"{endpoints.seeder}/torrents").body)}
            large = torrents["test-large-4k"]
            size = large["mainFileSize"]
            first_bytes, seeks, cached = [], [], []
            for _ in range(rounds):
                source = json.loads(target.create_source(client, large["magnetURI"]).body)["id"]
                url = target.stream_url_for(source)
                headers = target.auth_headers(client)
                # fresh torrent: wait until the backend has dropped it (idle timeout 1 s)
                while any(t["infoHash"] == large["hash"] for t in target.active_torrents(client)):
                    time.sleep(0.1)
                first = client.request("GET", url, headers={**headers, "Range": "bytes=0-65535"})
                progress = next(t["progress"] for t in target.active_torrents(client) if t["infoHash"] == large["hash"])
                start = int(size * 0.9)
                seek = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{start + 65535}"})
                again = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{start + 65535}"})
                first_bytes.append(first.first_byte_after)
                seeks.append((seek.elapsed, progress))
                cached.append(again.elapsed)
            figures["first byte, fresh torrent (ms, median of %d)" % rounds] = round(statistics.median(first_bytes) * 1000, 1)
            figures["first byte, fresh torrent (ms, max)"] = round(max(first_bytes) * 1000, 1)
            figures["seek to 90%, not yet downloaded (ms, median)"] = round(statistics.median(s for s, _ in seeks) * 1000, 1)
            figures["torrent progress when the seek was sent (max)"] = max(p for _, p in seeks)
            figures["same range again, cached (ms, median)"] = round(statistics.median(cached) * 1000, 1)
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
