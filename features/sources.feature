@allure.label.epic:Catalogue @needs.sources
Feature: Sources
  A curator registers a torrent (a magnet link) as a source; viewers then stream it
  by the source's id.

  Background:
    Given the swarm is seeding the test videos

  @critical
  Scenario: A source created from a magnet can be streamed by its id
    When the curator adds the small video as a source
    Then the response status is 201
    And the new source has an id
    And the viewer can play the new source from the start

  Scenario Outline: An invalid magnet "<magnet>" is refused with a message
    When the curator adds a source with the magnet "<magnet>"
    Then the response status is 400
    And the error message mentions "magnet"

    Examples:
      | magnet                                       |
      | not-a-magnet                                 |
      | magnet:?xt=urn:btih:XYZ                      |
      | magnet:?dn=no-hash-at-all                    |
      | http://localhost/some.torrent                |

  @needs.control
  Scenario: A source survives a restart of the backend
    Given the curator has added the large video as a source
    When the backend restarts
    Then the source is still known with the same magnet
    And the viewer can seek to the middle of the source
