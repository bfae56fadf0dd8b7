@allure.label.epic:Browsers @needs.playback
Feature: Players on another origin
  The player usually lives on another origin than the streaming server: a
  <video crossorigin> element, or a Media Source Extensions player that reads ranges
  with fetch. The browser lets it read the answer only if the server says so (CORS,
  the Fetch standard), and a player that reads ranges needs Content-Range and
  Accept-Ranges exposed to it.

  Background:
    Given the swarm is seeding the test videos

  @fetch.cors
  Scenario: A range read from another origin may be read by the player
    When a player on "http://player.example" reads "bytes=0-1023" of the small video
    Then the answer lets "http://player.example" read it
    And the answer exposes Content-Range and Accept-Ranges to the player
    And swarmspec's contract wants Content-Length exposed too

  @fetch.cors
  Scenario: The browser may send Range and Authorization from another origin
    When a player on "http://player.example" asks to send Range and Authorization with a GET of the small video
    Then the preflight allows a GET from "http://player.example" with the headers Range and Authorization
