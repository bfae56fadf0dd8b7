@allure.label.epic:Hostile-swarm @fault @needs.control @needs.peers @needs.fresh-torrents @needs.playback
Feature: Faults in the middle of a stream
  A viewer in the middle of a body when the swarm breaks sees a bounded failure (the
  body ends short, or the connection closes) within the backend's stream timeout, never
  a hang; once the fault heals, a new request streams exact bytes. Each scenario seeds
  a fresh torrent with peers of its own; faults are those the provider declares.

  Background:
    Given the swarm is seeding the test videos

  @needs.fault.kill
  Scenario: The only seeder dies while the viewer is in the middle of the body
    Given the large video is seeded only by one peer limited to 2 MB/s
    When the viewer plays it from the start and the seeder is killed after 4 MiB
    Then every viewer's answer ended within 5 seconds of it, short or whole, never hung
    When the seeder is back
    And the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for

  @needs.fault.restart
  Scenario: The backend restarts while viewers stream; the next request streams exact bytes
    Given the large video is seeded only by one peer limited to 4 MB/s
    When 3 viewers play it from the start and the backend restarts after 4 MiB
    Then every viewer's answer ended within 10 seconds of it, short or whole, never hung
    When the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for

  @needs.fault.restart @needs.sources
  Scenario: Sources survive a backend restart in the middle of streams
    Given the medium video is seeded only by one peer limited to 2 MB/s
    When 2 viewers play it from the start and the backend restarts after 1 MiB
    Then every viewer's answer ended within 10 seconds of it, short or whole, never hung
    And the source the viewer created is still there
    And streaming that source again gives exactly the video

  @needs.fault.kill
  Scenario: While the tracker is gone, connected peers keep streaming; a fresh torrent starts once it is back
    Given the medium video is seeded only by a fast peer
    And the large video is seeded only by one peer limited to 4 MB/s
    And the viewer has watched the first MiB of it
    When the tracker dies
    And the viewer watches 2 MiB from the middle of it
    Then the viewer gets exactly the bytes asked for
    When the tracker is back
    And the viewer turns to the medium video
    And the viewer plays it from the start
    Then the viewer gets exactly the bytes asked for
