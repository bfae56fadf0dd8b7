"""swarmspec infrastructure: the controlled swarm (tracker, seeder, range server,
reference backend) and the providers that run it."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
