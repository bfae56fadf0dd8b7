@allure.label.epic:Scale @needs.concurrency
Feature: Concurrent viewers
  Many viewers watch at the same time, on the same or different parts of a video,
  and each one gets exactly their bytes.

  Background:
    Given the swarm is seeding the test videos

  Scenario Outline: <viewers> viewers watch different parts of the large video at once
    When <viewers> viewers each ask for a different part of the large video at the same time
    Then every viewer gets 206 with the exact bytes of their part

    Examples:
      | viewers |
      | 5       |
      | 10      |
      | 25      |

  Scenario: Ten viewers on the same range all get the same exact bytes
    When 10 viewers ask for the first MiB of the large video at the same time
    Then every viewer gets 206 with the exact bytes of their part

  Scenario: Viewers who give up mid-video do not disturb the others
    When 10 viewers start the large video at once and 5 of them leave after 64 KiB
    Then every viewer who stayed got the whole large video, byte for byte
    And the server still serves the large video normally
