"""The figures a run measured, for people: printed at the end of the run, written to
`<reports>/figures.json` and attached to the report. Besides each scenario's own
figures, the stall detector's verdict over every stream exchange of the run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infra.suite import redact
from infra.suite.http import Exchange


def is_stream(exchange: Exchange) -> bool:
    """An answer that carries media: a video body or a part of one."""
    kind = (exchange.header("Content-Type") or "").lower()
    return exchange.status in (200, 206) and (kind.startswith("video/") or kind.startswith("multipart/byteranges"))


@dataclass
class StallWatch:
    """The longest pause between two chunks of a body over every stream exchange of the run."""

    exchanges: int = 0
    longest: float = 0.0
    where: str = ""

    def observe(self, exchange: Exchange) -> None:
        if not is_stream(exchange):
            return
        self.exchanges += 1
        if exchange.longest_pause is not None and exchange.longest_pause > self.longest:
            self.longest = exchange.longest_pause
            self.where = f"{exchange.label} at body offset {exchange.longest_pause_at}"

    def as_dict(self) -> dict:
        return {"stream exchanges": self.exchanges, "longest pause between two body chunks (s)": round(self.longest, 4),
                "where": redact.text(self.where)}


def write(path: Path, target: str, notes: dict, stalls: StallWatch, versions: dict[str, str]) -> dict:
    data = {"target": target, "scenarios": notes, "stalls": stalls.as_dict(), "versions": versions}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return data


def lines(notes: dict, stalls: StallWatch, versions: dict[str, str]) -> list[str]:
    out = [f"  {scenario}: {name} = {value}" for scenario, figures in notes.items() for name, value in figures.items()]
    if stalls.exchanges:
        out.append(f"  every stream exchange ({stalls.exchanges}): longest pause between two body chunks = "
                   f"{stalls.longest:.4f} s ({redact.text(stalls.where)})")
    out += [f"  version: {name} {value}" for name, value in versions.items()]
    return out
