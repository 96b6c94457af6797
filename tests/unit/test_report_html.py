"""The campaign report page: the figures, escaped, and nothing that reaches the network."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shared.report import Row
from shared.report_html import page

_NAMES = {"07210": "Bắc Giang", "07339": "<script>alert(1)</script>"}


def _rows() -> list[Row]:
    return [
        Row("07210", 1200, 1100, 1000, 50, 30, 20, 1200, {"incomplete": 50}, {"mortgaged": 30}),
        Row("07339", 10, 0, 0, 0, 0, 0, 0),
        Row(None, 1210, 1100, 1000, 50, 30, 20, 1200, {"incomplete": 50}, {"mortgaged": 30}),
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
