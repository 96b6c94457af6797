"""The campaign report (CONTRACT §6) as one self-contained HTML page: no script, nothing fetched."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from html import escape

from shared.report import Row
from shared.synthetic import communes

# The page loads nothing: a saved copy looks the same offline, and a stray URL in data can't leak.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CLEAN, _SYNC = "#2f9e44", "#1c7ed6"
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
"""
_TILES = (
    ("received", "Received"),
    ("decided", "Decided"),
    ("accepted", "Accepted"),
    ("synced", "Synced"),
    ("rejected", "Rejected"),
    ("dead_lettered", "Dead-lettered"),
    ("duplicates", "Duplicates"),
)
_LABEL_W, _BAR_W, _ROW_H = 230, 560, 30


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _province(rows: list[Row]) -> Row:
    empty = Row(None, 0, 0, 0, 0, 0, 0, 0)
    return next((r for r in rows if r.commune_code is None), empty)


def _tiles(province: Row) -> str:
    tiles = [(label, f"{getattr(province, attr):,}") for attr, label in _TILES]
    tiles += [("Clean rate", _rate(province.clean_rate)), ("Sync rate", _rate(province.sync_rate))]
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
        parts.append(_bar(y + 2, row.clean_rate, _CLEAN, f"{label}: clean rate"))
        parts.append(_bar(y + 14, row.sync_rate, _SYNC, f"{label}: sync rate"))
    parts.append("</svg>")
    return "".join(parts)


def _cells(row: Row) -> str:
    numbers = [getattr(row, attr) for attr, _ in _TILES]
    cells = [f'<td class="n">{n:,}</td>' for n in numbers]
    cells += [f'<td class="n">{_e(_rate(r))}</td>' for r in (row.clean_rate, row.sync_rate)]
    return "".join(cells)


def _table(rows: list[Row], province: Row, names: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for _, label in _TILES)
    body = "".join(
        f"<tr><td>{_e(r.commune_code)}</td><td>{_e(names.get(r.commune_code or '', ''))}</td>"
        f"{_cells(r)}</tr>"
        for r in rows
    )
    foot = f'<tfoot><tr><td colspan="2">Province</td>{_cells(province)}</tr></tfoot>'
    return (
        f'<table id="commune-table"><thead><tr><th>Code</th><th>Commune</th>{head}'
        f"<th>Clean rate</th><th>Sync rate</th></tr></thead><tbody>{body}</tbody>"
        f"{foot}</table>"
    )


def _reasons(title: str, table_id: str, counts: Mapping[str, int]) -> str:
    lines = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    body = "".join(f'<tr><td>{_e(c)}</td><td class="n">{n:,}</td></tr>' for c, n in lines)
    body = body or '<tr><td colspan="2">none</td></tr>'
    return (
        f'<div><h3>{_e(title)}</h3><table id="{table_id}"><thead><tr><th>Reason</th>'
        f"<th>Records</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def page(
    rows: Iterable[Row],
    *,
    names: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The whole page, from ``shared.report.campaign`` rows (communes, then the province)."""
    rows = list(rows)
    names = dict(communes()) if names is None else names
    province = _province(rows)
    per_commune = [r for r in rows if r.commune_code is not None]
    stamp = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    legend = (
        f'<p class="note"><span class="key" style="background:{_CLEAN}"></span>clean rate '
        "(accepted ÷ decided)"
        f'<span class="key" style="background:{_SYNC}"></span>sync rate (synced ÷ accepted)</p>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<link rel="icon" href="data:,"><title>LandSync campaign report</title>'
        f"<style>{_STYLE}</style></head><body>"
        "<h1>LandSync campaign report</h1>"
        f'<p class="meta">Generated {_e(stamp)} · {len(per_commune):,} communes</p>'
        f"<h2>Province</h2>{_tiles(province)}"
        f"<h2>Clean rate and sync rate by commune</h2>{legend}{_chart(per_commune, names)}"
        f"<h2>By commune</h2>{_table(per_commune, province, names)}"
        '<h2>Not through, by reason</h2><p class="note">A record may carry several reasons.</p>'
        '<div class="reasons">'
        + _reasons("Dead-lettered, by reason", "dead-lettered", province.dead_lettered_by_reason)
        + _reasons("Rejected, by reason", "rejected", province.rejected_by_reason)
        + "</div></body></html>\n"
    )
