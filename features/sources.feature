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

  Scenario: A source described in the design's own shapes is answered in them
    The design (Miauflix's MovieSource) has quality and videoCodec as strings
    ("FHD", "X264"), resolution as the vertical resolution in pixels and size in
    bytes, both numbers. The backend takes them and answers them as they were sent.
    When the curator adds the medium video as a source
    Then the response status is 201
    And the new source describes the video as it was sent, numbers as numbers

  Scenario Outline: A source whose <name> is <value> is refused naming the field
    Input hardening refuses what no client of the design can mean.
    When the curator adds the small video as a source with <name> set to <value>
    Then the response status is 400
    And the refusal names the field "<name>"

    Examples:
      | name       | value        |
      | resolution | -1080        |
      | resolution | 1080.5       |
      | resolution | NaN          |
      | resolution | true         |
      | resolution | [1080]       |
      | resolution | {"px": 1080} |
      | size       | -1           |
      | size       | "5 MB"       |
      | size       | 1e300        |
      | quality    | 1080         |
      | videoCodec | ["X264"]     |

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
