@allure.label.epic:Performance @performance @needs.performance
Feature: Performance budgets
  The design's budgets, measured on every run and attached to the report.
  Each budget is far above what the reference backend needs on a loaded 2-core machine
  (python -m infra.measure.bench: a fresh torrent's first byte 10-60 ms, a downloaded 1 MiB
  range 2-3 ms), so a slow CI machine keeps a 30x margin on the first and 80x on the
  second; a backend that needs more is slow, not unlucky.

  Background:
    Given the swarm is seeding the test videos

  # A torrent the backend has never seen: the swarm seeds a fresh copy of the video (the
  # same bytes under a new info hash), so any backend can be measured, with no wait for
  # it to forget anything. The clock runs from handing over the magnet to the first byte.
  @needs.fresh-torrents @needs.control
  Scenario: The first byte of a fresh torrent arrives within 2 seconds
    Given the swarm seeds a fresh copy of the large video that the backend has never seen
    When the viewer starts the fresh copy
    Then the first byte arrived within 2 seconds
    And the body is exactly those bytes of the large video

  Scenario: A range already downloaded is served within a quarter of a second
    Given the viewer has watched the first MiB of the large video
    When the viewer watches the first MiB of the large video again
    Then the whole answer came within 0.25 second
    And the body is exactly those bytes of the large video

  Scenario: Ten concurrent streams are all served
    When 10 viewers play the large video from the start at the same time
    Then every viewer gets the whole large video, byte for byte
