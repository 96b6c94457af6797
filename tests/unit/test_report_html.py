"""The campaign report page: the figures, escaped, and nothing that reaches the network."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.daily import Day
from shared.report import Row, Window
from shared.report_html import page

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
