"""Locust in processes of its own: a single local process, or a master and N workers on
this machine (Locust's `--master` / `--worker --master-host`), each started with a
deadline and stopped however the run ends. A `Sampler` reads the CPU of the backend and
of every Locust process once a second, so each level can say which side was busy.

Remote workers join the same master with Locust's own command (README, "Capacity").
CPU and memory are read with psutil (a process and its descendants).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from infra import PROJECT_ROOT
from infra.ecosystem import clock
from infra.ecosystem.logs import tail
from infra.suite.crowd.plan import Plan

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PR_SET_PDEATHSIG = 1
STARTUP_GRACE = 60.0      # master and workers up, workers connected, on top of the ramp's schedule


class LocustFailed(RuntimeError):
    """Locust did not finish the ramp; the message carries the log tail of the process."""


def _die_with_parent() -> None:   # in the child, between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tree(pid: int) -> list[psutil.Process]:
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (0 once it is gone)."""
    total = 0.0
    for process in _tree(pid):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def rss_mib(pid: int) -> float:
    total = 0
    for process in _tree(pid):
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


@dataclass
class Outputs:
    """Where a run's files go: Locust's CSV/HTML, the viewers' tallies, logs, CPU samples."""

    folder: Path

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    plan = property(lambda self: self.folder / "plan.json")
    tallies = property(lambda self: self.folder / "tallies.jsonl")
    csv_prefix = property(lambda self: self.folder / "locust")
    stats_csv = property(lambda self: self.folder / "locust_stats.csv")
    html = property(lambda self: self.folder / "locust.html")
    samples = property(lambda self: self.folder / "cpu.jsonl")
    usage = property(lambda self: self.folder / "usage.jsonl")     # each Locust process's own CPU per level

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"


@dataclass
class Sampler:
    """CPU (cores) of named processes, sampled every `interval` seconds in a thread."""

    pids: dict[str, int]
    out: Path
    interval: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    peak_rss_mib: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="capacity-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = clock.monotonic()
        last = {name: (started, cpu_seconds(pid)) for name, pid in self.pids.items()}
        with self.out.open("w") as out:
            while not self._stop.wait(self.interval):
                now = clock.monotonic()
                sample = {"t": round(now - started, 2), "load": round(os.getloadavg()[0], 2)}
                for name, pid in self.pids.items():
                    seconds = cpu_seconds(pid)
                    then, cpu = last[name]
                    sample[name] = round((seconds - cpu) / max(now - then, 1e-3), 3)
                    last[name] = (now, seconds)
                    self.peak_rss_mib[name] = max(self.peak_rss_mib.get(name, 0.0), rss_mib(pid))
                out.write(json.dumps(sample) + "\n")
                out.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _command(plan_path: Path, outputs: Outputs, role: list[str], web: bool) -> list[str]:
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "WARNING"]
    if role and role[0] == "--worker":
        return base + role
    ui = ["--autostart", "--autoquit", "0"] if web else ["--headless", "--only-summary"]
    return base + role + ui + ["--plan", str(plan_path), "--records", str(outputs.tallies),
                               "--usage", str(outputs.usage),
                               "--csv", str(outputs.csv_prefix), "--html", str(outputs.html)]


