@allure.label.epic:HTTP @needs.ranges
Feature: The stream's answers pass an HTTP linter
  mnot's httplint (the message checks behind REDbot) reads every exchange the suite
  records; its notes are attached to each step. Here the answers a player gets are
  graded by what the linter calls errors. Notes about what the suite does not judge
  (caching headers, the suite's own requests, and the linter's blind spots listed in
  the README) are attached but not graded.

  Background:
    Given the swarm is seeding the test videos

  Scenario: What a player asks for is answered without linter errors
    When the viewer sends these requests for the small video:
      | method  | range                 |
      | GET     |                       |
      | GET     | bytes=0-1023          |
      | GET     | bytes={size-65536}-   |
      | GET     | bytes=-500            |
      | GET     | bytes=0-99,1000-1099  |
      | GET     | bytes={size}-         |
      | HEAD    |                       |
      | HEAD    | bytes=0-1023          |
      | OPTIONS | (a browser preflight) |
    Then every body is exactly the bytes of the small video it names
    And the linter finds no errors in those answers
    And swarmspec's contract wants no linter warnings either
