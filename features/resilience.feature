@allure.label.epic:Resilience @fault @needs.control @needs.lifecycle @needs.torrents
Feature: Resilience to faults in the swarm
  The suite can freeze a service, cut it off the network or restart it, as far as
  the provider declares those faults (Docker containers: all; local processes:
  kill and restart). While the seeder cannot be reached, what the backend
  already holds is still served and a fresh stream fails fast instead of hanging;
  once the fault heals, fresh streams start again and deliver the exact bytes.

  Background:
    Given the swarm is seeding the test videos

  @needs.fault.pause
  Scenario: While the seeder is frozen, what the backend already holds is still served
    Given the viewer has watched the first MiB of the large video
    And the seeder has frozen
    When the viewer watches the first MiB of the large video again
    Then the response status is 206
    And the body is exactly those bytes of the large video

  @needs.fault.pause
  Scenario: A viewer who starts watching after the seeder thawed gets the exact bytes
    Given the seeder has frozen
    And the backend does not hold the small video
    When the seeder thaws
    Then the viewer can play the small video from the start

  @needs.fault.restart
  Scenario: A new stream works after the seeder's container restarted
    Given the backend does not hold the medium video
    When the seeder's container restarts
    Then the viewer can play the medium video from the start

  @needs.fault.disconnect
  Scenario: A fresh stream starts after the tracker was cut off the network and came back
    Given the tracker has been cut off the network
    And the backend does not hold the medium video
    When the tracker is back on the network
    And the tracker lists the seeder's current address for every test video
    Then the viewer can play the medium video from the start

  @needs.fault.disconnect
  Scenario: While the seeder is cut off a fresh stream times out, and once it is back the video streams
    Given the backend does not hold the large video
    And the seeder has been cut off the network
    When the viewer plays the large video from the start
    Then the response status is one of 504, 408
    And the answer came within the backend's stream timeout
    When the seeder is back on the network
    And the tracker lists the seeder's current address for the large video
    Then the viewer can play the large video from the start
