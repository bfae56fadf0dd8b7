"""The project's own tests (a package: a dependency, sniffpy, installs a top-level `tests` of its own)."""
