"""The reference streaming backend: what a good torrent-streaming HTTP service does.
It is the default system under test."""
