"""The campaign report (CONTRACT §6) as one self-contained HTML page: no script, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from html import escape

from shared.communes import commune_names
from shared.daily import Day
from shared.report import ReportBundle, Row, Window

# The page loads nothing: a saved copy looks the same offline, and a stray URL in data can't leak.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CLEAN, _SYNC, _RECEIVED = "#2f9e44", "#1c7ed6", "#868e96"
_TARGET, _DEADLINE = "#e8590c", "#c92a2a"
_STYLE = """
body{font:14px/1.4 "DejaVu Sans",Arial,sans-serif;color:#212529;margin:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta,.note{color:#6c757d;font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(110px,1fr));gap:8px;margin:0}
.tiles div{border:1px solid #dee2e6;border-radius:6px;padding:8px 10px}
.tiles dt{color:#6c757d;font-size:12px} .tiles dd{margin:0;font-size:20px;font-weight:bold}
table{border-collapse:collapse} th,td{padding:3px 10px;border-bottom:1px solid #e9ecef}
th{text-align:left;background:#f1f3f5} td.n{text-align:right;font-variant-numeric:tabular-nums}
tfoot td{font-weight:bold;border-top:2px solid #adb5bd}
.reasons{display:flex;gap:40px;flex-wrap:wrap;align-items:flex-start}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
.communes{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.communes figure{margin:0;border:1px solid #dee2e6;border-radius:6px;padding:6px}
.communes figcaption{font-size:11px;line-height:1.3} .communes b{font-size:12px}
.communes svg{display:block;width:100%;height:auto;background:#f8f9fa}
.communes polyline{fill:none;stroke-width:1.5} .communes line{stroke-dasharray:4 3}
"""
# (attribute, label, is a rate): the province tiles and the table's columns, in order.
_CASE_FIGURES = (
    ("cases", "Cases", False),
    ("cases_cleaned", "Cleaned", False),
    ("cases_synced", "Synced", False),
    ("cases_open", "Open", False),
    ("case_clean_rate", "Case clean rate", True),
    ("case_sync_rate", "Case sync rate", True),
    ("target_plots", "Target", False),
    ("target_rate", "Of target", True),
)
_SUBMISSION_FIGURES = (
    ("received", "Received", False),
    ("accepted", "Accepted", False),
    ("synced", "Records synced", False),
    ("rejected", "Rejected", False),
    ("dead_lettered", "Dead-lettered", False),
    ("duplicates", "Duplicates", False),
    ("corrections", "Corrections", False),
    ("clean_rate", "Clean rate", True),
    ("sync_rate", "Sync rate", True),
)
_FIGURES = _CASE_FIGURES + _SUBMISSION_FIGURES
# The charts' lines: (Day attribute, colour, what it counts).
_LINES = (
    ("received_total", _RECEIVED, "received"),
    ("cleaned_total", _CLEAN, "cleaned"),
    ("synced_total", _SYNC, "synced"),
)
_STYLE += "".join(f".communes .{name}{{stroke:{colour}}}" for _, colour, name in _LINES)
_STYLE += f".communes .target{{stroke:{_TARGET}}} .communes .deadline{{stroke:{_DEADLINE}}}\n"
_LABEL_W, _BAR_W, _ROW_H = 230, 560, 30
_BURN_W, _BURN_H, _PAD = 760, 260, 48
_SMALL_W, _SMALL_H = 188, 72  # one commune's chart, in user units (it scales to its cell)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _province(rows: list[Row]) -> Row:
    return next((r for r in rows if r.commune_code is None), Row(None))


def _figure(row: Row, attr: str, *, is_rate: bool) -> str:
    value = getattr(row, attr)
    if is_rate:
        return _rate(value)
    return "—" if value is None else f"{value:,}"


def _tiles(province: Row, figures: tuple[tuple[str, str, bool], ...]) -> str:
    tiles = [(label, _figure(province, attr, is_rate=r)) for attr, label, r in figures]
    cells = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in tiles)
    return f'<dl class="tiles">{cells}</dl>'


def _bar(y: int, rate: float | None, colour: str, what: str) -> str:
    width = round(_BAR_W * (rate or 0))
    return (
        f'<rect x="{_LABEL_W}" y="{y}" width="{width}" height="11" fill="{colour}">'
        f"<title>{_e(what)} {_e(_rate(rate))}</title></rect>"
        f'<text x="{_LABEL_W + width + 4}" y="{y + 10}" font-size="11">{_e(_rate(rate))}</text>'
    )


def _chart(rows: list[Row], names: Mapping[str, str]) -> str:
    """Horizontal bars per commune, clean rate above sync rate, on a 0 to 100 % scale."""
    height = 24 + _ROW_H * len(rows)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LABEL_W + _BAR_W + 60}" '
        f'height="{height}" role="img" aria-label="Clean rate and sync rate by commune" '
        'font-family="DejaVu Sans,Arial,sans-serif">'
    )
    parts = [svg]
    for pct in (0, 25, 50, 75, 100):
        x = _LABEL_W + _BAR_W * pct // 100
        parts.append(f'<line x1="{x}" y1="14" x2="{x}" y2="{height}" stroke="#dee2e6"/>')
        parts.append(f'<text x="{x}" y="10" font-size="10" text-anchor="middle">{pct}%</text>')
    for i, row in enumerate(rows):
        y = 20 + _ROW_H * i
        code = row.commune_code or ""
        label = f"{code} {names.get(code, '')}".strip()
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{_e(label)}</text>')
        parts.append(_bar(y + 2, row.case_clean_rate, _CLEAN, f"{label}: case clean rate"))
        parts.append(_bar(y + 14, row.case_sync_rate, _SYNC, f"{label}: case sync rate"))
    parts.append("</svg>")
    return "".join(parts)


def _cells(row: Row) -> str:
    return "".join(
        f'<td class="n">{_e(_figure(row, attr, is_rate=r))}</td>' for attr, _, r in _FIGURES
    )


def _table(rows: list[Row], province: Row, names: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for _, label, _ in _FIGURES)
    body = "".join(
        f"<tr><td>{_e(r.commune_code)}</td><td>{_e(names.get(r.commune_code or '', ''))}</td>"
        f"{_cells(r)}</tr>"
        for r in rows
    )
    foot = f'<tfoot><tr><td colspan="2">Province</td>{_cells(province)}</tr></tfoot>'
    return (
        f'<table id="commune-table"><thead><tr><th>Code</th><th>Commune</th>{head}'
        f"</tr></thead><tbody>{body}</tbody>"
        f"{foot}</table>"
    )


def _reasons(title: str, table_id: str, counts: Mapping[str, int], what: str = "Records") -> str:
    lines = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    body = "".join(f'<tr><td>{_e(c)}</td><td class="n">{n:,}</td></tr>' for c, n in lines)
    body = body or '<tr><td colspan="2">none</td></tr>'
    return (
        f'<div><h3>{_e(title)}</h3><table id="{table_id}"><thead><tr><th>Reason</th>'
        f"<th>{_e(what)}</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _burnup(days: Sequence[Day], target: int | None, window: Window | None) -> str:
    """The province's cases received, cleaned and synced to date, against target and deadline.

    x is the day (across the window, when one is set), y the number of cases.
    """
    if not days and window is None:
        return '<p class="note">No cases yet.</p>'
    first = min([d.date for d in days] + ([window.starts_on] if window else []))
    last = max([d.date for d in days] + ([window.ends_on] if window else []))
    span = max((last - first).days, 1)
    top = max([target or 0] + [d.received_total for d in days] + [1])
    w, h = _BURN_W - 2 * _PAD, _BURN_H - 2 * _PAD

    def x(day: date) -> float:
        return _PAD + w * (day - first).days / span

    def y(n: float) -> float:
        return _PAD + h - h * n / top

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_BURN_W}" height="{_BURN_H}" '
            'role="img" aria-label="Cases to date against the target" id="burn-up" '
            # a province's 6-digit count is wider than the left margin: let it show
            'style="overflow:visible" '
            'font-family="DejaVu Sans,Arial,sans-serif" font-size="11">'
        ),
        f'<line x1="{_PAD}" y1="{_PAD + h}" x2="{_PAD + w}" y2="{_PAD + h}" stroke="#adb5bd"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_PAD + h}" stroke="#adb5bd"/>',
        f'<text x="{_PAD}" y="{_PAD + h + 16}" text-anchor="middle">{_e(first.isoformat())}</text>',
        (
            f'<text x="{_PAD + w}" y="{_PAD + h + 16}" text-anchor="middle">'
            f"{_e(last.isoformat())}</text>"
        ),
        f'<text x="{_PAD - 4}" y="{_PAD + 4}" text-anchor="end">{top:,}</text>',
        f'<text x="{_PAD - 4}" y="{_PAD + h + 4}" text-anchor="end">0</text>',
    ]
    if target:
        parts.append(
            f'<line x1="{_PAD}" y1="{y(target):.1f}" x2="{_PAD + w}" y2="{y(target):.1f}" '
            f'stroke="{_TARGET}" stroke-dasharray="6 4"><title>target {target:,} cases</title>'
            f'</line><text x="{_PAD + 4}" y="{y(target) - 4:.1f}" fill="{_TARGET}">'
            f"target {target:,}</text>"
        )
    if window is not None:
        dx = x(window.ends_on)
        parts.append(
            f'<line x1="{dx:.1f}" y1="{_PAD - 10}" x2="{dx:.1f}" y2="{_PAD + h}" '
            f'stroke="{_DEADLINE}" stroke-dasharray="3 3"><title>deadline '
            f"{_e(window.ends_on.isoformat())}</title></line>"
            f'<text x="{dx:.1f}" y="{_PAD - 14}" text-anchor="end" fill="{_DEADLINE}">'
            f"deadline {_e(window.ends_on.isoformat())}</text>"
        )
    for attr, colour, label in _LINES:
        points = " ".join(f"{x(d.date):.1f},{y(getattr(d, attr)):.1f}" for d in days)
        now = getattr(days[-1], attr) if days else 0
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>cases {label} to date: {now:,}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


Point = tuple[float, float]


def _simplified(points: Sequence[Point], tolerance: float = 0.5) -> list[tuple[int, int]]:
    """The points a line needs to stay within ``tolerance`` units of them all (Douglas-Peucker).

    A running total rises nearly straight between bends, so most days cost no point at all:
    what keeps a page of 200 communes' charts small.
    """
    keep = [False] * len(points)
    if points:
        keep[0] = keep[-1] = True
    spans = [(0, len(points) - 1)] if points else []
    while spans:
        first, last = spans.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay) or 1.0
        far, distance = first, 0.0
        for i in range(first + 1, last):
            px, py = points[i]
            d = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if d > distance:
                far, distance = i, d
        if distance > tolerance:
            keep[far] = True
            spans += [(first, far), (far, last)]
    kept = ((round(px), round(py)) for (px, py), k in zip(points, keep, strict=True) if k)
    return list(dict.fromkeys(kept))


def commune_chart(
    days: Sequence[Day], target: int | None, window: Window | None, label: str
) -> str:
    """One commune's cases received, cleaned and synced to date (its own scale), and its target.

    x spans the same days as the province's chart (the days given, and the window), so the
    communes' charts line up. A line starts at its total before the first day and has a point
    at the end of each day, so even one day's cases draw a line; its ``<title>`` holds its final
    figure.
    """
    first = min([d.date for d in days[:1]] + ([window.starts_on] if window else []), default=None)
    last = max([d.date for d in days[-1:]] + ([window.ends_on] if window else []), default=None)
    if first is None or last is None:
        return ""
    span = (last - first).days + 1  # whole days, the last one included
    top = max([target or 0] + [d.received_total for d in days] + [1])
    w, h = _SMALL_W - 2, _SMALL_H - 2  # a pixel's margin, so a line at 0 or at the top shows

    def x(day: date, *, end: bool = True) -> float:
        return 1 + w * ((day - first).days + end) / span

    def y(n: int) -> float:
        return 1 + h - h * n / top

    # Colours and strokes come from the page's style sheet: 200 charts repeat no attribute.
    parts = [
        (
            f'<svg viewBox="0 0 {_SMALL_W} {_SMALL_H}" width="{_SMALL_W}" height="{_SMALL_H}" '
            f'role="img" aria-label="{_e(label)}: cases to date">'
        )
    ]
    if target:
        ty = round(y(target))
        parts.append(
            f'<line class="target" x1="0" y1="{ty}" x2="{_SMALL_W}" y2="{ty}">'
            f"<title>target {target:,} cases</title></line>"
        )
    if window is not None:
        dx = round(x(window.ends_on))  # the end of its last day
        parts.append(f'<line class="deadline" x1="{dx}" y1="0" x2="{dx}" y2="{_SMALL_H}"/>')
    for attr, _, name in _LINES:
        today = attr.removesuffix("_total")  # the day's own count
        start = [(x(d.date, end=False), y(getattr(d, attr) - getattr(d, today))) for d in days[:1]]
        points = _simplified(start + [(x(d.date), y(getattr(d, attr))) for d in days])
        now = getattr(days[-1], attr) if days else 0
        parts.append(
            f'<polyline class="{name}" points="{" ".join(f"{a},{b}" for a, b in points)}">'
            f"<title>cases {name} to date: {now:,}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _communes(
    rows: list[Row],
    by_commune: Mapping[str, Sequence[Day]],
    window: Window | None,
    names: Mapping[str, str],
) -> str:
    """A grid of small charts, one per commune, each captioned with its figures."""
    figures = []
    for row in rows:
        code = row.commune_code or ""
        label = f"{code} {names.get(code, '')}".strip()
        days = by_commune.get(code, ())
        target = (
            ""
            if row.target_plots is None
            else f"<br>target {row.target_plots:,} · {_rate(row.target_rate)}"
        )
        figures.append(
            f'<figure id="commune-{_e(code)}" data-commune="{_e(code)}">'
            f"{commune_chart(days, row.target_plots, window, label)}"
            f"<figcaption><b>{_e(label)}</b><br>{row.cases:,} cases · "
            f"{row.cases_cleaned:,} cleaned · {row.cases_synced:,} synced{target}</figcaption>"
            "</figure>"
        )
    if not figures:
        return '<p class="note">No communes yet.</p>'
    return f'<div class="communes" id="commune-charts">{"".join(figures)}</div>'


def page(
    rows: Iterable[Row],
    *,
    days: Sequence[Day] = (),
    window: Window | None = None,
    by_commune: Mapping[str, Sequence[Day]] | None = None,
    names: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The whole page.

    From ``shared.report.campaign`` rows (communes, then the province), the province's
    ``shared.daily`` days and each commune's (``by_commune``, by commune code).
    """
    rows = list(rows)
    names = commune_names() if names is None else names
    province = _province(rows)
    per_commune = [r for r in rows if r.commune_code is not None]
    stamp = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    legend = (
        f'<p class="note"><span class="key" style="background:{_CLEAN}"></span>case clean rate '
        "(cases cleaned ÷ cases)"
        f'<span class="key" style="background:{_SYNC}"></span>case sync rate '
        "(cases synced ÷ cases cleaned)</p>"
    )
    burn_legend = (
        f'<p class="note"><span class="key" style="background:{_RECEIVED}"></span>cases received'
        f'<span class="key" style="background:{_CLEAN}"></span>cases cleaned'
        f'<span class="key" style="background:{_SYNC}"></span>cases synced'
        f'<span class="key" style="background:{_TARGET}"></span>target'
        f'<span class="key" style="background:{_DEADLINE}"></span>deadline</p>'
    )
    left = "" if province.days_left is None else f" · {province.days_left:,} days left"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<link rel="icon" href="data:,"><title>LandSync campaign report</title>'
        f"<style>{_STYLE}</style></head><body>"
        "<h1>LandSync campaign report</h1>"
        f'<p class="meta">Generated {_e(stamp)} · {len(per_commune):,} communes{_e(left)}</p>'
        f"<h2>Province: cases</h2>{_tiles(province, _CASE_FIGURES)}"
        f"<h2>Province: submissions</h2>{_tiles(province, _SUBMISSION_FIGURES)}"
        f"<h2>Cases to date</h2>{burn_legend}{_burnup(days, province.target_plots, window)}"
        f"<h2>Cases to date, by commune</h2>{burn_legend}"
        f"{_communes(per_commune, by_commune or {}, window, names)}"
        f"<h2>Case clean rate and sync rate by commune</h2>{legend}{_chart(per_commune, names)}"
        f"<h2>By commune</h2>{_table(per_commune, province, names)}"
        '<h2>Not through, by reason</h2><p class="note">A case or record may carry several '
        "reasons.</p>"
        '<div class="reasons">'
        + _reasons("Open cases, by reason", "open-cases", province.open_by_reason, "Cases")
        + _reasons("Dead-lettered, by reason", "dead-lettered", province.dead_lettered_by_reason)
        + _reasons("Rejected, by reason", "rejected", province.rejected_by_reason)
        + "</div></body></html>\n"
    )


def render(bundle: ReportBundle) -> str:
    """The page of a :func:`shared.report.report_bundle`."""
    return page(bundle.rows, days=bundle.days, window=bundle.window, by_commune=bundle.by_commune)
