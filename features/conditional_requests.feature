@allure.label.epic:HTTP-contract @needs.ranges
Feature: Conditional requests on a stream
  A browser revalidating the video it has cached sends If-None-Match (or
  If-Modified-Since) and must get 304 Not Modified without a body, not the whole
  video again. A client that only wants the bytes of the version it knows sends
  If-Match (or If-Unmodified-Since) and must never get another version's bytes.
  RFC 9110 §13.2.2 gives the order: If-Match (else If-Unmodified-Since), then
  If-None-Match (else If-Modified-Since), then If-Range and Range.
  Levels: If-Match, If-None-Match and If-Unmodified-Since are MUST (§13.1.1, §13.1.2,
  §13.1.4), If-Modified-Since is SHOULD (§13.1.3); every "MUST ignore" below is MUST.
  Where the RFC only forbids performing the method, swarmspec's contract wants 412.
  The validators come from a plain HEAD of the video: a server that sends no ETag or
  Last-Modified breaks a SHOULD (§8.8.3, §8.8.2) and fails where the scenario needs it.

  Background:
    Given the swarm is seeding the test videos
    And the viewer holds the validators of the small video

  Rule: A copy that is still current is answered 304 Not Modified, without a body

    @rfc9110.13.1.2 @rfc9110.15.4.5
    Scenario Outline: <method> with <conditions> is 304 Not Modified
      MUST (§13.1.2): a GET or HEAD whose If-None-Match matches is answered 304.
      If-None-Match uses the weak comparison, so W/ of the current tag matches too;
      "*" matches any current representation; it comes before Range (§13.2.2).
      When the viewer sends <method> for the small video with "<conditions>"
      Then the answer is 304 Not Modified without a body
      And the 304 carries the current ETag, and no length but the video's

      Examples:
        | method | conditions                                   |
        | GET    | If-None-Match: {etag}                        |
        | HEAD   | If-None-Match: {etag}                        |
        | GET    | If-None-Match: W/{etag}                      |
        | GET    | If-None-Match: "swarmspec-old", {etag}       |
        | GET    | If-None-Match: *                             |
        | GET    | If-None-Match: {etag} + Range: bytes=100-199 |
        | GET    | If-None-Match: {etag} + If-Modified-Since: {date-1} |

    @rfc9110.13.1.3 @rfc9110.15.4.5
    Scenario Outline: <method> with <conditions> is 304 Not Modified
      SHOULD (§13.1.3): the video was not modified since the date the viewer holds.
      When the viewer sends <method> for the small video with "<conditions>"
      Then the answer is 304 Not Modified without a body
      And the 304 carries the current ETag, and no length but the video's

      Examples:
        | method | conditions                                       |
        | GET    | If-Modified-Since: {date}                        |
        | HEAD   | If-Modified-Since: {date}                        |
        | GET    | If-Modified-Since: {date} + Range: bytes=100-199 |

  Rule: A validator that is not current lets the request go on

    @rfc9110.13.1.2 @rfc9110.13.1.3 @rfc9110.13.2.2
    Scenario Outline: <method> with <conditions> gets the whole video
      The precondition holds, so the method is performed: the whole video, 200 (MUST
      for If-Match, If-None-Match and If-Unmodified-Since, SHOULD for If-Modified-Since).
      When the viewer sends <method> for the small video with "<conditions>"
      Then the small video is served whole

      Examples:
        | method | conditions                     |
        | GET    | If-None-Match: "swarmspec-old" |
        | HEAD   | If-None-Match: "swarmspec-old" |
        | GET    | If-Modified-Since: {date-1}    |
        | GET    | If-Match: {etag}               |
        | GET    | If-Match: *                    |
        | GET    | If-Unmodified-Since: {date}    |

    @rfc9110.13.2.2 @rfc9110.14.2
    Scenario Outline: A range with <conditions> is served
      The preconditions hold, so the Range is evaluated as usual (§13.2.2 step 5): a
      server MAY ignore it (200, §14.2), never refuse it; swarmspec's contract wants the range.
      When the viewer sends GET for the small video with "<conditions> + Range: bytes=100-199"
      Then the answer is one RFC 9110 allows, and every byte in it is the small video's own
      And the answer is never a refusal while one of the ranges can be served
      And swarmspec's contract wants exactly the ranges "100-199"

      Examples:
        | conditions                     |
        | If-None-Match: "swarmspec-old" |
        | If-Match: {etag}               |
        | If-Unmodified-Since: {date}    |

  Rule: A precondition that fails never gets the video

    @rfc9110.13.1.1 @rfc9110.13.2.2 @contract
    Scenario Outline: <method> with <conditions> is refused
      MUST NOT perform the method (§13.1.1); a server MAY say so with 412. If-Match uses
      the strong comparison, so a weak tag never matches; it comes before If-None-Match,
      If-Range and Range (§13.2.2).
      When the viewer sends <method> for the small video with "<conditions>"
      Then the video is not served
      And swarmspec's contract wants 412 Precondition Failed

      Examples:
        | method | conditions                                         |
        | GET    | If-Match: "swarmspec-old"                          |
        | HEAD   | If-Match: "swarmspec-old"                          |
        | GET    | If-Match: W/{etag}                                 |
        | GET    | If-Match: "swarmspec-old" + Range: bytes=100-199   |
        | GET    | If-Match: "swarmspec-old" + If-None-Match: {etag}  |

    @rfc9110.13.1.4 @contract
    Scenario Outline: <method> with <conditions> is refused
      MUST NOT perform the method (§13.1.4): the video was modified after the date the
      viewer holds.
      When the viewer sends <method> for the small video with "<conditions>"
      Then the video is not served
      And swarmspec's contract wants 412 Precondition Failed

      Examples:
        | method | conditions                                           |
        | GET    | If-Unmodified-Since: {date-1}                        |
        | HEAD   | If-Unmodified-Since: {date-1}                        |
        | GET    | If-Unmodified-Since: {date-1} + Range: bytes=100-199 |

  Rule: Preconditions the RFC says to ignore are ignored

    @rfc9110.13.1.3
    Scenario Outline: If-Modified-Since is ignored <why>
      A recipient MUST ignore If-Modified-Since beside If-None-Match, when it is not a
      valid HTTP-date, or when it has more than one member. The dates are fixed ones
      after the video's Last-Modified: evaluated, they would give 304.
      When the viewer sends GET for the small video with "<conditions>"
      Then the small video is served whole

      Examples:
        | why                         | conditions                                                  |
        | beside If-None-Match  | If-None-Match: "swarmspec-old" + If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT |
        | when it is not a date | If-Modified-Since: yesterday                                                      |
        | when it is two dates  | If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT, Fri, 01 Jan 2100 00:00:00 GMT   |

    @rfc9110.13.1.4
    Scenario Outline: If-Unmodified-Since is ignored <why>
      A recipient MUST ignore If-Unmodified-Since beside If-Match, and when it is not a
      valid HTTP-date (a list of dates included). The fixed dates are before the video's
      Last-Modified: evaluated, they would give 412.
      When the viewer sends GET for the small video with "<conditions>"
      Then the small video is served whole

      Examples:
        | why                         | conditions                                        |
        | beside If-Match             | If-Match: {etag} + If-Unmodified-Since: {date-1}  |
        | when it is not a date       | If-Unmodified-Since: 1700000000                   |
        | when it is two dates        | If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT, Sat, 01 Jan 2000 00:00:00 GMT |

    @rfc9110.13.1.3
    Scenario: If-Modified-Since on a preflight is ignored
      A recipient MUST ignore If-Modified-Since on a method other than GET or HEAD.
      When the viewer sends OPTIONS for the small video with "Origin: http://player.example + Access-Control-Request-Method: GET + If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"
      Then the answer is not 304 Not Modified
