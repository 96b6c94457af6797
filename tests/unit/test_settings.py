"""Settings that decide where state lives: the simulator's journal by default and in isolation."""

from __future__ import annotations

from pathlib import Path

from shared.settings import Settings, isolated


def test_the_campaign_stacks_simulator_keeps_its_plots_in_the_state_dir(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)

    assert settings.national_db_journal_file == tmp_path / "national-db.journal"


def test_a_data_file_that_is_set_wins_and_isolated_stacks_start_empty(tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere.jsonl"

    assert Settings(national_db_data_file=chosen).national_db_journal_file == chosen
    assert isolated(27_000, tmp_path).national_db_journal_file is None
    assert Settings(state_dir=tmp_path, national_db_journal=False).national_db_journal_file is None
