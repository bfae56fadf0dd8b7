"""A real player for one scenario: the suite's page (its own origin) in the run's
Chromium, a `<video>` element or a fetch-based range reader pointed at the target's
stream URL, and a record of what the browser sent (Playwright's request events for the
Range headers, the DevTools protocol for CORS preflights, which Playwright does not
report) and of what the player saw (its event timeline, a screenshot).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass

from infra.suite import redact
from infra.suite.browser.chromium import Chromium
from infra.suite.browser.page_server import PageServer
from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef
from infra.suite.targets import Target

#: How long the page waits for one thing (canplay, a frame, seeked, a fetch) before
#: the step fails naming it; budgets are checked separately, with their own numbers.
PLAYER_DEADLINE_MS = 30_000


class PlayerFailed(AssertionError):
    """The browser's player did not do what the step needed (the message says what it
    waited for, and the last events it saw)."""


@dataclass
class BrowserRequest:
    method: str
    url: str                   # redacted
    range: str | None
    resource_type: str         # media, fetch, preflight, document, ...
    status: int | None = None
    allow_headers: str | None = None   # a preflight answer's Access-Control-Allow-Headers
    allow_origin: str | None = None
    failure: str | None = None


def stream_url_for_browser(target: Target, client: Client, video: VideoRef) -> str:
    """The URL a `<video>` element can play: the target's stream URL, with a stream token
    in `?token=` when the target's viewers need credentials (an element sends no headers)."""
    url = target.stream_url(client, video)
    if not target.auth_headers(client):
        return url
    token = target.stream_token(client, target.source_id(client, video))
    return f"{url}{'&' if '?' in url else '?'}token={token}"


def fetched_exchange(answer: dict) -> Exchange:
    """A fetch the page made, as the suite's matchers read exchanges (body compared byte for byte)."""
    exchange = Exchange("GET", f"(browser fetch) {answer.get('url', '')}", {"Range": answer["range"]},
                        status=answer.get("status"), body=answer.get("body", b""), error=answer.get("error"))
    exchange.headers = {k: v for k, v in (("Content-Range", answer.get("contentRange")),
                                          ("Content-Length", answer.get("contentLength"))) if v is not None}
    return exchange


class BrowserPlayer:
    def __init__(self, chromium: Chromium) -> None:
        self.server = PageServer()
        self.requests: list[BrowserRequest] = []
        self._by_request: dict[object, BrowserRequest] = {}
        self._preflights: dict[str, BrowserRequest] = {}
        self.page = None
        try:
            self.page = chromium.new_page()
            self.page.on("request", self._on_request)
            self.page.on("response", lambda response: self._answered(response.request, response.status))
            self.page.on("requestfailed", lambda request: self._failed(request))
            self.cdp = chromium.context.new_cdp_session(self.page)
            self.cdp.send("Network.enable")
            self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})   # every read reaches the target
            self.cdp.on("Network.requestWillBeSent", self._on_cdp_request)
            self.cdp.on("Network.responseReceived", self._on_cdp_response)
            self.page.goto(self.server.url)
        except BaseException:
            self.close()
            raise

    # -- what the browser sent --------------------------------------------------------------

    def _on_request(self, request) -> None:
        if request.url.startswith(self.server.origin):
            return
        record = BrowserRequest(request.method, redact.text(request.url), request.headers.get("range"),
                                request.resource_type)
        self._by_request[request] = record
        self.requests.append(record)

    def _answered(self, request, status: int) -> None:
        if request in self._by_request:
            self._by_request[request].status = status

    def _failed(self, request) -> None:
        if request in self._by_request:
            self._by_request[request].failure = request.failure

    def _on_cdp_request(self, event: dict) -> None:
        request = event.get("request", {})
        if request.get("method") == "OPTIONS" and not request.get("url", "").startswith(self.server.origin):
            record = BrowserRequest("OPTIONS", redact.text(request["url"]), None, "preflight")
            self._preflights[event["requestId"]] = record
            self.requests.append(record)

    def _on_cdp_response(self, event: dict) -> None:
        record = self._preflights.get(event.get("requestId"))
        if record is not None:
            response = event.get("response", {})
            headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
            record.status = response.get("status")
            record.allow_headers = headers.get("access-control-allow-headers")
            record.allow_origin = headers.get("access-control-allow-origin")

    def ranges_sent(self) -> list[str]:
        """The Range headers of the media and fetch requests, in the order they went out."""
        return [r.range or "(none)" for r in self.requests if r.resource_type in ("media", "fetch")]

    def range_starts(self) -> list[int]:
        """Where each `bytes=N-…` range the browser asked for starts."""
        starts = []
        for value in self.ranges_sent():
            first = value.partition("=")[2].partition("-")[0].strip()
            if value.startswith("bytes=") and first.isdigit():
                starts.append(int(first))
        return starts

    def preflights(self) -> list[BrowserRequest]:
        return [r for r in self.requests if r.resource_type == "preflight"]

    # -- what the player does ---------------------------------------------------------------

    def _call(self, function: str, *args: object):
        from playwright.sync_api import Error as PlaywrightError

        try:
            return self.page.evaluate(f"(args) => swarmspec.{function}(...args)", list(args))
        except PlaywrightError as exc:
            message = str(exc).split("\n", 1)[0].replace("Page.evaluate: ", "")
            last = [f"{e['event']}@{e['ms']}ms t={e['currentTime']:.2f}" for e in self.timeline()[-8:]]
            raise PlayerFailed(f"the browser's player: {redact.text(message)}; last events: {', '.join(last) or 'none'}; "
                               f"ranges sent: {', '.join(self.ranges_sent()) or 'none'}") from None

    def play(self, url: str, crossorigin: bool = False, advance: float = 1.0) -> dict:
        """canplay, a first presented frame, then `advance` seconds of playback (page times in ms)."""
        return self._call("play", url, crossorigin, PLAYER_DEADLINE_MS, advance)

    def seek(self, fraction: float) -> dict:
        """`seeked`, then a frame presented at the seek point."""
        return self._call("seek", fraction, PLAYER_DEADLINE_MS)

    def draw(self) -> dict:
        return self._call("draw")

    def read_ranges(self, url: str, headers: dict[str, str], ranges: list[str]) -> list[dict]:
        """Each range fetched cross-origin with `headers`; bodies come back as bytes."""
        answers = self._call("readRanges", url, headers, ranges, PLAYER_DEADLINE_MS)
        for answer in answers:
            answer["url"] = redact.text(url)
            if "bodyBase64" in answer:
                answer["body"] = base64.b64decode(answer.pop("bodyBase64"))
        return answers

    def timeline(self) -> list[dict]:
        try:
            return self.page.evaluate("() => swarmspec.timeline")
        except Exception:   # a crashed or closed page has no timeline left to show
            return []

    def screenshot(self) -> bytes:
        return self.page.screenshot()

    def evidence(self) -> dict:
        return {"requests": [asdict(r) for r in self.requests], "ranges_sent": self.ranges_sent()}

    def close(self) -> None:
        try:
            if self.page is not None:
                self.page.close()
        finally:
            self.server.close()
