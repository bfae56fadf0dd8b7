"""libtorrent session settings shared by the seeder and the reference backend.

The swarm lives on loopback only: no DHT, LSD, UPnP, NAT-PMP; every peer shares
127.0.0.1, so several connections per IP must be allowed. Trackers are plain HTTP/UDP
(a ws:// tracker made libtorrent 2.1 leave loopback for WebRTC).
"""

from __future__ import annotations

import libtorrent as lt

ALERTS = (
    lt.alert.category_t.error_notification
    | lt.alert.category_t.status_notification
    | lt.alert.category_t.storage_notification
    | lt.alert.category_t.tracker_notification
)


def isolated_settings(host: str = "127.0.0.1", user_agent: str = "swarmspec") -> dict:
    return {
        "listen_interfaces": f"{host}:0",
        "outgoing_interfaces": "",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        # utp on loopback adds latency for nothing; TCP only.
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "user_agent": user_agent,
        "alert_mask": ALERTS,
        # React within ~0.1 s (metadata, deadlines), not the default 0.5 s.
        "tick_interval": 100,
        # Measured pitfall: with unwanted pieces at priority 0 libtorrent may close the
        # seed connection as "redundant", then wait min_reconnect_time (60 s) per range.
        "close_redundant_connections": False,
        "min_reconnect_time": 1,
        "peer_connect_timeout": 3,
        "smooth_connects": False,
        "connection_speed": 200,
        "torrent_connect_boost": 50,
        "auto_manage_startup": 1,
        "active_downloads": -1,
        "active_seeds": -1,
        "active_limit": -1,
        "active_checking": 4,
        "dont_count_slow_torrents": False,
        "allowed_enc_level": lt.enc_level.plaintext,
        "request_queue_time": 1,
        "max_out_request_queue": 1500,
    }


def new_session(host: str = "127.0.0.1", user_agent: str = "swarmspec", **overrides) -> lt.session:
    settings = isolated_settings(host, user_agent)
    settings.update(overrides)
    return lt.session(settings)
