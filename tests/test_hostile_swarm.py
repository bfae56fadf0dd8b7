"""The hostile swarm's parts: network conditions, peers' shapes, variant torrents, the delay
line's protocol, the suite's peer phrases; and, as root, that a run leaves nothing behind:
no namespace, veth pair, qdisc, delay line or peer process, whether it ends with down()
or is killed with SIGKILL."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infra.ecosystem import netns
from infra.ecosystem.conditions import (BadConditions, NetworkConditions, fallback_commands, netem_commands)
from infra.ecosystem.peers import BadPeer, PeerSpec
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Exchange
from infra.suite.matchers import whole_or_visibly_cut
from infra.suite.mid_stream import physics
from infra.suite.peers import UnknownPeerPhrase, parse_peers
from infra.swarm import delay_line, torrents
from infra.swarm.peer.shape import FileSpan, Shape, copy_content, tamper

ROOT = Path(__file__).resolve().parents[1]


# -- conditions -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("200 ms away with 2 % packet loss", NetworkConditions(200, 0, 2, 0)),
    ("20 ms away at 2 MB/s", NetworkConditions(20, 0, 0, 2_000_000)),
    ("50 ms away (+-10 ms) at 512 KB/s", NetworkConditions(50, 10, 0, 512_000)),
    ("at 1.5 MB/s", NetworkConditions(0, 0, 0, 1_500_000)),
])
def test_conditions_read_as_a_viewer_says_them(text, expected):
    assert NetworkConditions.parse(text) == expected


@pytest.mark.parametrize("text", ["far away", "", "fast"])
def test_conditions_without_a_condition_are_refused(text):
    with pytest.raises(BadConditions, match="no condition"):
        NetworkConditions.parse(text)


def test_impossible_conditions_are_refused():
    with pytest.raises(BadConditions):
        NetworkConditions(10, 20)          # jitter over the latency
    with pytest.raises(BadConditions):
        NetworkConditions(loss_pct=101)


def test_netem_is_one_qdisc_and_loss_is_per_packet():
    commands = netem_commands("eth0", NetworkConditions(200, 20, 2, 2_000_000))
    assert commands[0] == ["ip", "link", "set", "dev", "eth0", "gso_max_segs", "1"]
    assert commands[1] == ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "limit", "100000",
                           "delay", "200ms", "20ms", "loss", "2%", "rate", "16000000bit"]


def test_without_netem_the_delay_holds_what_comes_in_and_the_loss_what_goes_out():
    commands = fallback_commands("eth0", NetworkConditions(100, 0, 1, 1_000_000))
    text = [" ".join(c) for c in commands]
    assert any(t.startswith("tc qdisc replace dev eth0 root tbf rate 8000000bit") for t in text)
    assert any("-A OUTPUT -o eth0 -m statistic --mode random --probability 0.010000 -j DROP" in t for t in text)
    assert any("-t mangle -A PREROUTING -i eth0 -j NFQUEUE --queue-num 0 --queue-bypass" in t for t in text)


def test_physics_is_round_trips_times_latency_plus_bytes_over_rate():
    assert physics(NetworkConditions(20, 0, 0, 2_000_000), 5, 1, 262144) == pytest.approx(0.1 + 0.131072)
    assert physics(NetworkConditions(100), 10, 1, 262144) == pytest.approx(1.0)
    assert physics(None, 10, 1, 262144) == 0.0


# -- the delay line's protocol -----------------------------------------------------------------

def _packet_message(packet_id: int) -> bytes:
    attr = struct.pack("=HH", 4 + 7, delay_line.ATTR_PACKET_HDR) + struct.pack("!IHB", packet_id, 0x0800, 1) + b"\0"
    payload = struct.pack("!BBH", 2, 0, 0) + attr
    return struct.pack("=IHHII", 16 + len(payload), (3 << 8) | delay_line.MSG_PACKET, 0, 0, 0) + payload


def test_the_delay_line_reads_packet_ids_from_queue_messages():
    ids, errors = delay_line.parse_packets(_packet_message(7) + _packet_message(4096))
    assert (ids, errors) == ([7, 4096], [])


def test_the_delay_line_releases_in_order_after_the_delay():
    line = delay_line.DelayLine(0, delay_ms=100, jitter_ms=50, seed=3)
    sent: list[int] = []
    line._accept = sent.append                      # no socket: record the verdicts
    for packet in range(50):
        line.take(packet, now=packet * 0.001)
    line.release(now=0.04)
    assert sent == []                               # nothing before its delay (at least 50 ms)
    line.release(now=10)
    assert sent == list(range(50))                  # all of them, in the order they came


# -- peers ---------------------------------------------------------------------------------------

def test_halves_complement_each_other_and_tampering_hits_held_pieces():
    even, odd = Shape("even").held(9), Shape("odd").held(9)
    assert all(a != b for a, b in zip(even, odd))
    assert Shape("first-half").held(5) == [True, True, True, False, False]
    assert Shape("all", tamper_every=2).tampered(6) == [1, 3, 5]
    assert Shape("even", tamper_every=2).tampered(8) == [2, 6]


def test_a_tampered_copy_fails_exactly_the_tampered_pieces(tmp_path):
    content = tmp_path / "media"
    content.mkdir()
    (content / "clip.mp4").write_bytes(os.urandom(3 * 4096 + 100))
    spans = [FileSpan("clip.abc.mp4", 0, 3 * 4096 + 100)]
    copy_content(spans, content, tmp_path / "work", content_name="clip.mp4")
    tamper(spans, tmp_path / "work", 2048, [1, 4])
    original, copy = (content / "clip.mp4").read_bytes(), (tmp_path / "work" / "clip.abc.mp4").read_bytes()
    differs = [i for i in range(len(original) // 2048 + 1)
               if hashlib.sha1(original[i * 2048:(i + 1) * 2048]).digest() != hashlib.sha1(copy[i * 2048:(i + 1) * 2048]).digest()]
    assert differs == [1, 4]


def test_peer_descriptions_are_checked():
    with pytest.raises(BadPeer):
        PeerSpec("Bad Name", Path("x.torrent"))
    with pytest.raises(BadPeer):
        PeerSpec("cutter", Path("x.torrent"), behaviour="cuts-mid-piece", tamper_every=2)


def test_the_suite_reads_peers_as_features_say_them():
    assert parse_peers("a peer that holds its even pieces and a peer that holds its odd pieces") == [
        ("even", {"holds": "even"}), ("odd", {"holds": "odd"})]
    assert parse_peers("a fast peer and a slow peer limited to 256 KB/s") == [
        ("fast", {}), ("slow", {"upload_rate_limit": 256_000})]
    assert parse_peers("one peer limited to 2 MB/s") == [("seeder", {"upload_rate_limit": 2_000_000})]
    assert parse_peers("an honest peer limited to 2 MB/s and a peer that tampers with every other piece")[1] == (
        "liar", {"tamper_every": 2})
    with pytest.raises(UnknownPeerPhrase):
        parse_peers("a friendly peer")


def test_a_variant_has_the_same_pieces_under_another_hash_and_name(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "clip.mp4").write_bytes(os.urandom(600_000))
    original = torrents.make_torrent(media / "clip.mp4", tmp_path / "torrents", "k")
    one = torrents.variant_file(original.path, "one", tmp_path / "variants")
    again = torrents.variant_file(original.path, "one", tmp_path / "variants")
    two = torrents.variant_file(original.path, "two", tmp_path / "variants")
    assert len({original.info_hash, one.info_hash, two.info_hash}) == 3 and one.info_hash == again.info_hash
    assert one.name == "clip.one.mp4" and one.size == original.size
    import libtorrent as lt
    assert lt.torrent_info(str(one.path)).hash_for_piece(1) == lt.torrent_info(str(original.path)).hash_for_piece(1)


def test_a_variant_of_a_folder_renames_the_folder():
    assert torrents.variant_name("test-multi-file", "t1", single_file=False) == "test-multi-file.t1"
    assert torrents.variant_name("a.b.mp4", "t1", single_file=True) == "a.b.t1.mp4"


def test_subnets_avoid_what_the_host_has():
    taken = [ipaddress.ip_network("10.200.0.0/14")]
    subnet = netns.pick_subnet(taken, "run")
    assert subnet.prefixlen == 24 and subnet.subnet_of(netns.POOL) and not subnet.overlaps(taken[0])


# -- what the viewer can tell -------------------------------------------------------------------

def _exchange(body: bytes, error: str | None) -> Exchange:
    return Exchange("GET", "http://127.0.0.1/x", {}, status=200, body=body, error=error)


def test_a_short_body_passes_only_when_the_viewer_can_tell_it_was_cut():
    whole = b"abcdefgh"
    assert whole_or_visibly_cut(whole, "x").matches(_exchange(whole, None))
    assert whole_or_visibly_cut(whole, "x").matches(_exchange(b"abc", "IncompleteRead"))
    assert not whole_or_visibly_cut(whole, "x").matches(_exchange(b"abc", None))     # silent truncation
    assert not whole_or_visibly_cut(whole, "x").matches(_exchange(b"abX", "IncompleteRead"))


# -- nothing left behind (root) -------------------------------------------------------------------

needs_netns = pytest.mark.skipif(netns.why_unavailable() is not None, reason=f"{netns.why_unavailable()}")


def leftovers(run_id: str) -> list[str]:
    """Everything of run `run_id` still on the machine: processes, interfaces (veth pairs
    and, with them, their qdiscs), named namespaces."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if run_id in cmdline:
                found.append(f"process {proc.name}: {cmdline[:120]}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=10).stdout
    found += [f"interface {line.split(':')[1].strip()}" for line in links.splitlines() if f"sw{run_id}" in line]
    named = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    found += [f"named namespace {line}" for line in named.splitlines() if run_id in line]
    return found


UP_WITH_PEERS = """
import sys
from pathlib import Path
from infra.config import Settings
from infra.ecosystem.conditions import NetworkConditions
from infra.ecosystem.local import LocalProvider
from infra.ecosystem.peers import PeerSpec
from infra.swarm import torrents
provider = LocalProvider(Settings(run_dir=Path(sys.argv[1]) / "run", reports_dir=Path(sys.argv[1]) / "reports"),
                         progress=False)
provider.up()
entry = provider.layout.prepared.catalog.get("test-small-720p")
variant = torrents.variant_file(Path(provider.layout.prepared.torrent_dir) / entry.torrent_file, "leftovers",
                           provider.layout.run_state_dir / "variants")
provider.admit([variant.info_hash])
for name, holds in (("even", "even"), ("odd", "odd")):
    peer = provider.start_peer(PeerSpec(name, variant.path, content_name=entry.content_path, holds=holds))
    peer.condition(NetworkConditions(latency_ms=30, loss_pct=1, rate_bytes=2_000_000))
print(provider.run_id, variant.info_hash, provider.endpoints.backend, flush=True)
if sys.argv[2] == "down":
    provider.down()
    print("down", flush=True)
else:
    sys.stdin.read()     # until killed
"""


def _run_up(tmp: Path, mode: str) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen([sys.executable, "-c", UP_WITH_PEERS, str(tmp), mode], cwd=ROOT, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline().split()
    if len(line) != 3:
        process.kill()
        raise AssertionError(f"the provider did not come up: {process.stderr.read()[-3000:]}")
    return process, line


@needs_netns
@pytest.mark.integration
@pytest.mark.parametrize("ending", ["down", "SIGKILL"])
def test_a_run_with_conditioned_peers_leaves_nothing_behind(ending):
    tmp = Path(tempfile.mkdtemp(prefix="swarmspec-leftovers-"))
    tmp.chmod(0o755)
    process, (run_id, _, _) = _run_up(tmp, "down" if ending == "down" else "wait")
    try:
        assert any(item.startswith("interface") for item in leftovers(run_id)), "the run made no namespaces"
        if ending == "down":
            assert process.stdout.readline().strip() == "down"
            process.wait(timeout=30)
        else:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

        def clean() -> None:
            left = leftovers(run_id)
            if left:
                raise NotReady("; ".join(left))

        # after SIGKILL every child gets SIGTERM (PDEATHSIG) and stops; the kernel then tears
        # the namespaces down, which takes seconds on a busy machine
        Wait(service="local provider", what=f"nothing of run {run_id} left after {ending}", probe=clean,
             timeout=30, interval=0.2).run()
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(tmp, ignore_errors=True)
