@allure.label.epic:Playback @needs.playback
Feature: Playing a video from the start
  A viewer who presses play receives the whole video, byte for byte,
  with the headers a browser player needs to play and seek.

  Background:
    Given the swarm is seeding the test videos

  @critical
  Scenario Outline: A viewer plays <video> from the start
    When the viewer plays <video> from the start
    Then the response status is 200
    And the video is served as "video/mp4"
    And the response advertises byte ranges
    And the Content-Length is the size of <video>
    And the body is exactly <video>

    Examples:
      | video            |
      | the small video  |
      | the medium video |
      | the large video  |

  Scenario: Asking only for the headers gives the same headers and no body
    When the viewer asks for the headers of the medium video
    Then the response status is 200
    And the video is served as "video/mp4"
    And the response advertises byte ranges
    And the Content-Length is the size of the medium video
    And the response has no body

  Scenario: The multi-file torrent streams its video, not the subtitle or the nfo
    When the viewer plays the multi-file torrent from the start
    Then the response status is 200
    And the video is served as "video/mp4"
    And the body is exactly the multi-file torrent's video

  @rfc9110.9.3.2
  Scenario Outline: Asking for the headers of <what> gives what playing it would
    A HEAD with a Range is another matter (RFC 9110 §14.2: Range is ignored on HEAD),
    judged in head_with_range.feature.
    When the viewer asks for the headers of <what> of the small video, then plays it
    Then both answers carry the same status, Content-Type, Accept-Ranges and Content-Range
    And swarmspec's contract wants the same Content-Length, ETag and Last-Modified too

    Examples:
      | what              |
      | the whole video   |
