"""A job's report: kept in the XDG state directory once the monitor saw it end (the Jobs
screen lists it after a restart, when the cluster has forgotten the job), and exported as
JSON or as one self-contained HTML page, its per-node throughput drawn as SVG (no script, no
network: it opens from a ticket). Pure functions on the plain data of
:meth:`~aisetl_tui.job_view.JobView.summary`."""

from __future__ import annotations

import json
import os
import re
from html import escape
from pathlib import Path
from typing import Any

from .rates import human_bytes
from .widgets.chart import node_colour

KEPT = 200  # reports kept in the state directory (the oldest go)
_XID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHART_W, CHART_H, PAD = 720, 240, 40


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "aisetl-tui" / "jobs"


def _kept_path(xid: str, where: Path | None) -> Path:
    """Where job ``xid``'s report is kept. A job ID is the cluster's word: one that is not an
    ID's letters (``../``) is refused, so it cannot name a file elsewhere."""
    if not _XID.fullmatch(xid):
        raise ValueError(f"not a job ID: {xid!r}")
    return (where or state_dir()) / f"{xid}.json"


def keep(report: dict[str, Any], where: Path | None = None) -> Path:
    """Save ``report`` (a job's summary) among the kept ones, and let the oldest go past
    :data:`KEPT`. Written whole or not at all."""
    path = _kept_path(report["xid"], where)
    where = path.parent
    where.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report))
    tmp.replace(path)
    kept = sorted(where.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in kept[:-KEPT]:
        old.unlink(missing_ok=True)
    return path


def kept_reports(where: Path | None = None) -> dict[str, dict[str, Any]]:
    """The kept reports by job ID (each says the ``endpoint`` of its cluster); one that
    cannot be read is skipped."""
    reports = {}
    for path in (where or state_dir()).glob("*.json"):
        try:
            report = json.loads(path.read_text())
            reports[str(report["xid"])] = report
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return reports


def kept_report(xid: str, where: Path | None = None) -> dict[str, Any] | None:
    """Job ``xid``'s kept report, if there is one that can be read."""
    try:
        report = json.loads(_kept_path(xid, where).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("xid") == xid else None


EXPORT_QUESTION = "Export the job's report (HTML, or JSON for a .json name) to:"


def report_file(report: dict[str, Any], path: Path) -> str:
    """What an export of ``report`` to ``path`` writes: JSON for a ``.json`` name, else
    the HTML page."""
    return report_json(report) if path.suffix.lower() == ".json" else report_html(report)


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1) + "\n"


def _chart_svg(throughput: dict[str, Any]) -> str:
    """The nodes' objects/s over time, stacked, with the total on top and axes in their
    units: the monitor's chart, drawn for a page."""
    series: dict[str, list[float]] = throughput.get("nodes") or {}
    length = max((len(v) for v in series.values()), default=0)
    if length < 2:
        return "<p>(too short a job for a chart)</p>"
    step = float(throughput.get("seconds_per_sample") or 1.0)
    totals = [sum(v[i] if i < len(v) else 0.0 for v in series.values()) for i in range(length)]
    top = max(totals) or 1.0
    w, h = CHART_W - 2 * PAD, CHART_H - 2 * PAD

    def x(i: int) -> float:
        return PAD + w * i / (length - 1)

    def y(v: float) -> float:
        return PAD + h * (1 - v / top)

    parts, below = [], [0.0] * length
    for n, (target, values) in enumerate(sorted(series.items())):
        above = [below[i] + (values[i] if i < len(values) else 0.0) for i in range(length)]
        points = [f"{x(i):.1f},{y(above[i]):.1f}" for i in range(length)]
        points += [f"{x(i):.1f},{y(below[i]):.1f}" for i in reversed(range(length))]
        parts.append(f'<polygon points="{" ".join(points)}" fill="{node_colour(n)}" '
                     f'fill-opacity="0.75"><title>{escape(target)}</title></polygon>')
        below = above
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(totals))
    parts.append(f'<polyline points="{line}" fill="none" stroke="black" stroke-width="1.5">'
                 "<title>total</title></polyline>")
    axes = (f'<line x1="{PAD}" y1="{PAD + h}" x2="{PAD + w}" y2="{PAD + h}" stroke="gray"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{PAD + h}" stroke="gray"/>'
            f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end" font-size="11">{top:,.0f}'
            f'</text><text x="{PAD - 4}" y="{PAD + h}" text-anchor="end" font-size="11">0'
            f'</text><text x="{PAD + w}" y="{PAD + h + 16}" text-anchor="end" font-size="11">'
            f'{(length - 1) * step:,.0f} s</text><text x="{PAD}" y="{PAD - 10}" '
            f'font-size="11">objects/s</text>')
    legend = "".join(
        f'<tspan fill="{node_colour(n)}">■ </tspan><tspan>{escape(t)}  </tspan>'
        for n, t in enumerate(sorted(series)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{CHART_H + 20}"'
            f' role="img" aria-label="throughput per node">{axes}{"".join(parts)}'
            f'<text x="{PAD}" y="{CHART_H + 12}" font-size="11">{legend}</text></svg>')


def report_html(report: dict[str, Any]) -> str:
    """One page: what the job was and did, per node, its errors by kind, the chart."""
    r = report
    took = f"{r['seconds']:,.1f} s" if r.get("seconds") is not None else "(still running)"
    retry = [("retry of", r["parent"])] if r.get("parent") else []
    facts = [("job", f"{r['kind']}[{r['xid']}]"), *retry, ("ETL", r.get("etl") or "?"),
             ("from → to", f"ais://{r['src']} → ais://{r['dst']}"), ("state", r["state"]),
             ("started", r["started"]), ("ended", r.get("ended") or ""), ("took", took),
             ("objects", f"{r['objects']:,} ({r['failed']:,} failed)"),
             ("read", ("" if r["bytes_read_exact"] else "~") + human_bytes(r["bytes_read"])),
             ("written", human_bytes(r["bytes_written"])),
             ("average", f"{r['objects_per_s']:,.1f} objects/s · in "
                         f"{r['read_bytes_per_s'] / 1e6:,.2f} MB/s · out "
                         f"{r['written_bytes_per_s'] / 1e6:,.2f} MB/s"),
             ("slowest node", r.get("slowest") or "")]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts)
    nodes = "".join(
        f"<tr><td>{escape(n['target'])}</td><td>{n['objects']:,}</td>"
        f"<td>{human_bytes(n['bytes_read'])}</td><td>{human_bytes(n['bytes_written'])}</td>"
        f"<td>{n['objects_per_s']:,.1f}</td><td>{n['read_bytes_per_s'] / 1e6:,.2f}</td></tr>"
        for n in r["nodes"])
    errors = "".join(
        f"<tr><td>{e['count']:,}</td><td>{escape(e['pattern'])}</td>"
        f"<td>{escape(', '.join(e['examples']))}</td></tr>" for e in r["errors"])
    unlisted = r["failed"] - sum(e["count"] for e in r["errors"])
    note = (f"<p>{unlisted:,} of the {r['failed']:,} failures are not listed: AIStore lists "
            "at most 128 per target.</p>") if errors and unlisted > 0 else ""
    errors_part = (f"<h2>Errors by kind</h2>{note}<table><tr><th>count</th><th>error</th>"
                   f"<th>for example</th></tr>{errors}</table>") if errors else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>job {escape(r['xid'])}: {escape(r.get('etl') or '')}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ text-align: left; padding: 2px 12px 2px 0; vertical-align: top; }}
h1 {{ font-size: 1.3em; }} h2 {{ font-size: 1.1em; }}
</style></head><body>
<h1>Job {escape(r['xid'])}: {escape(r.get('etl') or '')}</h1>
<table>{rows}</table>
<h2>Per node</h2>
<table><tr><th>target</th><th>objects</th><th>read</th><th>written</th><th>objects/s</th>
<th>MB/s in</th></tr>{nodes}</table>
<h2>Throughput per node</h2>
{_chart_svg(r.get('throughput') or {})}
{errors_part}
<p><small>aisetl-tui job report</small></p>
</body></html>
"""
