"""The campaign report page: the figures, escaped, and nothing that reaches the network."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.daily import Day, series
from shared.report import Row, Window
from shared.report_html import commune_chart, page

_NAMES = {"07210": "Bắc Giang", "07339": "<script>alert(1)</script>"}


def _submissions(received: int, accepted: int, synced: int, decided: int) -> dict[str, Any]:
    return {
        "received": received, "accepted": accepted, "synced": synced, "rejected": 50,
        "dead_lettered": 30, "duplicates": 20, "decided": decided,
        "rejected_by_reason": {"incomplete": 50}, "dead_lettered_by_reason": {"mortgaged": 30},
    }  # fmt: skip


def _rows() -> list[Row]:
    cases: dict[str, Any] = {
        "cases": 1000,
        "cases_cleaned": 955,
        "cases_synced": 807,
        "cases_open": 45,
    }
    return [
        Row("07210", **cases, target_plots=862, **_submissions(1200, 1100, 1000, 1200)),
        Row("07339", received=10),
        Row(None, **cases, target_plots=862, **_submissions(1210, 1100, 1000, 1200)),
    ]


def _text(html: str) -> str:
    """Roughly what a reader sees: the markup stripped (the styles dropped first)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL))


def test_the_page_shows_rates_as_accepted_over_decided_and_synced_over_accepted() -> None:
    text = _text(page(_rows(), names=_NAMES, generated_at=datetime(2025, 6, 1, tzinfo=UTC)))
    assert "91.7%" in text  # 1,100 accepted of 1,200 decided
    assert "90.9%" in text  # 1,000 synced of 1,100 accepted
    assert "—" in text  # nothing decided yet in 07339: no rate rather than 0 %
    assert "1,210" in text
    assert "Generated 2025-06-01 00:00 UTC" in text


def test_the_page_counts_cases_cleaned_over_cases_and_against_the_target() -> None:
    text = _text(page(_rows(), names=_NAMES))
    assert "95.5%" in text  # 955 cleaned of 1,000 cases
    assert "84.5%" in text  # 807 synced of 955 cleaned
    assert "116.0%" in text  # 1,000 cases for a target of 862


def test_the_burn_up_chart_draws_the_target_line_and_the_deadline() -> None:
    start = date(2025, 9, 1)
    days = [
        Day(start + timedelta(days=i), None, 10, 5, 2, 10 * (i + 1), 5 * (i + 1), 2 * (i + 1))
        for i in range(3)
    ]
    html = page(_rows(), days=days, window=Window(start, date(2025, 11, 30)), names=_NAMES)
    chart = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" width="760"') :]
    chart = chart[: chart.index("</svg>")]
    assert "target 862" in chart
    assert "deadline 2025-11-30" in chart
    assert chart.count("<polyline") == 3  # received, cleaned, synced to date
    assert "cases cleaned to date: 15" in chart
    assert "<script" not in chart


def test_names_and_reason_codes_are_escaped() -> None:
    rows = _rows()
    rows[-1].rejected_by_reason["<b>odd</b>"] = 1
    html = page(rows, names=_NAMES)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;odd&lt;/b&gt;" in html


def test_the_page_loads_nothing_from_anywhere() -> None:
    html = page(_rows(), names=_NAMES)
    assert re.findall(r'(?:src|href)="([^"]*)"', html) == ["data:,"]  # the blank favicon
    assert "default-src 'none'" in html
    assert "<script" not in html.replace("&lt;script", "")


def test_an_empty_ledger_gives_a_page_of_zeros() -> None:
    html = page([], names={})
    assert "Province" in html
    assert "0 communes" in _text(html)


def _commune_days(code: str, per_day: tuple[int, int, int], count: int) -> list[Day]:
    start = date(2025, 9, 1)
    return series(
        {start + timedelta(days=i): per_day for i in range(count)},
        code,
        start,
        start + timedelta(days=count - 1),
    )


def _points(svg: str, line: str) -> list[tuple[int, int]]:
    found = re.search(rf'<polyline class="{line}" points="([^"]*)"', svg)
    assert found is not None, line
    return [(int(x), int(y)) for x, y in (p.split(",") for p in found.group(1).split())]


def test_a_communes_chart_ends_at_its_totals_and_draws_its_target() -> None:
    days = _commune_days("07210", (10, 6, 3), 30)
    svg = commune_chart(days, 500, Window(date(2025, 9, 1), date(2025, 11, 30)), "07210 Bắc Giang")
    assert "cases received to date: 300" in svg
    assert "cases cleaned to date: 180" in svg
    assert "cases synced to date: 90" in svg
    assert "target 500 cases" in svg
    assert 'class="deadline"' in svg
    received, synced = _points(svg, "received"), _points(svg, "synced")
    # y grows downwards: the received line ends above the synced one, all inside the chart
    assert received[-1][1] < synced[-1][1] < received[0][1]
    assert all(0 <= x <= 188 and 0 <= y <= 72 for x, y in received + synced)


def test_a_steady_run_of_days_costs_two_points_and_a_bend_one_more() -> None:
    steady = commune_chart(_commune_days("07210", (10, 10, 10), 90), None, None, "07210")
    assert len(_points(steady, "received")) == 2
    assert "target" not in steady
    start = date(2025, 9, 1)
    bent = series(
        {start + timedelta(days=i): (0 if i < 45 else 20, 0, 0) for i in range(90)},
        "07210", start, start + timedelta(days=89),
    )  # fmt: skip
    assert len(_points(commune_chart(bent, None, None, "07210"), "received")) == 3


def test_two_hundred_communes_make_a_page_of_small_charts_that_stays_small() -> None:
    rng = random.Random(12)
    rows, by_commune = [], {}
    start = date(2025, 9, 1)
    for n in range(200):
        code = f"{10000 + n}"
        counts = {
            start + timedelta(days=i): (
                rng.randint(20, 60),
                rng.randint(10, 20),
                rng.randint(0, 10),
            )
            for i in range(90)
        }
        days = series(counts, code, start, start + timedelta(days=95))
        by_commune[code] = days
        last = days[-1]
        rows.append(
            Row(
                code,
                cases=last.received_total,
                cases_cleaned=last.cleaned_total,
                cases_synced=last.synced_total,
                target_plots=4000,
            )
        )
    rows.append(Row(None))
    html = page(
        rows, window=Window(start, start + timedelta(days=89)), by_commune=by_commune, names={}
    )
    assert html.count("<figure ") == 200
    charts = html[html.index('id="commune-charts"') : html.index("<h2>Case clean rate")]
    assert charts.count("<polyline") == 600
    assert len(html.encode()) < 400_000, "200 communes' charts keep the page light"
    assert '<figure id="commune-10007"' in html
    text = _text(html)
    last = by_commune["10007"][-1]
    totals = (last.received_total, last.cleaned_total, last.synced_total)
    assert "{:,} cases · {:,} cleaned · {:,} synced".format(*totals) in text


def test_a_commune_without_days_still_gets_its_caption() -> None:
    html = page(_rows(), names=_NAMES, by_commune={})
    assert '<figure id="commune-07339"' in html
    assert "1,000 cases · 955 cleaned · 807 synced" in _text(html)


def test_a_single_days_cases_still_draw_a_line_from_zero() -> None:
    svg = commune_chart(_commune_days("07210", (4, 2, 1), 1), None, None, "07210")
    (x0, y0), (x1, y1) = _points(svg, "received")
    assert (x1 > x0, y1 < y0) == (True, True)  # from 0 at the day's start to 4 at its end
