@allure.label.epic:Playback @needs.seeking
Feature: Seeking inside a video
  A player seeks by asking for byte ranges. Every answer is 206 with the exact
  Content-Range, a Content-Length equal to the body, and the file's own bytes.
  That is stricter than RFC 9110, which lets a server ignore a range and send the
  whole video (200): such an answer is graded non-strict, and unimplemented on a
  target that serves no range at all; wrong bytes or a wrong Content-Range fail.
  In the tables, "size" is the file size, "last" the last byte and "piece" the
  torrent's piece length.

  Background:
    Given the swarm is seeding the test videos

  @critical @allure.label.story:Byte-ranges
  Scenario Outline: The viewer asks for <what> of the large video
    When the viewer sends "Range: <range>" for the large video
    Then the response status is 206
    And the Content-Range is "<content range>"
    And the body is exactly those bytes of the large video

    Examples: The design's ranges
      | what               | range                 | content range                      |
      | the first KiB      | bytes=0-1023          | bytes 0-1023/{size}                |
      | 8 KiB at 1 MiB     | bytes=1048576-1056767 | bytes 1048576-1056767/{size}       |
      | the last 8 KiB     | bytes=-8192           | bytes {size-8192}-{last}/{size}    |

    Examples: Edges
      | what                       | range                         | content range                        |
      | everything from 15 MB on   | bytes=15000000-               | bytes 15000000-{last}/{size}         |
      | the last byte              | bytes={last}-{last}           | bytes {last}-{last}/{size}           |
      | the last byte, open-ended  | bytes={last}-                 | bytes {last}-{last}/{size}           |
      | a single byte              | bytes=0-0                     | bytes 0-0/{size}                     |
      | an end past the file       | bytes={size-100}-{size+99999} | bytes {size-100}-{last}/{size}       |

    Examples: Piece boundaries
      | what                        | range                         | content range                          |
      | the bytes around a boundary | bytes={piece-10}-{piece+9}    | bytes {piece-10}-{piece+9}/{size}      |
      | exactly one piece           | bytes={piece}-{2*piece-1}     | bytes {piece}-{2*piece-1}/{size}       |
      | three pieces, misaligned    | bytes={5*piece-1}-{8*piece}   | bytes {5*piece-1}-{8*piece}/{size}     |

  @allure.label.story:Byte-ranges @rfc9110.14.1.2 @contract
  Scenario: A suffix longer than the large video selects all of it
    When the viewer sends "Range: bytes=-{size+1}" for the large video
    Then the answer is one RFC 9110 allows, and every byte in it is the large video's own
    And the answer is never a refusal while one of the ranges can be served
    And swarmspec's contract wants exactly the ranges "0-{last}"

  @allure.label.story:Player-behaviour
  Scenario: A viewer seeks forward and back through the large video, as a player does
    When the viewer watches the large video, seeking to 10%, 75%, 30%, 95% and back to 0%
    Then every answer is 206 with the exact bytes of the large video

  @allure.label.story:Player-behaviour
  Scenario: A player reads the index at the end of the medium video before playing
    Given the medium video keeps its index at the end of the file
    When the viewer's player reads the head, then the index at the end, then plays from the start
    Then the player found the index at the end
    And every answer is 206 with the exact bytes of the medium video
