"""The contract every provider keeps: what the suite may ask of an ecosystem and of one
running service, and which faults a provider can inject.

Faults and capabilities are declared, not discovered: a provider says `supports(Fault.PAUSE)`, and a
scenario that needs a fault the provider lacks is skipped with a printed reason before
it starts, instead of failing half-way with an AttributeError. Every provider is checked
against this contract by one parametrized test module (`tests/test_provider_contract.py`).

Capabilities beyond faults (`Capability`): extra peers started on request, and network
conditions on a peer's own interface. A provider declares them; whether one is usable
*here* (root, `tc`, the kernel) is its `why_not(capability)`, so a scenario tagged
`@needs.netem` on a machine without them is skipped with that reason.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from infra.ecosystem.endpoints import Endpoints

if TYPE_CHECKING:
    from infra.ecosystem.conditions import NetworkConditions
    from infra.ecosystem.peers import PeerSpec


class Fault(enum.Enum):
    """Something the suite can do to a running service besides start and stop it."""

    KILL = "kill"                  # SIGKILL, as a crash would
    RESTART = "restart"            # stop, then start on the same address
    PAUSE = "pause"                # freeze every process; address and connections kept
    DISCONNECT = "disconnect"      # cut off the swarm's network, then reconnect

    @classmethod
    def from_tag(cls, tag: str) -> "Fault":
        """`needs.fault.pause` -> Fault.PAUSE (the tag a scenario carries)."""
        try:
            return cls(tag.rsplit(".", 1)[-1])
        except ValueError:
            raise ValueError(f"unknown fault tag {tag!r}; faults: {', '.join(f.value for f in cls)}") from None


class Capability(enum.Enum):
    """What a provider can do besides running the ecosystem and injecting faults."""

    PEERS = "peers"                # start extra peers on request (`Provider.start_peer`)
    NETEM = "netem"                # network conditions on a peer's own interface (`PeerService.condition`)

    @classmethod
    def from_tag(cls, need: str) -> "Capability | None":
        """`netem` (of `@needs.netem`) -> Capability.NETEM; None when it is no provider capability."""
        try:
            return cls(need)
        except ValueError:
            return None


class CapabilityMissing(RuntimeError):
    """The provider cannot do this here; the message says why (the provider, root, a tool)."""


class FaultNotSupported(RuntimeError):
    """The provider does not declare this fault; the message says which provider has it."""


@runtime_checkable
class Service(Protocol):
    """One running service, as every provider exposes it."""

    name: str

    @property
    def url(self) -> str: ...                       # base URL as reachable from the suite's host
    def start(self) -> None: ...                    # returns once healthy, or raises with the log tail
    def stop(self) -> None: ...                     # SIGTERM, then SIGKILL after the stop timeout
    def restart(self) -> None: ...
    def is_running(self) -> bool: ...
    def log_tail(self, lines: int = 40) -> str: ...
    def heal(self) -> None: ...                     # undo any fault: running, thawed, connected, healthy


@runtime_checkable
class FaultyService(Service, Protocol):
    """The fault methods; a provider implements those it declares in `faults`
    (`FAULT_METHODS` says which belong to which fault)."""

    def kill(self) -> None: ...
    def pause(self) -> None: ...
    def unpause(self) -> None: ...                  # returns once healthy again
    def disconnect(self) -> None: ...
    def reconnect(self) -> None: ...                # returns once healthy again
    def peer_endpoints(self) -> set[tuple[str, int]]: ...   # where it listens for peers (a reconnect may move it)


@runtime_checkable
class PeerService(Service, Protocol):
    """An extra peer (`Provider.start_peer`): a service that can also be killed and whose
    own interface can be given network conditions."""

    address: str                                    # where the other peers reach it (its own address)

    def kill(self) -> None: ...
    def condition(self, conditions: "NetworkConditions") -> str: ...   # returns how: "netem" or "delay line"
    def clear_conditions(self) -> None: ...


#: The service methods a provider must implement for each fault it declares.
FAULT_METHODS: dict[Fault, tuple[str, ...]] = {
    Fault.KILL: ("kill",),
    Fault.RESTART: ("restart",),
    Fault.PAUSE: ("pause", "unpause"),
    Fault.DISCONNECT: ("disconnect", "reconnect", "peer_endpoints"),
}


@runtime_checkable
class Provider(Protocol):
    """Runs the ecosystem described in `infra.ecosystem.services`."""

    name: str
    faults: frozenset[Fault]
    capabilities: frozenset[Capability]

    def up(self) -> Endpoints: ...
    def down(self) -> None: ...
    def owns(self, path: Path) -> None: ...         # remove `path` with the run even if its owner is killed
    def service(self, name: str) -> Service: ...
    def supports(self, fault: Fault) -> bool: ...
    def require(self, fault: Fault) -> None: ...    # raises FaultNotSupported naming the provider
    def admit(self, info_hashes: list[str]) -> None: ...   # the tracker accepts these torrents from now on
    def why_not(self, capability: Capability) -> str | None: ...   # None: usable now
    def start_peer(self, spec: "PeerSpec") -> PeerService: ...    # returns once it announced
    def stop_peer(self, name: str) -> None: ...
    @property
    def prepared(self): ...                                       # prepare.Prepared once up (catalog, whitelist)


class DeclaredFaults:
    """Mixin: `supports()` and `require()` from a class-level `faults` set; `why_not()` from
    `capabilities` and `_capability_problem()` (what stops a declared capability here)."""

    name: str
    faults: frozenset[Fault] = frozenset()
    capabilities: frozenset[Capability] = frozenset()

    def why_not(self, capability: Capability) -> str | None:
        if capability not in self.capabilities:
            return f"the {self.name} provider has no {capability.value} capability"
        problem = self._capability_problem(capability)
        return f"{capability.value} under the {self.name} provider: {problem}" if problem else None

    def _capability_problem(self, capability: Capability) -> str | None:
        return None

    def require_capability(self, capability: Capability) -> None:
        reason = self.why_not(capability)
        if reason:
            raise CapabilityMissing(reason)

    def supports(self, fault: Fault) -> bool:
        return fault in self.faults

    def require(self, fault: Fault) -> None:
        if fault not in self.faults:
            raise FaultNotSupported(
                f"the {self.name} provider cannot {fault.value} a service "
                f"(it declares: {', '.join(sorted(f.value for f in self.faults)) or 'no faults'})")


def faulty_service(provider: Provider, name: str, fault: Fault) -> FaultyService:
    """The service, to inject `fault` into; FaultNotSupported if the provider lacks it."""
    provider.require(fault)
    return cast(FaultyService, provider.service(name))
