"""Free ports on loopback. A port somebody else holds is avoided, never fatal."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1", udp_too: bool = False) -> int:
    """A port that is free for TCP (and UDP, when asked) right now.

    There is a window between this check and the service binding; callers that
    start a service on it retry with another port if the bind fails.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            if not udp_too:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no free port found on {host}")


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
