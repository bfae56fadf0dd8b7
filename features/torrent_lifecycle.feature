@allure.label.epic:Lifecycle @needs.metadata
Feature: Torrent lifecycle
  The backend fetches metadata on demand, forgets torrents nobody watches, and
  keeps starting new streams when the tracker restarts.

  Background:
    Given the swarm is seeding the test videos

  Scenario: The metadata of a magnet lists its info hash and files
    When the curator asks for the metadata of the multi-file torrent
    Then the response status is 200
    And the metadata names the info hash of the multi-file torrent
    And the metadata lists every file of the multi-file torrent with its size
    And the metadata names the torrent, its main video and its piece length

  Scenario: Metadata nobody can deliver times out
    When the curator asks for the metadata of the unseeded torrent
    Then the response status is one of 504, 408
    And the answer came within the backend's stream timeout

  @needs.lifecycle
  Scenario: A torrent nobody watches is cleaned up after the idle time
    Given the viewer has watched the first MiB of the small video
    When nobody watches the small video for longer than the idle time
    Then the backend no longer holds the small video

  @needs.lifecycle @needs.control @fault
  Scenario: New streams start after the tracker went away and came back
    Given the tracker has gone away
    When the tracker comes back
    And the backend has forgotten the medium video
    Then the viewer can play the medium video from the start
