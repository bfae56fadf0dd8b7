// The suite's player page: a <video> element and a fetch-based range reader, driven by
// infra/suite/browser/player.py through Playwright. Every wait has a deadline (a
// rejected promise names what did not happen), since page.evaluate itself has none.
"use strict";

const EVENTS = ["loadstart", "loadedmetadata", "loadeddata", "canplay", "canplaythrough", "play", "playing",
                "waiting", "stalled", "seeking", "seeked", "timeupdate", "ended", "error", "abort", "emptied"];

const swarmspec = {
  video: null,
  origin: 0,            // performance.now() when the source was set
  timeline: [],         // [{event, ms, currentTime, readyState, networkState}]

  status(text) { document.getElementById("status").textContent = text; },

  now() { return performance.now() - this.origin; },

  record(event) {
    const v = this.video;
    if (event === "timeupdate" && this.timeline.filter(e => e.event === "timeupdate").length > 40) return;
    this.timeline.push({event, ms: Math.round(this.now() * 10) / 10, currentTime: v.currentTime,
                        readyState: v.readyState, networkState: v.networkState,
                        error: v.error ? `code ${v.error.code}: ${v.error.message}` : undefined});
  },

  // Resolves with the first matching event, rejects on a media error or after `ms`.
  until(what, ms, test) {
    const v = this.video;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${what} within ${ms} ms (readyState ${v.readyState}, currentTime ${v.currentTime})`)); }, ms);
      const onError = () => { cleanup(); reject(new Error(`media error while waiting for ${what}: ${v.error ? "code " + v.error.code + " " + v.error.message : "unknown"}`)); };
      const check = () => { if (!test || test()) { cleanup(); resolve(this.now()); } };
      const cleanup = () => { clearTimeout(timer); v.removeEventListener(what, check); v.removeEventListener("error", onError); };
      v.addEventListener(what, check);
      v.addEventListener("error", onError);
    });
  },

  // The next frame the compositor presents, with its media time (requestVideoFrameCallback).
  nextFrame(ms, minMediaTime) {
    const v = this.video;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame presented at or after ${minMediaTime}s within ${ms} ms`)), ms);
      const ask = () => v.requestVideoFrameCallback((now, meta) => {
        if (meta.mediaTime + 0.05 < minMediaTime) { ask(); return; }
        clearTimeout(timer);
        resolve({ms: Math.round((now - this.origin) * 10) / 10, mediaTime: meta.mediaTime,
                 presentedFrames: meta.presentedFrames, width: meta.width, height: meta.height});
      });
      ask();
    });
  },

  // Play `url` in a fresh <video>: canplay, a presented frame, then currentTime moving by `advance` s.
  async play(url, crossorigin, deadlineMs, advance) {
    const stage = document.getElementById("stage");
    stage.innerHTML = "";
    const v = document.createElement("video");
    v.muted = true; v.playsInline = true; v.preload = "auto";
    if (crossorigin) v.crossOrigin = "anonymous";
    stage.appendChild(v);
    this.video = v; this.timeline = [];
    for (const name of EVENTS) v.addEventListener(name, () => this.record(name));
    this.status(`loading (crossorigin=${crossorigin ? "anonymous" : "none"})`);
    this.origin = performance.now();
    const canplay = this.until("canplay", deadlineMs);
    const firstFrame = this.nextFrame(deadlineMs, 0);
    v.src = url;
    const canplayMs = await canplay;
    await v.play();
    const frame = await firstFrame;
    const start = v.currentTime;
    await this.until("timeupdate", deadlineMs, () => v.currentTime - start >= advance);
    this.status(`playing ${v.videoWidth}x${v.videoHeight}, ${v.currentTime.toFixed(2)} s of ${v.duration} s`);
    return {canplayMs, firstFrame: frame, advancedFrom: start, advancedTo: v.currentTime, duration: v.duration,
            width: v.videoWidth, height: v.videoHeight};
  },

  // Seek to `fraction` of the duration: `seeked`, then a frame presented there.
  async seek(fraction, deadlineMs) {
    const v = this.video;
    const target = v.duration * fraction;
    const started = this.now();
    const seeked = this.until("seeked", deadlineMs);
    const frame = this.nextFrame(deadlineMs, target - 0.5);
    v.currentTime = target;
    const seekedMs = await seeked;
    const shown = await frame;
    this.status(`seeked to ${target.toFixed(2)} s, frame at ${shown.mediaTime.toFixed(3)} s`);
    return {target, startedMs: started, seekedAfterMs: seekedMs - started, frameAfterMs: shown.ms - started, frame: shown};
  },

  // Draw the current frame on a canvas and count pixels that are not near-black: works
  // only when CORS lets the page read the video (else the canvas is tainted).
  draw() {
    const v = this.video;
    const canvas = document.createElement("canvas");
    canvas.width = 160; canvas.height = 90;
    const g = canvas.getContext("2d");
    g.drawImage(v, 0, 0, canvas.width, canvas.height);
    try {
      const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let lit = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] > 48) lit++;
      return {readable: true, litPixels: lit, pixels: canvas.width * canvas.height};
    } catch (e) {
      return {readable: false, error: `${e.name}: ${e.message}`};
    }
  },

  // What a Media Source Extensions player does: fetch ranges cross-origin with its own
  // headers (Authorization makes the browser send a CORS preflight first).
  async readRanges(url, headers, ranges, deadlineMs) {
    const out = [];
    for (const range of ranges) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), deadlineMs);
      const started = performance.now();
      try {
        const r = await fetch(url, {headers: {...headers, Range: range}, mode: "cors", signal: controller.signal});
        const body = new Uint8Array(await r.arrayBuffer());
        let binary = "";
        for (let i = 0; i < body.length; i += 0x8000) binary += String.fromCharCode.apply(null, body.subarray(i, i + 0x8000));
        out.push({range, status: r.status, contentRange: r.headers.get("Content-Range"),
                  acceptRanges: r.headers.get("Accept-Ranges"), contentLength: r.headers.get("Content-Length"),
                  bodyBase64: btoa(binary), ms: Math.round(performance.now() - started)});
      } catch (e) {
        out.push({range, error: `${e.name}: ${e.message}`, ms: Math.round(performance.now() - started)});
      } finally {
        clearTimeout(timer);
      }
    }
    return out;
  },
};
window.swarmspec = swarmspec;
