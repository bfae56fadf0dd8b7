@allure.label.epic:HTTP-contract @needs.ranges
Feature: Several ranges in one request
  RFC 9110 lets a server answer a request for several ranges in more than one way:
  all of them as multipart/byteranges, coalesced into fewer, only some of them, or
  the whole video with 200. Whatever it chooses, every byte must be the file's own at
  the offset the answer names, and it must not refuse (416) while one of the ranges
  can be served. swarmspec's contract wants exactly the satisfiable ranges, overlapping
  ones merged: one range as a plain 206, several as multipart/byteranges.

  Background:
    Given the swarm is seeding the test videos

  @rfc9110.14.2 @rfc9110.14.6 @rfc9110.15.3.7 @rfc9110.15.5.17
  Scenario Outline: The viewer asks for <what> of the small video
    When the viewer sends "Range: <header>" for the small video
    Then the answer is one RFC 9110 allows, and every byte in it is the small video's own
    And the answer is never a refusal while one of the ranges can be served
    And swarmspec's contract wants exactly the ranges "<served>"

    Examples:
      | what                                      | header                     | served          |
      | two ranges                                | bytes=0-99,200-299         | 0-99,200-299    |
      | three ranges, one at the end              | bytes=0-0,1000-1999,-10    | 0-0,1000-1999,{size-10}-{last} |
      | a range past the end and one before it    | bytes={size}-,0-1          | 0-1             |
      | empty list elements                       | bytes=0-1,,4-5             | 0-1,4-5         |
      | overlapping ranges                        | bytes=0-5,3-9              | 0-9             |
