"""Two regressions the flake runs found once main's fresh-torrent variants (the same video
under a new info hash) met the rest of the suite:

* the reference backend saved every torrent into one folder, so a variant and its
  original shared `test-large-4k.mp4`; removing the idle one with its files deleted the
  file the other was streaming (a 500 mid-body, 16 MiB into 20);
* the seeder's alert loop died on a tracker reply for a variant removed since it
  announced (AttributeError on None), silently: no more re-announces, so a tracker that
  restarted never learnt of the seeder again.
"""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

from infra.backends.reference.engine import Engine
from infra.swarm.seeder import swarm as seeder_swarm


def test_torrents_with_files_of_the_same_name_never_share_a_folder(tmp_path):
    async def go() -> list[str]:
        engine = Engine(tmp_path, trackers=[], idle_timeout=300)
        await engine.start()
        try:
            paths = []
            for _ in range(2):   # two torrents, both naming their file test-large-4k.mp4
                magnet = f"magnet:?xt=urn:btih:{os.urandom(20).hex()}&dn=test-large-4k.mp4"
                active = await engine.add(magnet)
                paths.append(active.handle.status().save_path)
                assert paths[-1] == str(engine.save_path(active.info_hash))
            return paths
        finally:
            await engine.stop()

    first, second = asyncio.run(go())
    assert first != second


def test_a_tracker_reply_for_a_removed_variant_does_not_stop_the_alert_loop(monkeypatch):
    class Reply:        # stands for lt.tracker_reply_alert, which cannot be made by hand
        pass

    monkeypatch.setattr(seeder_swarm.lt, "tracker_reply_alert", Reply)
    known = SimpleNamespace(announced=False)
    alerts = [Reply(), Reply()]
    seeds = iter([None, known])          # the first reply is for a variant removed meanwhile
    fake = SimpleNamespace(session=SimpleNamespace(pop_alerts=lambda: alerts), _seed_of=lambda alert: next(seeds))
    seeder_swarm.Swarm.pump_alerts(fake)
    assert known.announced is True
