@allure.label.epic:Browsers @browser @needs.playback
Feature: Playing in a browser
  Chromium's own <video> element, on a page of another origin, plays each test video
  through the target's stream URL (with a stream token in the URL where the target
  needs credentials: an element sends no headers). The Range headers the browser sent,
  the player's events and a screenshot are attached to each scenario.

  Background:
    Given the swarm is seeding the test videos

  @critical
  Scenario Outline: <video> plays in a browser
    When a browser plays <video> through the stream
    Then the player is ready to play it (canplay) and shows its first frame
    And the picture moves on by at least 1 second

    Examples:
      | video            |
      | the small video  |
      | the medium video |
      | the large video  |

  Scenario: The video whose index sits at the end plays once the browser has read the index
    Given the medium video keeps its index at the end of the file
    When a browser plays the medium video through the stream
    Then the player is ready to play it (canplay) and shows its first frame
    And the browser read the tail of the file where the index is
