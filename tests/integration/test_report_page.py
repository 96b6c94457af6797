"""The campaign report page, loaded in a real headless Chromium as a viewer would open it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.browser import HeadlessChromium
from shared.settings import Settings
from shared.synthetic import communes
from tests.conftest import KeyFactory
from tests.integration.report_data import COMMUNES, Counts, ledger_counts, submit_campaign
from tests.support import bearer, eventually, landsync, landsync_ok


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _shown(counts: Counts) -> list[str]:
    """A table row's figures as the page should show them."""
    c = counts
    cases = [f"{n:,}" for n in (c.cases, c.cases_cleaned, c.cases_synced, c.cases_open)]
    cases += [_rate(c.cases_cleaned, c.cases), _rate(c.cases_synced, c.cases_cleaned)]
    target = "—" if c.target_plots is None else f"{c.target_plots:,}"
    cases += [target, _rate(c.cases, c.target_plots or 0)]
    numbers = [c.received, c.accepted, c.synced, c.rejected, c.dead_lettered, c.duplicates]
    submissions = [f"{n:,}" for n in (*numbers, c.corrections)]
    rates = [_rate(c.accepted, c.decided), _rate(c.synced, c.accepted)]
    return cases + submissions + rates


def _row(lines: list[str], first: str) -> list[str]:
    """The cells of the table row whose first cell reads ``first`` (innerText: tab-separated)."""
    return next(line.split("\t") for line in lines if line.startswith(f"{first}\t"))


def _by_reason(lines: list[str], heading: str) -> dict[str, int]:
    """The reason table under ``heading``: reason → records."""
    start = lines.index(heading) + 2  # the heading, then the table's header row
    table: dict[str, int] = {}
    for line in lines[start:]:
        cells = line.split("\t")
        if len(cells) != 2:
            break
        table[cells[0]] = int(cells[1].replace(",", ""))
    return table


async def _open_when_settled(
    browser: HeadlessChromium, db: asyncpg.Pool[Any], url: str, key: str
) -> tuple[int | None, str, dict[str | None, Counts]]:
    """Load the page while the ledger stands still, so what it shows can be compared exactly."""

    async def load() -> tuple[int | None, str, dict[str | None, Counts]] | None:
        before = await ledger_counts(db)
        status = await browser.open(url, bearer(key))
        text = await browser.text()
        return (status, text, before) if await ledger_counts(db) == before else None

    loaded: tuple[int | None, str, dict[str | None, Counts]] = await eventually(load, timeout=60)
    return loaded


# What each commune's small chart says, as Chromium has drawn it.
_COMMUNE_CHARTS = """
Array.from(document.querySelectorAll('#commune-charts figure')).map(f => ({
  code: f.dataset.commune,
  width: f.querySelector('svg').getBoundingClientRect().width,
  drawn: Array.from(f.querySelectorAll('polyline')).map(p => p.getBoundingClientRect().width),
  lines: Array.from(f.querySelectorAll('polyline title')).map(t => t.textContent),
  target: (f.querySelector('line.target title') || {}).textContent || null,
  caption: f.querySelector('figcaption').innerText,
}))
"""


async def _target(settings: Settings, tmp_path: Path, commune: str, plots: int) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text(f"commune_code,target_plots\n{commune},{plots}\n")
    await asyncio.to_thread(landsync_ok, settings, "campaign", "targets", "load", str(targets))


