@allure.label.epic:Browsers @browser @needs.seeking
Feature: Seeking in a browser
  A viewer drags the playhead: the <video> element asks the target for the range at the
  new place and must show the picture from there.

  Background:
    Given the swarm is seeding the test videos

  Scenario Outline: A seek to 75 % of <video> shows the picture there
    Given a browser is playing <video> through the stream
    When the viewer seeks to 75 % in the browser
    Then the player reports the seek done and shows a frame from 75 % of <video>

    Examples:
      | video            |
      | the small video  |
      | the medium video |
      | the large video  |
