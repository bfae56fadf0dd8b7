@allure.label.epic:Playback @needs.playback
Feature: Decoders agree with the source
  ffprobe and ffmpeg read the stream URL with their own HTTP client and their own
  ranges, as media tools and server-side transcoders do. What they find through the
  target must be what they find in the local file.

  Background:
    Given the swarm is seeding the test videos

  Scenario Outline: ffprobe reads <video> through the stream as the manifest describes it
    When ffprobe reads <video> through the stream
    Then it reports the manifest's duration of <video> to within 0.1 seconds
    And it reports the manifest's video and audio codecs of <video>

    Examples:
      | video            |
      | the small video  |
      | the medium video |
      | the large video  |

  @needs.seeking
  Scenario Outline: A frame decoded at <percent> % of <video> through the stream is the local file's frame
    When ffmpeg decodes the frame at <percent> % of <video> through the stream and from the local file
    Then both decoded frames are the same picture

    Examples:
      | video            | percent |
      | the small video  | 75      |
      | the medium video | 75      |
      | the large video  | 40      |
