"""Typed state of a suite run (instead of loose attributes on behave's context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infra.config import Settings
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem import clock
from infra.suite.browser.session import BrowserSession
from infra.suite.figures import StallWatch
from infra.suite.grading import Contract, GradeBook
from infra.suite.library import Library
from infra.suite import range_support
from infra.suite.swarm_control import SwarmControl
from infra.suite.targets import Target
from infra.suite.viewer import Viewer
from infra.ecosystem.waits import NotReady, Wait


#: -D options that start your backend inside the ecosystem (infra.ecosystem.user_backend).
BACKEND_OPTIONS = ("backend_command", "backend_env", "backend_image", "backend_health")


@dataclass(frozen=True)
class RunOptions:
    """The behave -D options the suite understands."""

    target: str = "reference"           # reference | range-server
    ecosystem: str = "local"            # local | docker (ignored when attaching)
    endpoints: str | None = None        # attach to the ecosystem described by this file
    backend_url: str | None = None      # send the backend's requests to another URL
    contract: str | None = None         # strict | rfc9110; None: the target's default
    backend: dict[str, str] = field(default_factory=dict)   # backend_command, _env, _image, _health: your backend

    @classmethod
    def from_userdata(cls, userdata) -> "RunOptions":
        known = ("target", "ecosystem", "endpoints", "backend_url", "contract", *BACKEND_OPTIONS)
        unknown = set(userdata) - {*known, "provider"}
        if unknown:
            raise ValueError(f"unknown -D option(s) {sorted(unknown)}; known: {', '.join(known)}")
        contract = userdata.get("contract") or None
        if contract is not None:
            Contract.parse(contract)          # a typo fails the run at once, not at the end
        return cls(
            target=userdata.get("target", "reference"),
            ecosystem=userdata.get("ecosystem", userdata.get("provider", "local")),
            endpoints=userdata.get("endpoints") or None,
            backend_url=userdata.get("backend_url") or None,
            contract=contract,
            backend={name: userdata[name] for name in BACKEND_OPTIONS if userdata.get(name)},
        )


@dataclass
class World:
    options: RunOptions
    settings: Settings
    endpoints: Endpoints
    library: Library
    target: Target
    swarm: SwarmControl
    notes: dict[str, object] = field(default_factory=dict)   # figures for the performance report
    browser: BrowserSession = field(default_factory=BrowserSession)   # launched by the first @browser scenario
    stalls: StallWatch = field(default_factory=StallWatch)   # the longest body pause over every stream exchange
    grades: GradeBook = field(init=False)
    range_evidence: range_support.RangeEvidence | None = None   # the run's range probe, made on first need

    def __post_init__(self) -> None:
        self.grades = GradeBook(self.target.name, self.contract, self.endpoints.provider)

    @property
    def contract(self) -> Contract:
        """-D contract wins; otherwise the target's default (strict for our own servers)."""
        return Contract.parse(self.options.contract or self.target.default_contract)

    @property
    def results_dir(self) -> Path:
        return self.settings.reports_dir / "allure-results"

    def ranges_of(self, viewer) -> range_support.RangeEvidence:
        """What the target does with satisfiable ranges, probed on the small video once per run
        (again while the answer is unclear). The probe asks as a plain viewer with the target's
        own credentials, whatever token the scenario's viewer holds, through its client, so the
        exchanges are recorded in the scenario that needed them."""
        if self.range_evidence is None or self.range_evidence.habit is range_support.RangeHabit.UNCLEAR:
            plain = Viewer(viewer.client, self.target)
            self.range_evidence = range_support.probe(plain, self.library["the small video"])
        return self.range_evidence

    def record_figure(self, scenario, name: str, value: float | None) -> None:
        """A measured figure: printed at the end of the run and attached to the report."""
        figure = round(value, 4) if value is not None else None
        self.notes.setdefault(scenario.name, {})[name] = figure

    def backend_forgets(self, viewer, video, deadline: float) -> float:
        """Wait until the target no longer lists the torrent; the monotonic time it was seen gone."""
        def probe() -> float:
            held = [t["infoHash"] for t in self.target.active_torrents(viewer.client)]
            if video.info_hash in held:
                raise NotReady(f"{video.name} is still among the active torrents ({len(held)} active)")
            return clock.monotonic()

        return Wait(service="backend", what=f"{video.name} to be dropped after {self.settings.idle_timeout:g}s idle",
                    probe=probe, timeout=deadline, interval=0.2,
                    log_tail=lambda: "\n".join(self.swarm.log_tail(name) for name in self.target.services)).run()
