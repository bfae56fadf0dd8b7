@allure.label.epic:Availability @needs.torrents
Feature: Torrents that are missing, unknown or not seeded
  A viewer asking for something the backend cannot serve gets a clear answer fast,
  never a server error and never a request that hangs.

  Background:
    Given the swarm is seeding the test videos

  @allure.label.story:Unknown-ids
  Scenario: An unknown info hash is answered 404 within a second
    When the viewer asks for a torrent nobody has heard of
    Then the response status is 404
    And the answer came within 1 second

  @allure.label.story:Unknown-ids
  Scenario: An unknown source is answered 404
    When the viewer asks for a source that does not exist
    Then the response status is 404

  @allure.label.story:Unknown-ids
  Scenario Outline: A malformed id "<id>" is refused without a server error
    When the viewer asks for the stream "<id>"
    Then the response status is one of 400, 404
    And the answer came within 1 second

    Examples:
      | id                                          |
      | not-a-hash                                  |
      | 12345                                       |
      | zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz    |
      | %00%ff                                      |
      | ..%2F..%2Fetc%2Fpasswd                      |
      | {"$gt":""}                                  |

  @allure.label.story:Unavailable-swarm
  Scenario: A torrent nobody seeds times out instead of hanging
    When the viewer plays the unseeded torrent
    Then the response status is one of 504, 408
    And the answer came within the backend's stream timeout

  @allure.label.story:Unavailable-swarm
  Scenario: A torrent whose seeding stopped streams again once seeding resumes
    Given the seeder has stopped seeding the medium video
    When the seeder seeds the medium video again
    Then the viewer can play the medium video from the start
