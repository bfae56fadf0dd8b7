"""behave hooks: start (or attach to) the swarm once per run, give every scenario a
recording viewer, attach exchanges and log tails to the report, tear everything down.

-D target=NAME|FILE.toml|mod:Class which backend is judged (reference, range-server, webtorrent, peerflix)
-D ecosystem=local|docker           who runs the swarm (default local subprocesses)
-D endpoints=FILE                   attach to a swarm started by `python -m infra up`
-D backend_url=URL                  send the backend's requests to another server
-D contract=strict|rfc9110          what fails the run (default: the target's own)
-D backend_command=CMD | backend_image=IMAGE [backend_env=FILE backend_health=/path]
                                    start your backend inside the ecosystem (infra/ecosystem/user_backend.py)
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import signal
from pathlib import Path

from behave import fixture, use_fixture

from infra.config import Settings
from infra.ecosystem.contract import Capability, Fault, FaultNotSupported
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem import services as ecosystem_services
from infra.ecosystem.providers import make_provider
from infra.suite import figures, reporting, step_types
from infra.suite.http import Client
from infra.suite.library import Library
from infra.suite.swarm_control import SwarmControl
from infra.suite.targets import load_credentials, make_target
from infra.suite.targets import declarative
from infra.suite.targets.registry import SHIPPED, urls_of
from infra.suite.grading import UNIMPLEMENTED_PREFIX, Judge, ScenarioGrade, clauses_of, grade_of
from infra.suite.range_support import RangeJudge
from infra.suite.state import ScenarioState
from infra.suite.viewer import Viewer
from infra.suite.world import RunOptions, World
from infra.swarm.catalog import Catalog

step_types.register()

#: Idle clean-up scenarios wait for the backend's idle time; longer than this, they skip.
MAX_IDLE_WAIT = 60.0

def _interrupt_on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def settings_for(options: RunOptions, settings: Settings) -> Settings:
    """The ecosystem the target needs besides the swarm: a bundled third-party backend
    (an optional service, started only when it is judged), or your backend
    (-D backend_command / backend_image), run as the service the target file names."""
    path = SHIPPED.get(options.target) or (Path(options.target) if options.target.endswith(".toml") else None)
    service = declarative.load(path).service if path else None
    known = {s.name: s for s in ecosystem_services.SERVICES}
    if service in known and known[service].optional:
        return dataclasses.replace(settings, extra_services=",".join((*settings.extras, service)))
    backend = {f"backend_{k.removeprefix('backend_')}": v for k, v in options.backend.items()}
    settings = dataclasses.replace(settings, **backend)
    if service is not None and service not in known:
        if not (settings.backend_command or settings.backend_image or options.backend_url):
            raise SystemExit(f"target {options.target!r} is the service {service!r}, which the ecosystem runs only when "
                             f"told how: -D backend_command=... (a process) or -D backend_image=... (docker), "
                             f"with -D backend_env=FILE; or point at a running one with -D backend_url=URL")
        settings = dataclasses.replace(settings, backend_service=settings.backend_service or service)
    return settings


@fixture
def swarm_ecosystem(context, options: RunOptions, settings: Settings):
    """Start the ecosystem; stop it when the run ends, however it ends."""
    provider = make_provider(options.ecosystem, settings)
    atexit.register(provider.down)          # safety net if behave dies before the cleanup
    try:
        endpoints = provider.up()
        yield provider, endpoints
    finally:
        provider.down()


def before_all(context):
    # Stop (and take the ecosystem down) on SIGTERM and SIGHUP as on Ctrl-C; SIGINT gets
    # its handler back explicitly, as a non-interactive shell's background job starts with it ignored.
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    signal.signal(signal.SIGHUP, _interrupt_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    options = RunOptions.from_userdata(context.config.userdata)
    settings = Settings.from_env()
    if options.endpoints:
        provider, endpoints = None, Endpoints.read(Path(options.endpoints))
        timeouts = {k: float(v) for k, v in endpoints.settings.items() if hasattr(settings, k)}
        settings = dataclasses.replace(settings, **timeouts)
    else:
        settings = settings_for(options, settings)
        provider, endpoints = use_fixture(swarm_ecosystem, context, options, settings)
    client = Client()
    context.add_cleanup(client.close)
    swarm = SwarmControl(endpoints, provider)
    from videos import MEDIA_DIR, VIDEOS_DIR

    library = Library(Catalog.load(Path(endpoints.catalog_file)), MEDIA_DIR, VIDEOS_DIR / "torrents",
                      swarm.magnets(client))
    credentials = load_credentials(endpoints.credentials_file, dict(os.environ))
    target = make_target(options.target, urls_of(endpoints), credentials, base_url=options.backend_url)
    context.world = World(options, settings, endpoints, library, target, swarm)
    reporting.write_results_metadata(context.world.results_dir, {
        "target": target.name, "target.url": target.base_url, "provider": endpoints.provider,
        "attached": str(provider is None).lower(), "run_id": endpoints.run_id,
        **{f"setting.{k}": v for k, v in settings.service_timeouts().items()},
        **{f"version.{k}": v for k, v in reporting.versions().items()},
    })


def _needs(tags) -> set[str]:
    return {tag.split(".", 1)[1] for tag in tags if tag.startswith("needs.")}


def _missing_faults(world: World, needs: set[str]) -> str | None:
    """Why the scenario cannot run here if it needs faults (`@needs.fault.<fault>`) the
    provider does not declare, or any fault while the suite merely attached."""
    faults = sorted((Fault.from_tag(need) for need in needs if need.startswith("fault.")), key=lambda f: f.value)
    if not faults:
        return None
    tags = ", ".join(f"@needs.fault.{fault.value}" for fault in faults)
    provider = world.swarm.provider
    if provider is None:
        return f"{tags}: the suite attached to a running ecosystem and cannot inject faults into it"
    reasons = []
    for fault in faults:
        try:
            provider.require(fault)
        except FaultNotSupported as exc:
            reasons.append(str(exc))
    return f"{tags}: {'; '.join(reasons)}" if reasons else None


def _missing_capabilities(world: World, needs: set[str]) -> str | None:
    """Why the scenario cannot run here if it needs what only a provider gives (`@needs.peers`,
    `@needs.netem`) and the provider cannot give it here (no root, no tc...)."""
    wanted = sorted(need for need in needs if Capability.from_tag(need))
    if not wanted:
        return None
    provider = world.swarm.provider
    if provider is None:
        return f"{', '.join('@needs.' + n for n in wanted)}: the suite attached to a running ecosystem"
    reasons = [reason for reason in (provider.why_not(Capability(need)) for need in wanted) if reason]
    return "; ".join(reasons) or None


def _missing_videos(world: World, needs: set[str]) -> str | None:
    """Why a `@needs.large-files` scenario cannot run: this swarm was started without the
    feature-length video (graded "not run": the target is not to blame)."""
    if "large-files" in needs and not world.library.has("the feature-length video"):
        return "@needs.large-files: this swarm seeds no feature-length video (it was started with SWARMSPEC_LARGE_VIDEO=0)"
    return None


def before_scenario(context, scenario):
    world: World = context.world
    needs = _needs(scenario.effective_tags)
    missing = world.target.missing({need for need in needs if need != "control" and not need.startswith("fault.")
                                    and not Capability.from_tag(need)})
    if missing:
        reason = f"{UNIMPLEMENTED_PREFIX}target {world.target.name!r} lacks {', '.join(sorted(missing))}"
        scenario.skip(reason)   # graded unimplemented: neither a pass nor a failure
        return
    if "control" in needs and not world.swarm.owns_services:
        reason = ("the suite attached to a running ecosystem and cannot control its services "
                  "(stop, restart, add to the tracker's whitelist)")
        scenario.skip(reason)   # behave prints the reason; the scenario counts as skipped
        return
    if "lifecycle" in needs and world.settings.idle_timeout > MAX_IDLE_WAIT:
        reason = (f"the backend's idle time is {world.settings.idle_timeout:g}s; the suite waits at most "
                  f"{MAX_IDLE_WAIT:g}s (set SWARMSPEC_IDLE_TIMEOUT lower)")
        scenario.skip(reason)
        return
    reason = _missing_faults(world, needs) or _missing_capabilities(world, needs) or _missing_videos(world, needs)
    if reason:
        scenario.skip(reason)   # behave prints the reason; the scenario counts as skipped
        return
    reason = world.browser.why_not() if "browser" in scenario.effective_tags else None
    if reason:
        scenario.skip(f"@browser: {reason}")   # graded "not run", never passed
        return

    def on_exchange(exchange):
        reporting.attach_exchange(exchange)
        world.stalls.observe(exchange)

    scene = context.scene = ScenarioState(Viewer(Client(on_exchange=on_exchange), world.target), Judge(world.contract))
    scene.ranges = RangeJudge(scenario, scene.judge, lambda: world.ranges_of(scene.viewer), world.target.name,
                              tuple(sorted(world.target.capabilities & {"ranges", "seeking"})))
    if "browser" in scenario.effective_tags:
        context.scene.player = world.browser.player()


def after_scenario(context, scenario):
    world: World = context.world
    scene: ScenarioState | None = getattr(context, "scene", None)
    failed_step = next((step for step in scenario.all_steps if step.status.name in ("failed", "error")), None)
    error = getattr(failed_step, "exception", None) or getattr(failed_step, "error_message", None)
    grade = grade_of(scenario.status.name, scenario.effective_tags, error, scene.judge.deviations if scene else [],
                     getattr(scenario, "skip_reason", "") or "")
    skip_reason = getattr(scenario, "skip_reason", "") or ""
    if error or (scenario.status.name == "skipped" and skip_reason):
        detail = str(error or skip_reason)   # a step may skip a scenario it finds unimplemented, with the evidence
    else:
        detail = "\n".join(scene.judge.deviations) if scene else ""
    world.grades.add(ScenarioGrade(scenario.feature.name, scenario.name, grade, clauses_of(scenario.effective_tags),
                                   detail[:4000], f"{scenario.location}"))
    if scene is None:
        return
    reporting.label_grade(grade.value, scene.judge.deviations)
    if scenario.status.name == "skipped" and skip_reason.startswith(UNIMPLEMENTED_PREFIX):
        reporting.attach_text("unimplemented: the evidence", skip_reason)
    if scenario.status.name in ("failed", "error"):
        # the log of the system under test (when the ecosystem runs it) and of the swarm; never another backend's
        for name in (*world.target.services, "seeder", "tracker"):
            tail = world.swarm.log_tail(name, 60)
            if tail:
                reporting.attach_text(f"log tail: {name}", tail)
    figures = world.notes.get(scenario.name)
    if figures:
        reporting.attach_json("measured figures", figures)
        print(f"  figures for {scenario.name}: {json.dumps(figures)}")
    if scene.player is not None:
        reporting.attach_player(scene.player)
        scene.player.close()
    scene.viewer.client.close()
    context.scene = None


def after_all(context):
    world = getattr(context, "world", None)
    if world is None:
        return
    versions = world.browser.versions()
    world.browser.close()
    world.grades.write(world.settings.reports_dir / "grades.json")
    # the summary reaches the console from infra/behave-run.sh (behave captures what hooks print)
    measured = figures.write(world.settings.reports_dir / "figures.json", world.target.name, world.notes, world.stalls,
                             versions)
    reporting.add_results_properties(world.results_dir, {f"version.{k}": v for k, v in versions.items()})
    reporting.attach_figures(world.results_dir, measured)
    print("\n" + "\n".join(figures.lines(measured)))
