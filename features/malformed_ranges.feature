@allure.label.epic:HTTP-contract @needs.ranges
Feature: Malformed and unsatisfiable ranges
  RFC 9110 lets a server ignore a Range header it cannot use and send the whole
  video (200). swarmspec's contract is stricter: a Range header that cannot be
  parsed is refused with 416, so a broken client notices, and a range that starts
  at or past the end is 416 with "Content-Range: bytes */size". A range unit the
  server does not know must be ignored (the whole video, 200).
  Whatever a client sends, the server keeps serving normally.

  Background:
    Given the swarm is seeding the test videos

  @rfc9110.14.2 @contract
  Scenario Outline: A malformed Range header "<header>" is refused
    When the viewer sends "Range: <header>" for the small video
    Then the range is refused with 416, or ignored by sending all of the small video as RFC 9110 allows
    And swarmspec's contract wants it refused with 416
    And the server still serves the small video normally

    Examples:
      | header              |
      | bytes=invalid-range |
      | bytes=              |
      | bytes=5-1           |
      | bytes=abc-def       |
      | bytes=--1           |
      | bytes=1-2-3         |
      | bytes=-             |
      | bytes=0x10-0x20     |
      | bytes=1.5-2         |
      | bytes=-1-5          |

  @rfc9110.14.2 @rfc9110.15.5.17 @contract
  Scenario Outline: An unsatisfiable range "<header>" gets 416 with the size
    When the viewer sends "Range: <header>" for the small video
    Then the range is refused with 416, or ignored by sending all of the small video as RFC 9110 allows
    And a refusal names the size in "Content-Range: bytes */{size}"
    And swarmspec's contract wants it refused with 416
    And the server still serves the small video normally

    Examples:
      | header                        |
      | bytes={size}-                 |
      | bytes={size}-{size+10}        |
      | bytes={size+1000}-            |
      | bytes=-0                      |

  @rfc9110.14.2
  Scenario: An unknown range unit is ignored
    When the viewer sends "Range: items=0-10" for the small video
    Then the response status is 200
    And the body is exactly the small video
