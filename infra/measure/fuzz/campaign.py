"""One fuzzing campaign against one target of a running ecosystem: Hypothesis draws the
input (`grammar`), the suite's `Client` (or `raw` for bytes no library would send) sends
it to the target's stream URL and API, `invariants` judge every answer, and the
service's memory and file descriptors are read before and after (`procstat`).

Failures are collected, not raised, so one campaign reports every distinct failure with
its first example and how often it occurred (Hypothesis runs in its generate phase only:
a fuzz run, not a shrinking test). With a fixed seed the input is the same every time.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, Verbosity, given, seed as fixed_seed, settings, strategies as st

from infra.ecosystem import clock
from infra.ecosystem.endpoints import Endpoints
from infra.measure import procstat
from infra.measure.fuzz import grammar, invariants, raw
from infra.measure.fuzz.invariants import Problem
from infra.suite.http import Client, Exchange
from infra.suite.library import Library
from infra.suite.targets import make_target, urls_of
from infra.swarm import preconditions

RSS_SLACK = 64 * 2**20     # more than this above the warm baseline after the run is a leak
FD_SLACK = 4               # descriptors a server may keep a moment longer (a closing keep-alive)
SETTLE_S = 15.0            # how long closed connections may take to be released
PROBE_TIMEOUT = 5.0        # the stream must answer this fast while hostile connections are held
TRICKLE_DELAY = 0.002
#: The reference API's JSON endpoints and the good values of their fields.
JSON_ENDPOINTS = ("login", "sources", "stream-token", "metadata")


@dataclass
class Finding:
    problem: Problem
    example: str
    count: int = 1


@dataclass
class Figures:
    target: str
    provider: str
    seed: int
    examples: Counter[str] = field(default_factory=Counter)      # per phase
    requests: int = 0
    seconds: float = 0.0
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)      # oversized requests: outcome -> count
    before: procstat.Usage | None = None
    after: procstat.Usage | None = None
    healthy_after: bool = False
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(f.count for f in self.findings.values() if f.problem.kind == kind)

    def failures(self) -> list[Finding]:
        """Distinct failures (contract deviations are graded, not failures)."""
        return [f for f in self.findings.values() if f.problem.kind != invariants.CONTRACT]

    @property
    def leaked(self) -> list[str]:
        if self.before is None or self.after is None:
            return []
        out = []
        if self.after.fds > self.before.fds + FD_SLACK:
            out.append(f"open fds {self.before.fds} -> {self.after.fds}")
        if self.after.rss_bytes > self.before.rss_bytes + RSS_SLACK:
            out.append(f"RSS {self.before.rss_mib:.1f} -> {self.after.rss_mib:.1f} MiB")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures() and self.healthy_after and not self.leaked


class Campaign:
    def __init__(self, endpoints: Endpoints, target_name: str, credentials: Mapping[str, str], seed: int = 0,
                 progress: Callable[[str], None] = lambda line: None) -> None:
        self.client = Client()
        self.target = make_target(target_name, urls_of(endpoints), credentials)
        library = Library.of_running(endpoints, self.client)
        self.video, self.large = library["the small video"], library["the large video"]
        self.file = self.video.read(0, self.video.size - 1)
        self.credentials = credentials
        self.seed = seed
        self.progress = progress
        self.figures = Figures(self.target.name, endpoints.provider, seed)
        service = self.target.services[0] if self.target.services else ""
        self.pid = procstat.service_pid(endpoints, service) if service else None
        self.url = self.target.stream_url(self.client, self.video)
        self.large_url = self.target.stream_url(self.client, self.large)

    # -- bookkeeping ------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return dict(self.target.auth_headers(self.client))

    def _judge(self, problems: list[Problem], example: str, where: str = "") -> None:
        """Count each problem under its kind and signature (prefixed with `where`: the
        endpoint or phase, so one bug on two endpoints counts as two)."""
        for problem in problems:
            if where:
                problem = Problem(problem.kind, f"{where}: {problem.signature}", problem.detail)
            found = self.figures.findings.get(problem.key)
            if found:
                found.count += 1
            else:
                self.figures.findings[problem.key] = Finding(problem, example[:400])

    def _request(self, method: str, url: str, **kwargs) -> Exchange:
        self.figures.requests += 1
        return self.client.request(method, url, record=False, **kwargs)

    def _explore(self, phase: str, strategy: st.SearchStrategy, examples: int, body: Callable) -> None:
        def counted(value) -> None:
            self.figures.examples[phase] += 1
            if self.figures.examples[phase] % 1000 == 0:
                self.progress(f"{phase}: {self.figures.examples[phase]} examples, {self.figures.requests} requests")
            body(value)

        run = settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)(given(strategy)(counted))
        fixed_seed(self.seed)(run)()

    # -- phases -------------------------------------------------------------------------

    def ranges(self, examples: int) -> None:
        """Range headers from the grammar against the stream URL, GET and HEAD."""
        def one(drawn: tuple[str, str]) -> None:
            method, header = drawn
            header = header.lstrip()        # a field value has no leading whitespace (RFC 9110 §5.5)
            exchange = self._request(method, self.url, headers={**self._auth(), "Range": header})
            self._judge(invariants.check_media(exchange, self.file, header), f"{method} Range: {header!r}",
                        f"{method} stream")

        methods = st.sampled_from(["GET", "GET", "GET", "HEAD"])
        self._explore("ranges", st.tuples(methods, grammar.range_header(self.video.size)), examples, one)

    def conditions(self, examples: int) -> None:
        """If-Match, If-None-Match, If-(Un)Modified-Since and Range together, GET and HEAD,
        built around the validators the stream URL sends (RFC 9110 §13.1, §13.2.2)."""
        plain = self._request("HEAD", self.url, headers=self._auth())
        etag, sent_date = plain.header("ETag"), plain.header("Last-Modified")
        last_modified = preconditions.http_date(sent_date) if sent_date else None
        if etag is None or last_modified is None:
            self.figures.notes.append("conditions: the stream sends no ETag or Last-Modified; no contract to compare")
        around = last_modified or datetime.now(timezone.utc).replace(microsecond=0)

        def one(drawn: tuple[str, dict[str, str]]) -> None:
            method, headers = drawn
            exchange = self._request(method, self.url, headers={**self._auth(), **headers})
            self._judge(invariants.check_conditional(exchange, self.file, headers, etag, last_modified),
                        f"{method} {headers!r}"[:400], f"{method} conditional stream")

        methods = st.sampled_from(["GET", "GET", "HEAD"])
        strategy = st.tuples(methods, grammar.conditions(etag or '"none"', around, self.video.size))
        self._explore("conditions", strategy, examples, one)

    def ids(self, examples: int) -> None:
        """Stream keys and paths (traversal, encodings, very long), sent byte for byte."""
        prefix, _, key = self.url.rpartition("/")
        bases = [prefix]
        if self.target.name == "reference":
            bases.append(self.target.base_url + "/api/sources")
        if self.target.name == "range-server":
            bases.append(self.target.base_url + "/files")

        def one(drawn: tuple[str, str]) -> None:
            base, segment = drawn
            segment = segment.replace("\r", "").replace("\n", "").replace(" ", "%20")
            path = urlsplit(base).path + "/" + segment.encode("utf-8", "surrogatepass").decode("latin-1")
            host = "%s:%d" % raw.host_port(base)
            exchange = raw.send(base, raw.request_bytes("GET", path, host, self._auth()))
            self.figures.requests += 1
            problems = invariants.check_api(exchange)
            if exchange.status in (200, 206) and b"root:x:0:0" in exchange.body:   # /etc/passwd (a 404 may echo the name)
                problems.append(Problem(invariants.SERVER_ERROR, "served a file outside its media", path[:200]))
            self._judge(problems, f"GET {path[:300]!r}", f"GET {urlsplit(base).path}/<id>")

        known = [key, key.upper(), self.video.info_hash, self.video.main_file]
        strategy = st.tuples(st.sampled_from(bases), grammar.path_segment(known))
        self.figures.notes.append("ids: keys under " + ", ".join(urlsplit(b).path + "/" for b in bases))
        self._explore("ids", strategy, examples, one)

    def json_bodies(self, examples: int) -> None:
        """Every JSON endpoint of the reference API, with hostile bodies and content types."""
        base = self.target.base_url
        source_id = self.target.source_id(self.client, self.video)
        magnets = st.sampled_from([self.video.magnet, self.large.magnet])
        fields = {
            "login": ("/api/auth/login", {"email": st.just(self.credentials.get("email", "")),
                                          "password": st.text(max_size=30)}),
            "sources": ("/api/sources", {"magnetUri": magnets, "quality": st.text(max_size=10),
                                         "resolution": st.one_of(st.integers(-1, 70000), st.text(max_size=10)),
                                         "size": st.integers(0, 2**40),
                                         "videoCodec": st.text(max_size=10)}),
            "stream-token": (f"/api/sources/{source_id}/stream-token", {"expiresIn": st.integers(1, 600)}),
            "metadata": ("/api/torrents/metadata", {"magnetUri": magnets}),
        }

        def one(drawn: tuple[str, bytes, str]) -> None:
            name, body, content_type = drawn
            path = fields[name][0]
            headers = {} if name == "login" else self._auth()
            if content_type:
                headers["Content-Type"] = content_type
            exchange = self._request("POST", base + path, headers=headers, data=body)
            self._judge(invariants.check_api(exchange), f"POST {path} ({content_type}) {body[:300]!r}",
                        f"POST {fields[name][0].replace(source_id, '<id>')}")

        strategy = st.sampled_from(JSON_ENDPOINTS).flatmap(lambda name: st.tuples(
            st.just(name), grammar.json_body(fields[name][1]), grammar.content_types()))
        self._explore("json", strategy, examples, one)

    def hostile_clients(self, rounds: int) -> None:
        """Oversized requests, trickled requests, readers that never read, half-open connections."""
        path, auth = urlsplit(self.url).path, self._auth()
        large_path = urlsplit(self.large_url).path
        for _ in range(rounds):
            for refusal in raw.oversized(self.url, path, auth):
                self.figures.requests += 1
                self.figures.refusals[f"{refusal.label}: {refusal.outcome}"] += 1
                # a refusal is judged on its status only: a server may close (even reset) the
                # connection after refusing a request it did not read to the end
                if refusal.outcome != "closed":
                    answer = refusal.exchange
                    if answer.status is not None:
                        answer = dataclasses.replace(answer, error=None)
                    self._judge(invariants.check_api(answer), refusal.label, "oversized request")
            for exchange in raw.trickled(self.url, path, {**auth, "Range": "bytes=100-1099"}, TRICKLE_DELAY, 3):
                self.figures.requests += 1
                self._judge(invariants.check_media(exchange, self.file), "a request trickled a byte at a time")
            openings = raw.non_reading_openings(self.large_url, large_path, auth, 16)
            self.figures.requests += raw.held_open(self.large_url, openings, 2.0, lambda: self._probe("16 readers that never read"))
            openings = raw.half_open_openings(self.url, path, 150)
            self.figures.requests += raw.held_open(self.url, openings, 2.0, lambda: self._probe("150 half-open connections"))
            self.figures.examples["hostile clients"] += 1

    def _probe(self, while_what: str) -> bool:
        """A small range of the small video must come back right, and fast."""
        exchange = self.client.request("GET", self.url, headers={**self._auth(), "Range": "bytes=0-99"},
                                       record=False, read_timeout=PROBE_TIMEOUT, deadline=PROBE_TIMEOUT)
        self.figures.requests += 1
        problems = invariants.check_media(exchange, self.file)
        if exchange.status != 206 and not problems:
            problems = [Problem(invariants.NO_ANSWER, f"bytes=0-99 answered {exchange.status}", "")]
        self._judge([Problem(p.kind, f"{p.signature} while {while_what}", p.detail) for p in problems], while_what)
        return not problems

    # -- the whole run --------------------------------------------------------------------

    def warm_up(self) -> None:
        """Every byte the campaign will ask for, once, before the baseline: the backend
        fetches pieces and fills its cache the first time, which is not a leak."""
        for url, size in ((self.url, self.video.size), (self.large_url, self.large.size)):
            exchange = self._request("GET", url, headers=self._auth(), deadline=120)
            if exchange.status != 200 or len(exchange.body) != size:
                raise RuntimeError(f"warm-up: GET {url} answered {exchange.status} with {len(exchange.body)} "
                                   f"bytes, not 200 with {size}: {exchange.error or exchange.body[:200]!r}")
        self.client.close()
        self.client = Client()

    def usage(self) -> procstat.Usage | None:
        if self.pid is None:
            return None
        try:
            return procstat.usage(self.pid, must_exist=True)
        except ProcessLookupError:
            return None

    def run(self, examples: int, hostile_rounds: int | None = None) -> Figures:
        started = clock.monotonic()
        self.warm_up()
        self.figures.before = self.usage()
        if self.pid is None:
            self.figures.notes.append("no pid for the target's service: no RSS/fd figures")
        api = self.target.name == "reference"
        share = {"ranges": 0.5, "conditions": 0.1, "ids": 0.2, "json": 0.2} if api else \
            {"ranges": 0.65, "conditions": 0.1, "ids": 0.25}
        # paths last: a server a malformed path brings down has then been judged on the rest
        self.ranges(int(examples * share["ranges"]))
        self.conditions(int(examples * share["conditions"]))
        self.hostile_clients(hostile_rounds if hostile_rounds is not None else max(1, examples // 2500))
        if api:
            self.json_bodies(int(examples * share["json"]))
        self.ids(int(examples * share["ids"]))
        self.client.close()
        self.client = Client()
        self.figures.after = self._settled()
        if self.pid is not None and self.figures.after is None:
            self.figures.notes.append(f"the target's process (pid {self.pid}) exited during the campaign")
        self.figures.healthy_after = self._probe("after the campaign") and (self.pid is None or self.usage() is not None)
        self.client.close()
        self.figures.seconds = clock.monotonic() - started
        return self.figures

    def _settled(self) -> procstat.Usage | None:
        """Usage once closed connections had time to be released (at most SETTLE_S)."""
        before = self.figures.before
        deadline = clock.deadline(SETTLE_S)
        current = self.usage()
        while before and current and current.fds > before.fds + FD_SLACK and not deadline.expired():
            clock.sleep(0.25)
            current = self.usage()
        return current
