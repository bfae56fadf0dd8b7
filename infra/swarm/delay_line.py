"""python -m infra.swarm.delay_line: latency and jitter for what enters one network
namespace, on kernels built without netem (`CONFIG_NET_SCH_NETEM` unset: `tc qdisc add ...
netem` says "Specified qdisc kind is unknown").

The kernel still does the work of a delay line's plumbing: an iptables rule in the
peer's own namespace hands each incoming packet to nfnetlink_queue (`-j NFQUEUE`), and
this process gives the verdict: accept, after the packet's delay (loss is an iptables
`statistic` rule, see infra.ecosystem.conditions). Packets stay in the kernel meanwhile (only their metadata is copied
here), so what arrives at the other end is the real packet, late or never, and TCP reacts
to it as it would to netem. Packets leave in the order they came (a later packet never
overtakes an earlier one: the jitter is drawn per packet, then made monotonic), as a
real path mostly does; netem's jitter reorders, which real paths rarely do this much.

Standard library only (it runs inside containers too): the nfnetlink_queue protocol is a
few fixed structures (linux/netfilter/nfnetlink_queue.h), spoken over a netlink socket.

Prints "ready" once the queue is bound, so the rule can be added after. The rule lets
packets pass when nobody listens (`--queue-bypass`), so a run killed with SIGKILL does not
leave a black hole that keeps the peer's closing connections, and so its namespace, alive;
the provider checks that the line is still running when the conditions are lifted.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import selectors
import signal
import socket
import struct
import sys

from infra.ecosystem import clock

NETLINK_NETFILTER = 12
SOL_NETLINK, NETLINK_NO_ENOBUFS = 270, 5
SO_RCVBUFFORCE = 33               # socket.SO_RCVBUFFORCE, which Python does not export
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN = 1, 2, 3
CMD_BIND = 1
COPY_META = 1
ATTR_PACKET_HDR, ATTR_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
QUEUE_MAXLEN = 20000
RCVBUF = 8 * 1024 * 1024


class QueueError(OSError):
    """The kernel refused the queue (no CAP_NET_ADMIN, no nfnetlink_queue, queue taken)."""


def _attr(kind: int, data: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(data), kind) + data
    return raw + bytes(-len(raw) % 4)


def _message(kind: int, seq: int, queue: int, attrs: bytes, flags: int = NLM_F_REQUEST) -> bytes:
    payload = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + attrs
    return struct.pack("=IHHII", 16 + len(payload), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + payload


def parse_packets(data: bytes) -> tuple[list[int], list[int]]:
    """(packet ids, netlink error codes) of the messages in one datagram."""
    ids, errors, at = [], [], 0
    while at + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, at)
        if length < 16:
            break
        if kind == NLMSG_ERROR:
            errors.append(-struct.unpack_from("=i", data, at + 16)[0])
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
            pos = at + 20                                   # nlmsghdr + nfgenmsg
            while pos + 4 <= at + length:
                alen, atype = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if atype & 0x3FFF == ATTR_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, pos + 4)[0])
                pos += (alen + 3) & ~3
        at += (length + 3) & ~3
    return ids, errors


class DelayLine:
    def __init__(self, queue: int, delay_ms: float, jitter_ms: float, seed: int) -> None:
        self.queue, self.delay, self.jitter = queue, delay_ms / 1000, jitter_ms / 1000
        self.random = random.Random(seed)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.seq = 0
        self.pending: list[tuple[float, int]] = []          # (due, packet id), a heap
        self.last_due = 0.0
        self.accepted = 0

    def bind(self) -> None:
        self.sock.bind((0, 0))
        for option, value in ((SO_RCVBUFFORCE, RCVBUF), (socket.SO_RCVBUF, RCVBUF)):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, value)
                break
            except OSError:
                continue
        self.sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
        self._config(_attr(CFG_CMD, struct.pack("!BBH", CMD_BIND, 0, 0)))
        self._config(_attr(CFG_PARAMS, struct.pack("!IB", 0, COPY_META)))
        self._config(_attr(CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN)))

    def _config(self, attrs: bytes) -> None:
        self.seq += 1
        self.sock.send(_message(MSG_CONFIG, self.seq, self.queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        self.sock.settimeout(2)
        try:
            _, errors = parse_packets(self.sock.recv(65536))
        finally:
            self.sock.settimeout(None)
        if any(errors):
            raise QueueError(errors[0], f"nfnetlink_queue {self.queue}: configuration refused (errno {errors[0]})")

    def _accept(self, packet: int) -> None:
        self.seq += 1
        self.sock.send(_message(MSG_VERDICT, self.seq, self.queue, _attr(ATTR_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet))))
        self.accepted += 1

    def take(self, packet: int, now: float) -> None:
        due = now + max(0.0, self.delay + self.random.uniform(-self.jitter, self.jitter))
        self.last_due = max(due, self.last_due)
        heapq.heappush(self.pending, (self.last_due, packet))

    def release(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            self._accept(heapq.heappop(self.pending)[1])

    def run(self, stop: list[bool]) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        self.sock.setblocking(False)
        while not stop:
            now = clock.monotonic()
            timeout = max(0.0, self.pending[0][0] - now) if self.pending else 0.5
            if selector.select(timeout):
                while True:
                    try:
                        data = self.sock.recv(1 << 20)
                    except BlockingIOError:
                        break
                    ids, _ = parse_packets(data)
                    now = clock.monotonic()
                    for packet in ids:
                        self.take(packet, now)
            self.release(clock.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-id", default="", help="tags the process so leftovers of a run can be found")
    parser.add_argument("--ready-file", default="", help="also write the pid here once bound (for docker exec)")
    args = parser.parse_args()
    line = DelayLine(args.queue, args.delay_ms, args.jitter_ms, args.seed)
    try:
        line.bind()
    except OSError as exc:
        print(f"delay line: cannot bind nfnetlink queue {args.queue}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    print("ready", flush=True)
    if args.ready_file:
        with open(args.ready_file, "w") as ready:
            ready.write(str(os.getpid()))
    line.run(stop)
    line.release(float("inf"))          # nothing stays queued behind us
    print(f"delay line: {line.accepted} packets passed", flush=True)


if __name__ == "__main__":
    main()