async def test_the_report_page_shows_each_communes_figures_as_the_ledger_counts_them(
    db: asyncpg.Pool[Any],
    intake: httpx.AsyncClient,
    new_key: KeyFactory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await submit_campaign(db, intake, new_key)
    await _target(settings, tmp_path, COMMUNES[1], 40)  # the other commune has none
    viewer = await new_key("viewer")
    url = f"{settings.service_url('intake')}/v1/reports/campaign?format=html"

    async with HeadlessChromium(width=1200) as browser:
        status, text, counts = await _open_when_settled(browser, db, url, viewer)
        title = await browser.evaluate("document.title")
        chart = await browser.evaluate(
            "Array.from(document.querySelectorAll('#burn-up polyline title'))"
            ".map(t => t.textContent)"
        )
        chart_width = await browser.evaluate(
            "document.querySelector('#burn-up').getBoundingClientRect().width"
        )
        small = {c["code"]: c for c in await browser.evaluate(_COMMUNE_CHARTS)}
        png = await browser.screenshot()
        fetched = {u for u in browser.requests if not u.startswith("data:")}
        assert await browser.open(url) == 401  # no key, no report

    assert status == 200
    assert title == "LandSync campaign report"
    assert fetched == {url}, "the page fetches nothing else: no script, font or image"
    assert png.startswith(b"\x89PNG")
    lines = text.splitlines()
    names = dict(communes())
    for code in COMMUNES:
        mine = counts[code]
        assert min(mine.synced, mine.rejected, mine.dead_lettered, mine.duplicates) >= 1
        cells = _row(lines, code)
        assert cells[1] == names[code]
        assert cells[2:] == _shown(counts[code])
        assert f"{code} {names[code]}" in lines  # the chart's label
    province = counts[None]
    shown, counted = _row(lines, "Province")[1:], _shown(province)
    assert shown == counted
    assert ["Clean rate", _rate(province.accepted, province.decided)] in [
        lines[i : i + 2] for i in range(len(lines) - 1)
    ]
    assert province.dead_lettered_by_reason["owner_unresolved"] >= len(COMMUNES)
    assert province.dead_lettered_by_reason["mortgaged"] >= len(COMMUNES)
    assert _by_reason(lines, "Dead-lettered, by reason") == province.dead_lettered_by_reason
    assert _by_reason(lines, "Rejected, by reason") == province.rejected_by_reason
    assert _by_reason(lines, "Open cases, by reason") == province.open_by_reason
    assert ["Case clean rate", _rate(province.cases_cleaned, province.cases)] in [
        lines[i : i + 2] for i in range(len(lines) - 1)
    ]
    received, cleaned, synced = chart
    assert received == f"cases received to date: {province.cases:,}"
    assert cleaned == f"cases cleaned to date: {province.cases_cleaned:,}"
    assert synced == f"cases synced to date: {province.cases_synced:,}"
    assert chart_width > 0, "the burn-up chart is drawn"
    assert set(COMMUNES) <= set(small), "a small chart for every commune"
    for code in COMMUNES:
        mine, drawn = counts[code], small[code]
        assert drawn["lines"] == [
            f"cases received to date: {mine.cases:,}",
            f"cases cleaned to date: {mine.cases_cleaned:,}",
            f"cases synced to date: {mine.cases_synced:,}",
        ]
        totals = f"{mine.cases:,} cases · {mine.cases_cleaned:,} cleaned · {mine.cases_synced:,}"
        assert drawn["caption"].startswith(f"{code} {names[code]}\n{totals} synced")
        assert drawn["width"] > 0, f"{code}'s chart is drawn"
        assert min(drawn["drawn"]) > 0, f"{code}'s lines are drawn"
        target = None if mine.target_plots is None else f"target {mine.target_plots:,} cases"
        assert drawn["target"] == target
    assert counts[COMMUNES[1]].target_plots == 40


def _undated(html: str) -> str:
    return re.sub(r"Generated [^<]* UTC", "", html)


async def test_the_command_line_prints_the_same_page_and_screenshots_it(
    intake: httpx.AsyncClient, new_key: KeyFactory, settings: Settings, tmp_path: Path
) -> None:
    auth = bearer(await new_key("viewer"))

    async def same_page() -> bool:
        served = await intake.get("/v1/reports/campaign", params={"format": "html"}, headers=auth)
        printed = await asyncio.to_thread(landsync, settings, "report", "--format", "html")
        assert printed.returncode == 0, printed.stderr
        return _undated(served.text) == _undated(printed.stdout)

    await eventually(same_page, timeout=60)
    shot = tmp_path / "report.png"
    done = await asyncio.to_thread(landsync, settings, "report", "--screenshot", str(shot))
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")
