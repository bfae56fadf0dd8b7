@allure.label.epic:Performance @performance @informational @needs.performance
Feature: What a viewer feels, within budgets, on an unthrottled swarm
  How long the first picture takes, how long a seek takes to show the picture at the new
  place, the longest freeze in the middle of a body, and how fast a whole video arrives,
  with the seeder uploading as fast as it can (slow_swarm_budgets.feature: the same on
  a slow swarm). Measured on every run, printed at the end and attached. Each has an
  explicit budget: within it the scenario is graded informational, over it failed.

  A torrent "the backend has never seen" is a fresh copy the swarm seeds for the
  scenario: the same bytes under a new info hash (as in performance.feature).

  Background:
    Given the swarm is seeding the test videos

  @browser @needs.fresh-torrents @needs.control
  Scenario: The first frame of a torrent the backend has never seen shows within 5 seconds
    Given the swarm seeds a fresh copy of the large video that the backend has never seen
    When a browser plays the fresh copy through the stream
    Then the first frame showed within 5 seconds

  @browser @needs.seeking
  Scenario: A seek shows the picture at the new place within 2 seconds
    Given a browser is playing the large video through the stream
    When the viewer seeks to 75 % in the browser
    Then the frame at the seek point showed within 2 seconds

  Scenario: The large video plays through at 8 MB/s or faster, never freezing for 1 second or more
    When the viewer plays the large video from the start
    Then the body is exactly the large video
    And it arrived at 8 MB/s or faster
    And the longest pause between two chunks of the body was under 1 second

  @needs.fresh-torrents @needs.control
  Scenario: A torrent the backend has never seen plays through at 8 MB/s or faster, never freezing for 1 second or more
    Given the swarm seeds a fresh copy of the large video that the backend has never seen
    When the viewer plays the fresh copy from the start
    Then the body is exactly the large video
    And it arrived at 8 MB/s or faster
    And the longest pause between two chunks of the body was under 1 second