class LocustRun:
    """One ramp in Locust processes: `start()` returns at once, `finish()` waits for the
    ramp's end (its deadline: the plan's schedule plus start-up), stops every process and
    returns the peak RSS (MiB) of every watched and Locust process. `workers` 0: one local
    Locust process; N: a master and N workers, started by `worker_launcher(master_port,
    index)` when given (it returns a function that stops that worker: containers)."""

    def __init__(self, plan: Plan, outputs: Outputs, workers: int = 0, watch: dict[str, int] | None = None,
                 web_port: int | None = None, worker_launcher=None, remote_workers: int = 0,
                 master_bind: str = "127.0.0.1", master_port: int | None = None) -> None:
        self.plan, self.outputs, self.workers, self.web_port = plan, outputs, workers, web_port
        self.watch, self.worker_launcher = dict(watch or {}), worker_launcher
        self.remote_workers, self.master_bind, self.master_port = remote_workers, master_bind, master_port
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.stoppers: list = []
        self.sampler: Sampler | None = None

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
        with self.outputs.log(name).open("w") as log:
            process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.processes.append((name, process))
        return process

    def start(self) -> None:
        plan, outputs = self.plan, self.outputs
        plan.save(outputs.plan)
        web = ["--web-host", "127.0.0.1", "--web-port", str(self.web_port)] if self.web_port else []
        try:
            if self.workers == 0 and self.remote_workers == 0:
                self._spawn("locust", _command(outputs.plan, outputs, web, bool(web)))
            else:
                port = self.master_port or free_port()
                bind = getattr(self.worker_launcher, "bind", self.master_bind)
                role = ["--master", "--master-bind-host", bind, "--master-bind-port", str(port),
                        "--expect-workers", str(self.workers + self.remote_workers),
                        "--expect-workers-max-wait", str(int(STARTUP_GRACE)), *web]
                self._spawn("master", _command(outputs.plan, outputs, role, bool(web)))
                if self.remote_workers:
                    print(f"[capacity] Locust master on {bind}:{port} waits {STARTUP_GRACE:.0f} s for "
                          f"{self.remote_workers} more workers: python -m locust -f infra/suite/crowd/locustfile.py "
                          f"--worker --master-host <this host> --master-port {port}", file=sys.stderr, flush=True)
                for index in range(self.workers):
                    if self.worker_launcher is not None:
                        stop = self.worker_launcher(port, index, outputs.folder)
                        self.stoppers.append(stop)
                        if getattr(stop, "pid", None):          # a container's process, seen from here
                            self.watch[stop.label] = stop.pid
                    else:
                        self._spawn(f"worker-{index + 1}", _command(
                            outputs.plan, outputs, ["--worker", "--master-host", "127.0.0.1", "--master-port",
                                                    str(port)], False))
        except BaseException:
            self.stop()
            raise
        watched = {name: pid for name, pid in self.watch.items() if pid}
        self.sampler = Sampler({**watched, **{name: p.pid for name, p in self.processes}}, outputs.samples)
        self.sampler.start()

    def finish(self) -> dict[str, float]:
        name, main = self.processes[0]
        deadline = self.plan.schedule_seconds() + STARTUP_GRACE
        try:
            code = main.wait(timeout=deadline)
            for _, process in self.processes[1:]:
                process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise LocustFailed(f"locust: the ramp did not end within {deadline:.0f} s (schedule "
                               f"{self.plan.schedule_seconds():.0f} s + {STARTUP_GRACE:.0f} s start-up)\n"
                               + tail(self.outputs.log(name))) from None
        finally:
            self.stop()
        if not self.outputs.stats_csv.exists():
            raise LocustFailed(f"locust exited {code} without stats ({self.outputs.stats_csv})\n"
                               + tail(self.outputs.log(name)))
        return dict(self.sampler.peak_rss_mib) if self.sampler else {}

    def stop(self) -> None:
        """Stop every process and worker now (idempotent): Ctrl-C, a failed scenario, the end."""
        if self.sampler is not None:
            self.sampler.stop()
        for _, process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        while self.stoppers:
            self.stoppers.pop()()


def run(plan: Plan, outputs: Outputs, workers: int = 0, watch: dict[str, int] | None = None,
        web_port: int | None = None, worker_launcher=None, **master) -> dict[str, float]:
    """A whole ramp, start to finish (see LocustRun; `master`: remote_workers, master_bind, master_port)."""
    locust = LocustRun(plan, outputs, workers, watch, web_port, worker_launcher, **master)
    locust.start()
    return locust.finish()


def read_samples(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def read_usage(path: Path) -> dict[int, dict[str, float]]:
    """Each Locust process's CPU (cores) per level, as it measured itself: {level: {process: cores}}."""
    found: dict[int, dict[str, float]] = {}
    for line in (Path(path).read_text().splitlines() if Path(path).exists() else ()):
        if line.strip():
            record = json.loads(line)
            found.setdefault(record["level"], {})[record["process"]] = record["cores"]
    return found


def busy_seconds(samples: list[dict], start: float, end: float, threshold: float = 0.9) -> dict[str, int]:
    """Per process, the samples (about a second each) in [start, end) in which it used at
    least `threshold` cores: a level's mean hides the burst when its new viewers all fill
    their buffers at once, and that burst is when startups are judged."""
    inside = [s for s in samples if start <= s["t"] < end]
    names = {name for s in inside for name in s if name not in ("t", "load")}
    return {name: sum(s.get(name, 0.0) >= threshold for s in inside) for name in sorted(names)}


def mean_cores(samples: list[dict], start: float, end: float) -> dict[str, float]:
    """Mean cores per process over the samples taken in [start, end) seconds of the run."""
    inside = [s for s in samples if start <= s["t"] < end]
    names = {name for s in inside for name in s if name != "t"}     # "load": the machine's 1-min load average
    return {name: round(sum(s.get(name, 0.0) for s in inside) / len(inside), 3) for name in sorted(names)}
