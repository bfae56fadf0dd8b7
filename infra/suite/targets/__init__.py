"""Target adapters: how a seeded video becomes a stream URL on the system under test,
and how to authenticate there. A feature needs capabilities (tags ``@needs.<name>``);
a target that lacks one makes the scenario skip with a printed reason.

Targets are declared in TOML files (format: infra/suite/targets/README.md):

* ``reference`` — the swarmspec reference backend API (also for any server that speaks
  it, via ``-D backend_url=URL``: someone else's backend or a proxy in front of ours).
* ``range-server`` — the plain HTTP range server: proves that playback, seeking and
  malformed-range features are backend-agnostic.
* ``webtorrent``, ``peerflix`` — third-party engines behind a small control API.
* ``path/to/target.toml`` — any other backend; ``package.module:Class`` — a Python class.
"""

from infra.suite.targets.base import ALL_CAPABILITIES, OperationResult, Target, TargetError, Unimplemented
from infra.suite.targets.declarative import TargetFileError, TargetSpec, load
from infra.suite.targets.declared import DeclarativeTarget
from infra.suite.targets.reference import RangeServerTarget, ReferenceTarget
from infra.suite.targets.registry import SHIPPED, load_credentials, make_target, urls_of

__all__ = [
    "ALL_CAPABILITIES", "DeclarativeTarget", "OperationResult", "RangeServerTarget", "ReferenceTarget", "SHIPPED",
    "Target", "TargetError", "TargetFileError", "TargetSpec", "Unimplemented", "load", "load_credentials",
    "make_target", "urls_of",
]
