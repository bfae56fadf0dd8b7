"""The range server: the video files over plain HTTP with RFC 9110 range semantics,
the byte-for-byte oracle a backend's answers can be compared with."""
