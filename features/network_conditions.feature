@allure.label.epic:Hostile-swarm @needs.netem @needs.peers @needs.fresh-torrents @needs.playback @needs.seeking @performance
Feature: Streaming from a seeder far away, on a lossy or narrow link
  The seeder of a fresh torrent sits behind an interface of its own with added round-trip
  time, loss and a bandwidth cap (netem, or where the kernel lacks it the same conditions
  from tbf, iptables and a delay line). Budgets are stated factors of physics: the round
  trips the protocols need times the added latency, plus the bytes needed at the link's
  rate (a piece is 256 KiB). A fresh torrent's first byte needs about 10 round trips
  (TCP, the BitTorrent and extension handshakes, the metadata, unchoke, the request, and
  TCP's slow start up to one piece); a seek on a warm connection about 5 (the request and
  slow start after idle). Budgets are 3 times that plus 0.3 s for the backend's own ticks
  (0.1 s in libtorrent): measured medians of the reference backend are within 1.5 times,
  and the rest is the noise of a shared 2-core machine.

  Background:
    Given the swarm is seeding the test videos

  Scenario Outline: First byte, seek and throughput when the seeder is <conditions>
    Given the large video is seeded only by one peer
    And the seeder is <conditions>
    When the viewer starts watching it
    Then the first byte came within <factor> × (10 round trips + 1 piece at the link's rate) + 0.3 s
    And the viewer gets exactly the bytes asked for
    When the viewer seeks to 90 % of it
    Then the seek came within <factor> × (5 round trips + 1 piece at the link's rate) + 0.3 s
    And the viewer gets exactly the bytes asked for
    When the viewer watches 2 MiB from the middle of it
    Then the viewer gets exactly the bytes asked for

    Examples:
      | conditions                                | factor |
      | 100 ms away                               | 3      |
      | 200 ms away with 2 % packet loss          | 3      |
      | 20 ms away at 2 MB/s                      | 3      |
      | 50 ms away (+-10 ms) at 1 MB/s            | 3      |
