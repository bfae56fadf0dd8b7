@allure.label.epic:HTTP-contract @needs.ranges
Feature: The corners of the range syntax
  RFC 9110 §14.1: a range unit is case-insensitive ("BYTES" is "bytes"); a range set is
  a list, so optional whitespace around its commas is allowed (§5.6.1); positions are
  1*DIGIT, so leading zeros are allowed and a position may exceed 64 bits, which a
  recipient must anticipate without overflowing (§14.1.1): an end past the video is
  clamped to its last byte, a suffix longer than the video selects all of it (§14.1.2);
  only a start past the end is unsatisfiable.
  A server MAY ignore any Range (§14.2), so the whole video with 200 is allowed
  everywhere; a 416 for a satisfiable range (§15.5.17), an error or a wrong byte is
  a failure. swarmspec's contract wants the range served, exactly.

  Background:
    Given the swarm is seeding the test videos

  @rfc9110.14.1 @rfc9110.14.1.1 @rfc9110.14.1.2 @rfc9110.5.6.1 @rfc9110.15.5.17
  Scenario Outline: A range written <how> is served like any other
    A valid range set: a server MAY ignore it (200), MUST NOT refuse it (416 is only for
    a set none of whose ranges is satisfiable, §15.5.17); the contract wants exactly it.
    When the viewer sends "Range: <header>" for the small video
    Then the answer is one RFC 9110 allows, and every byte in it is the small video's own
    And the answer is never a refusal while one of the ranges can be served
    And swarmspec's contract wants exactly the ranges "<served>"

    Examples:
      | how                               | header                             | served            |
      | with the unit in capitals         | BYTES=100-199                      | 100-199           |
      | with the unit in mixed case       | Bytes=100-199                      | 100-199           |
      | with a space after the comma      | bytes=100-199, 300-399             | 100-199,300-399   |
      | with spaces around the comma      | bytes=100-199 , 300-399            | 100-199,300-399   |
      | with leading zeros                | bytes=000100-000199                | 100-199           |
      | with a suffix with leading zeros  | bytes=-0000100                     | {size-100}-{last} |
      | ending at 2^31                    | bytes=100-2147483648               | 100-{last}        |
      | ending at 2^32                    | bytes=100-4294967296               | 100-{last}        |
      | ending at 2^63                    | bytes=100-9223372036854775808      | 100-{last}        |
      | ending at 2^64                    | bytes=100-18446744073709551616     | 100-{last}        |
      | ending beyond 2^64                | bytes=100-999999999999999999999999 | 100-{last}        |
      | of a suffix beyond 2^64           | bytes=-999999999999999999999999    | 0-{last}          |

  @rfc9110.14.1.2 @rfc9110.15.5.17 @contract
  Scenario Outline: A range starting <where> is unsatisfiable, not an error
    Past the end whatever its size: 416 with "bytes */N" (SHOULD send it, §15.5.17) or
    ignored (MAY, §14.2), never a 5xx; the contract wants 416.
    When the viewer sends "Range: <header>" for the small video
    Then the range is refused with 416, or ignored by sending all of the small video as RFC 9110 allows
    And a refusal names the size in "Content-Range: bytes */{size}"
    And swarmspec's contract wants it refused with 416
    And the server still serves the small video normally

    Examples:
      | where          | header                            |
      | at 2^32        | bytes=4294967296-                 |
      | at 2^64        | bytes=18446744073709551616-       |
      | beyond 2^64    | bytes=999999999999999999999999-   |
