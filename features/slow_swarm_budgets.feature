@allure.label.epic:Performance @performance @informational @needs.performance
Feature: What a viewer feels on a slow swarm, within the transfer time of what it needs
  The same figures as viewer_budgets.feature with the seeder's upload limited: each
  budget is the transfer time of the bytes the viewer needs at that rate, plus a margin
  the scenario states. Within it the scenario is graded informational, over it failed.

  The seeder uploads at most 2 MB/s (1 MB = 1,000,000 bytes). What a viewer needs is
  counted in whole pieces: the index and the first key frame for the first picture,
  the key frame before a seek point up to the frame at it; for a freeze, 8 pieces (2 MiB,
  what a player buffers ahead, and what a backend may fetch side by side so that they
  finish together). The margins allow for the metadata exchange and for requests
  already queued at the seeder.

  A fresh torrent is a copy the swarm seeds for the scenario: the same bytes under a new
  info hash, which the backend has never seen.

  Background:
    Given the swarm is seeding the test videos

  @browser @needs.fresh-torrents @needs.control
  Scenario: The first frame of a fresh torrent shows within the transfer time of what it needs plus 3 seconds
    Given the swarm uploads at most 2 MB/s
    And the swarm seeds a fresh copy of the large video that the backend has never seen
    When a browser plays the fresh copy through the stream
    Then the first frame showed within the transfer time of what it needs at that rate plus 3 seconds

  @browser @needs.fresh-torrents @needs.control @needs.seeking
  Scenario: A seek into bytes not yet downloaded shows the picture within their transfer time plus 3 seconds
    Given the swarm uploads at most 2 MB/s
    And the swarm seeds a fresh copy of the large video that the backend has never seen
    And a browser is playing the fresh copy through the stream
    When the viewer seeks to 75 % in the browser
    Then the frame at the seek point showed within the transfer time of what it needs at that rate plus 3 seconds

  @needs.fresh-torrents @needs.control
  Scenario: A fresh torrent plays through within its transfer time plus 5 seconds, never freezing longer than 8 pieces take plus 1 second
    Given the swarm uploads at most 2 MB/s
    And the swarm seeds a fresh copy of the large video that the backend has never seen
    When the viewer plays the fresh copy from the start
    Then the body is exactly the large video
    And the longest pause between two chunks of the body was under the transfer time of 8 pieces at that rate plus 1 second
    And the whole video arrived within its transfer time at that rate plus 5 seconds
