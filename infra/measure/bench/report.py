"""The run as people read it: a side-by-side table per condition (median and min–max of
each figure, the physical limit next to it), the reference backend's targets as ratios,
and a chart (PNG, matplotlib)."""

from __future__ import annotations

from pathlib import Path

from infra.measure.bench.figures import BY_KEY, FIGURES, FILE_SERVER, REFERENCE, Condition, Verdict, judge


def _fmt(value: float | None, scale: float = 1.0) -> str:
    if value is None:
        return "–"
    shown = value * scale
    return f"{shown:.0f}" if abs(shown) >= 100 else f"{shown:.1f}" if abs(shown) >= 10 else f"{shown:.2f}"


def cell(condition: Condition, figure: str, server: str) -> str:
    spread = condition.spread(figure, server)
    if spread is None:
        return "–"
    fig = BY_KEY[figure]
    low, mid, high = spread
    text = f"{_fmt(condition.value(figure, server), fig.scale)} ({_fmt(low, fig.scale)}–{_fmt(high, fig.scale)})"
    if figure == "full_get" and mid:
        text += f" {condition.size / mid / 1e6:.0f} MB/s"
    return text


def table(condition: Condition, servers: list[str]) -> str:
    """Markdown: one row per figure; the limit column is bytes needed ÷ swarm rate."""
    head = ["figure", "transfer limit"] + servers
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fig in FIGURES:
        if fig.key not in condition.samples:
            continue
        title = fig.title.replace("viewers at once", f"{condition.viewers} viewers at once")
        limit = condition.transfer_limit(fig.key)
        limit_text = "–" if limit is None else _fmt(limit, fig.scale)
        if limit is not None and fig.key == "full_get":
            limit_text += f" ({condition.rate / 1e6:g} MB/s)" if condition.rate else \
                f" (libtorrent alone, {condition.size / limit / 1e6:.0f} MB/s)"
        rows.append("| " + " | ".join([f"{title} ({fig.display_unit})", limit_text] +
                                      [cell(condition, fig.key, s) for s in servers]) + " |")
    return "\n".join(rows)


def verdict_lines(verdicts: list[Verdict]) -> list[str]:
    lines = []
    for v in verdicts:
        mark = {True: "met", False: "NOT met", None: "not measured"}[v.met]
        fig = BY_KEY[v.goal.figure]
        ratio = "–" if v.ratio is None else f"{v.ratio:.2f}×"
        lines.append(f"- [{mark}] {v.condition}: {v.goal.describe()}: reference {_fmt(v.value, fig.scale)} "
                     f"{fig.display_unit} vs {_fmt(v.basis, fig.scale)} → {ratio}")
    return lines


def text(conditions: list[Condition], servers: list[str], header: str) -> str:
    parts = [header]
    for condition in conditions:
        parts += ["", f"### {condition.label} ({condition.video}, {condition.size / 1e6:.1f} MB; "
                      f"{FILE_SERVER} = the limit on loopback)", "", table(condition, servers)]
    parts += ["", "### Targets (ratios within this run)", ""]
    for condition in conditions:
        parts += verdict_lines(judge(condition))
    parts += ["", "### The reference backend against the transfer limit", ""]
    for condition in conditions:
        for fig in ("cold_first_byte", "cold_seek", "full_get"):
            value, limit = condition.value(fig, REFERENCE), condition.transfer_limit(fig)
            if value is not None and limit:
                parts.append(f"- {condition.label}: {BY_KEY[fig].title}: {value / limit:.2f}× the transfer limit")
    return "\n".join(parts)


def chart(conditions: list[Condition], servers: list[str], path: Path) -> None:
    """One panel per figure and condition: a bar per server (median, min–max whiskers),
    the transfer limit as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")   # no display: files only
    import matplotlib.pyplot as plt

    figures = [f for f in FIGURES if any(f.key in c.samples for c in conditions)]
    colours = {FILE_SERVER: "#9e9e9e", "webtorrent": "#1f77b4", "peerflix": "#ff7f0e", REFERENCE: "#2ca02c"}
    fig, axes = plt.subplots(len(figures), len(conditions), figsize=(3.6 * len(conditions), 2.2 * len(figures)),
                             squeeze=False)
    for col, condition in enumerate(conditions):
        for row, figure in enumerate(figures):
            ax = axes[row][col]
            medians, lows, highs = [], [], []
            for server in servers:
                spread = condition.spread(figure.key, server) or (0.0, 0.0, 0.0)
                mid = condition.value(figure.key, server) or 0.0
                medians.append(mid * figure.scale)
                lows.append(max(0.0, mid - spread[0]) * figure.scale)
                highs.append(max(0.0, spread[2] - mid) * figure.scale)
            ax.bar(range(len(servers)), medians, yerr=[lows, highs], capsize=3,
                   color=[colours.get(s, "#8c564b") for s in servers])
            limit = condition.transfer_limit(figure.key)
            if limit is not None:
                ax.axhline(limit * figure.scale, linestyle="--", color="black", linewidth=1, label="transfer limit")
                ax.legend(fontsize=6, loc="upper left")
            ax.set_xticks(range(len(servers)), [s.replace(" ", "\n") for s in servers], fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_ylabel(figure.display_unit, fontsize=7)
            title = figure.title.replace("viewers at once", f"{condition.viewers} viewers")
            ax.set_title(f"{title}\n{condition.label}", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def capacity_table(results, servers: list[str]) -> str:
    """The capacity column of the benchmark (`--capacity`): viewers at once each server
    holds (python -m infra.measure.capacity's knee), with the p95 range latency there."""
    by_label = {("file server" if r.target == "range-server" else r.target): r for r in results}
    cells = []
    for server in servers:
        result = by_label.get(server)
        if result is None:
            cells.append("–")
            continue
        top = next((lv for lv in result.levels if lv.viewers == result.capacity), None)
        shown = f"{result.capacity}" if result.failed_level else f"≥ {result.capacity}"
        cells.append(shown + (f" (p95 {top.range_p95:.0f} ms)" if top and top.range_p95 is not None else ""))
    return ("| figure | " + " | ".join(servers) + " |\n|" + "---|" * (len(servers) + 1) + "\n"
            "| capacity: viewers at once, warm | " + " | ".join(cells) + " |")
