@allure.label.epic:HTTP-contract @needs.ranges
Feature: Asking for the headers with a Range
  RFC 9110 §14.2: "A server MUST ignore a Range header field received with a request
  method that is unrecognized or for which range handling is not defined", and GET is
  the only method that defines it. So a HEAD with a Range is answered as a HEAD without
  one: 200 with the whole video's Content-Length, no Content-Range (MUST; a 206 or 416
  to HEAD, common as it is, breaks it). §9.3.2 then holds: the headers of the GET the
  same request would be without its Range.

  Background:
    Given the swarm is seeding the test videos

  @rfc9110.14.2 @rfc9110.9.3.2
  Scenario Outline: Asking for the headers of <what> gives the headers of the whole video
    MUST (§14.2): the Range of a HEAD is ignored, whatever it says.
    When the viewer sends HEAD for the small video with "Range: <header>"
    Then the Range is ignored: 200 with the whole video's Content-Length and no Content-Range

    Examples:
      | what                  | header           |
      | a range               | bytes=100-199    |
      | the last bytes        | bytes=-100       |
      | a range past the end  | bytes={size}-    |
      | two ranges            | bytes=0-1,5-9    |
      | a malformed range     | bytes=abc        |
