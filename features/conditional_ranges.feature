@allure.label.epic:HTTP-contract @needs.ranges
Feature: Resuming with If-Range and the validators it needs
  A player that resumes a download asks for the rest of its cached copy with
  If-Range. If the copy is still current, the server sends the range (206); if the
  video changed or the validator is not a current strong one, it sends the whole
  video (200) — never a piece of a representation the player does not have.
  For that the video must carry validators that stay the same for the same bytes.

  Background:
    Given the swarm is seeding the test videos

  @rfc9110.8.8.3 @rfc9110.8.8.2
  Scenario: The small video carries the same strong validators every time it is asked for
    When the viewer asks for the headers of the small video twice
    Then both answers carry the same strong ETag
    And both answers carry the same Last-Modified date

  @rfc9110.13.1.5
  Scenario: A range of a copy that is still current is served
    Given the viewer has the small video's current ETag
    When the viewer resumes the small video at "bytes=100-199" with If-Range set to that ETag
    Then the response status is 206
    And the body is exactly those bytes of the small video

  @rfc9110.13.1.5
  Scenario Outline: A range of a copy that is not current (<why>) gets the whole video
    When the viewer resumes the small video at "bytes=100-199" with If-Range set to '<validator>'
    Then the response status is 200
    And the body is exactly the small video

    Examples:
      | why                         | validator                     |
      | another entity tag          | "swarmspec-stale-etag"        |
      | a weak entity tag           | W/"swarmspec-weak-etag"       |
      | an older date               | Sat, 01 Jan 2000 00:00:00 GMT |
