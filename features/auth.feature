@allure.label.epic:Security @needs.auth
Feature: Access control
  Only authenticated viewers can stream. A <video> element cannot send headers, so
  a short-lived stream token in the URL opens exactly one source.

  Background:
    Given the swarm is seeding the test videos

  @critical @allure.label.story:API-tokens
  Scenario: A viewer without credentials is refused
    When an anonymous viewer plays the small video
    Then the response status is 401

  @allure.label.story:API-tokens
  Scenario Outline: A viewer with <a bad token> is refused
    When a viewer with <a bad token> plays the small video
    Then the response status is 401

    Examples:
      | a bad token                      |
      | a tampered token                 |
      | an unsigned "alg: none" token    |
      | a token signed with another key  |
      | a garbage token                  |
      | an expired stream token          |

  @allure.label.story:API-tokens
  Scenario: A wrong password gets no token
    When someone logs in with a wrong password
    Then the response status is 401
    And the answer holds no token

  @allure.label.story:Stream-tokens
  Scenario: A stream token in the URL plays the video, as a <video> element needs
    Given the viewer holds a stream token for the small video
    When the viewer's video element plays the small video with that token
    Then the response status is 200
    And the body is exactly the small video

  @allure.label.story:Stream-tokens
  Scenario: A stream token for one source does not open another
    Given the viewer holds a stream token for the small video
    When the viewer uses that token to play the large video
    Then the response status is one of 401, 403
