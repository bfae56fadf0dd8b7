"""The measuring wing: tools that run the ecosystem to print figures (bench, fuzz, flake,
capacity). They sit above the three wings and the suite's library, never under them:
nothing in swarm/, backends/, ecosystem/ or suite/ imports from here."""
