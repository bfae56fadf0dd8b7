@allure.label.epic:Containers @needs.playback
Feature: Choosing a file of a multi-file torrent
  What people stream is often a pack: a season of episodes beside a sample and
  subtitles. Handed the pack and nothing more, a target streams its largest video (the
  default every target file documents); told which file the viewer chose, it streams
  exactly that file, whatever its place in the torrent and whatever shares its pieces.
  A target file says how a file is chosen (`[stream].file_url`, by index or by path).

  The season pack, in one torrent: Swarmspec.S01E01.mp4 (4 s), Swarmspec.S01E02.mp4
  (6 s, the largest video), Swarmspec.S01E03.mkv (4 s, Matroska),
  Sample/Swarmspec.S01E02.sample.mp4 (2 s) and Swarmspec.S01E02.srt. The files are
  smaller than a piece: most pieces hold the end of one file and the start of the next,
  so a server that confuses a file's offsets serves its neighbour's bytes.

  Background:
    Given the swarm is seeding the test videos

  @critical
  Scenario: Handed the pack without a choice, the target streams its largest video
    When the viewer plays the season pack from the start
    Then the response status is 200
    And the video is served as one of "video/mp4", or as a type the server does not know
    And the Content-Length is the size of episode 2 of the season pack
    And the body is exactly episode 2 of the season pack

  @needs.file-choice @critical @rfc9110.8.3
  Scenario Outline: A viewer who chooses <file> gets that file
    When the viewer plays <file> from the start
    Then the response status is 200
    And the video is served as one of "<types>", or as a type the server does not know
    And the response advertises byte ranges
    And the Content-Length is the size of <file>
    And the body is exactly <file>

    Examples:
      | file                          | types                            |
      | episode 1 of the season pack  | video/mp4                        |
      | episode 2 of the season pack  | video/mp4                        |
      | episode 3 of the season pack  | video/x-matroska, video/matroska |
      | the sample of the season pack | video/mp4                        |

  @needs.file-choice @needs.seeking
  Scenario Outline: The range "<range>" of <file> comes from that file, not from its neighbours
    When the viewer sends "Range: <range>" for <file>
    Then the response status is 206
    And the Content-Range is "<content_range>"
    And the body is exactly those bytes of <file>

    Examples:
      | file                          | range         | content_range                    |
      | episode 1 of the season pack  | bytes=-4096   | bytes {size-4096}-{last}/{size}  |
      | episode 3 of the season pack  | bytes=0-4095  | bytes 0-4095/{size}              |
      | episode 3 of the season pack  | bytes=-4096   | bytes {size-4096}-{last}/{size}  |
      | the sample of the season pack | bytes=0-4095  | bytes 0-4095/{size}              |
      | the sample of the season pack | bytes={middle}- | bytes {middle}-{last}/{size}   |

  @needs.file-choice @needs.seeking
  Scenario: A player finds the index of the Matroska episode where its head names it
    When the viewer opens episode 3 of the season pack like a player and reads its index at the place its head names
    Then every answer is 206 with the exact bytes of episode 3 of the season pack
    And the index the player read is the one in the file

  @needs.subtitle-files @rfc9110.8.3
  Scenario: The subtitles of the pack stream as text with a type of their own
    When the viewer plays the subtitles of the season pack from the start
    Then the response status is 200
    And the subtitles are served as one of "application/x-subrip, text/srt, application/srt, text/plain", or as a type the server does not know
    And swarmspec's contract wants it served as "application/x-subrip"
    And the body is exactly the subtitles of the season pack

  @browser @needs.file-choice
  Scenario: An episode chosen from the pack plays in a browser
    When a browser plays episode 1 of the season pack through the stream
    Then the player is ready to play it (canplay) and shows its first frame
    And the picture moves on by at least 1 second
