@allure.label.epic:Containers @needs.playback
Feature: Matroska and WebM videos
  Torrents carry Matroska and WebM as often as MP4. A stream says what it carries: a
  Content-Type hard-coded to video/mp4 on a Matroska file is a false statement about
  the representation (RFC 9110 §8.3), and players that trust it fail. The Matroska video
  is H.264 + AAC, the WebM video VP9 + Opus (what Chromium plays); each muxer writes its
  index (the Cues) after the clusters, so a player reads the tail before it can seek.
  Matroska's registered type is video/matroska (RFC 9559, 2024); video/x-matroska is the
  name every server and the mime databases used before, and what swarmspec's contract
  wants, like the reference backend and the range server.

  Background:
    Given the swarm is seeding the test videos

  @critical @rfc9110.8.3
  Scenario Outline: <video> plays from the start with its container's type
    When the viewer plays <video> from the start
    Then the response status is 200
    And the video is served as one of "<types>", or as a type the server does not know
    And swarmspec's contract wants it served as "<wanted>"
    And the response advertises byte ranges
    And the Content-Length is the size of <video>
    And the body is exactly <video>

    Examples:
      | video              | types                            | wanted           |
      | the Matroska video | video/x-matroska, video/matroska | video/x-matroska |
      | the WebM video     | video/webm                       | video/webm       |

  @rfc9110.9.3.2
  Scenario Outline: Asking for the headers of <video> names its container's type
    When the viewer asks for the headers of <video>
    Then the response status is 200
    And the video is served as one of "<types>", or as a type the server does not know
    And the Content-Length is the size of <video>
    And the response has no body

    Examples:
      | video              | types                            |
      | the Matroska video | video/x-matroska, video/matroska |
      | the WebM video     | video/webm                       |

  @needs.seeking @rfc9110.14.4
  Scenario Outline: A range of <video> carries its type and the exact bytes
    When the viewer sends "Range: bytes={middle}-{middle+65535}" for <video>
    Then the response status is 206
    And the video is served as one of "<types>", or as a type the server does not know
    And the Content-Range is "bytes {middle}-{middle+65535}/{size}"
    And the body is exactly those bytes of <video>

    Examples:
      | video              | types                            |
      | the Matroska video | video/x-matroska, video/matroska |
      | the WebM video     | video/webm                       |

  @needs.seeking
  Scenario Outline: A player of <video> reads the head, then the index where the head says it is
    When the viewer opens <video> like a player and reads its index at the place its head names
    Then every answer is 206 with the exact bytes of <video>
    And the index the player read is the one in the file

    Examples:
      | video              |
      | the Matroska video |
      | the WebM video     |

  Scenario Outline: ffprobe reads <video> through the stream as the manifest describes it
    When ffprobe reads <video> through the stream
    Then it reports the manifest's duration of <video> to within 0.1 seconds
    And it reports the manifest's video and audio codecs of <video>

    Examples:
      | video              |
      | the Matroska video |
      | the WebM video     |

  @needs.seeking
  Scenario Outline: A frame decoded at 75 % of <video> through the stream is the local file's frame
    When ffmpeg decodes the frame at 75 % of <video> through the stream and from the local file
    Then both decoded frames are the same picture

    Examples:
      | video              |
      | the Matroska video |
      | the WebM video     |

  @browser
  Scenario: The WebM video plays in a browser
    When a browser plays the WebM video through the stream
    Then the player is ready to play it (canplay) and shows its first frame
    And the picture moves on by at least 1 second

  @browser @needs.seeking
  Scenario: A seek to 75 % of the WebM video in a browser shows the picture there
    Given a browser is playing the WebM video through the stream
    When the viewer seeks to 75 % in the browser
    Then the player reports the seek done and shows a frame from 75 % of the WebM video
