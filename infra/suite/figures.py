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


def lines(data: dict) -> list[str]:
    """The figures of one run (as `write` saved them), one per line, for the console."""
    out = [f"Performance figures ({data['target']}):"]
    out += [f"  {scenario.strip()}: {name} = {value}" for scenario, figures in data["scenarios"].items()
            for name, value in figures.items()]
    stalls = data["stalls"]
    if stalls["stream exchanges"]:
        out.append(f"  every stream exchange ({stalls['stream exchanges']}): longest pause between two body chunks = "
                   f"{stalls['longest pause between two body chunks (s)']} s ({stalls['where']})")
    out += [f"  version: {name} {value}" for name, value in data["versions"].items()]
    return out


def main(argv: list[str]) -> int:
    """python -m infra.suite.figures <reports>/figures.json: print a run's figures (the
    console formatter captures what behave's hooks print, so the run script prints them)."""
    path = Path(argv[0]) if argv else Path("reports/figures.json")
    if not path.exists():
        print(f"[figures] no {path}: the run did not get to its end")
        return 0
    print("\n".join(lines(json.loads(path.read_text()))))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
