@allure.label.epic:HTTP-contract @needs.ranges
Feature: Malformed and unsatisfiable ranges
  The contract: a Range header that cannot be parsed is refused with 416, a range
  that starts at or past the end is 416 with "Content-Range: bytes */size", and a
  range unit the server does not know is ignored (the whole video, 200).
  Whatever a client sends, the server keeps serving normally.

  Background:
    Given the swarm is seeding the test videos

  Scenario Outline: A malformed Range header "<header>" is refused
    When the viewer sends "Range: <header>" for the small video
    Then the response status is 416
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

  Scenario Outline: An unsatisfiable range "<header>" gets 416 with the size
    When the viewer sends "Range: <header>" for the small video
    Then the response status is 416
    And the Content-Range is "bytes */{size}"
    And the server still serves the small video normally

    Examples:
      | header                        |
      | bytes={size}-                 |
      | bytes={size}-{size+10}        |
      | bytes={size+1000}-            |
      | bytes=-0                      |

  Scenario: An unknown range unit is ignored
    When the viewer sends "Range: items=0-10" for the small video
    Then the response status is 200
    And the body is exactly the small video
