@allure.label.epic:Hostile-swarm @needs.peers @needs.fresh-torrents @needs.playback @needs.seeking
Feature: A swarm of unequal and unreliable peers
  Real swarms are not one well-behaved seeder. Each scenario seeds a fresh torrent of a
  test video (the same bytes under another info hash, so no backend has seen it) with
  only the peers it names, and checks what the viewer gets byte for byte.

  Background:
    Given the swarm is seeding the test videos

  Scenario: Two peers that each hold half of the pieces make one whole video
    Given the medium video is seeded only by a peer that holds its even pieces and a peer that holds its odd pieces
    When the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for

  Scenario: A seek does not wait for the slow peer
    # one piece (256 KiB) from the slow peer takes 1 s; from the fast one, milliseconds
    Given the large video is seeded only by a fast peer and a slow peer limited to 256 KB/s
    And the viewer has watched the first MiB of it
    When the viewer seeks to 90 % of it
    Then the seek came within 0.5 seconds
    And the viewer gets exactly the bytes asked for

  @contract
  Scenario: Pieces from a peer that tampers with them are rejected, and the peer is dropped
    # the honest peer alone needs 5 s for the medium video; the peer that tampers is fast
    Given the medium video is seeded only by an honest peer limited to 1 MB/s and a peer that tampers with every other piece
    When the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for
    And the peer that tampers sent at least one tampered piece
    And the backend took nothing from the peer that tampers in the last 2 seconds of the stream

  Scenario: A peer that hangs up in the middle of a piece costs the viewer no byte
    # the steady peer alone needs 5 s for the medium video; the other one serves no metadata,
    # so a backend that connects before it has the metadata meets it again a second later
    Given the medium video is seeded only by a steady peer limited to 1 MB/s and a peer that hangs up in the middle of every piece
    When the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for
    And the answer came within 10 seconds
    And the peer that hangs up cut a piece off at least once
