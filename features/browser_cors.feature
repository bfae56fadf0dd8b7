@allure.label.epic:Browsers @browser @needs.playback
Feature: Cross-origin players in a browser
  The browser itself enforces CORS (the Fetch standard): a <video crossorigin> element
  may hand its picture to the page only if the answer allows it, and a Media Source
  Extensions player (hls.js, Shaka) that reads ranges with fetch and an Authorization
  header gets them only after a preflight the server allows.

  Background:
    Given the swarm is seeding the test videos

  @fetch.cors
  Scenario: A crossorigin="anonymous" player plays, and the page may read its picture
    When a browser plays the small video through the stream with crossorigin="anonymous"
    Then the player is ready to play it (canplay) and shows its first frame
    And the page may draw the picture it shows (the answer let the page read it)

  @fetch.cors @needs.ranges
  Scenario: A fetch-based player reads ranges from another origin with an Authorization header
    When a browser's fetch-based player reads "bytes=0-65535" and "bytes=-65536" of the medium video with an Authorization header
    Then the browser asked first (a preflight) and was allowed to send it
    And each range arrived as 206 with the exact bytes of the medium video, its Content-Range readable by the player
