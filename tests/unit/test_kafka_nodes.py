"""The local cluster's node count: fixed when formatted, refused if changed, read by commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.config import local_settings
from shared.stack.kafka import check_node_count, formatted_nodes, node_dir
from shared.stack.processes import StackError


def _format(state_dir: Path, nodes: int) -> None:
    """What `landsync up --brokers N` leaves: the count noted, then node 1 formatted."""
    check_node_count(state_dir, nodes)
    data = node_dir(state_dir, 1) / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=test\nnode.id=1\n")


def test_a_cluster_is_formatted_once_with_its_count_and_refuses_another(tmp_path: Path) -> None:
    assert formatted_nodes(tmp_path) is None
    _format(tmp_path, 3)
    assert formatted_nodes(tmp_path) == 3
    check_node_count(tmp_path, 3)  # the same count: fine
    with pytest.raises(StackError, match="formatted as 3 node"):
        check_node_count(tmp_path, 1)


def test_a_node_formatted_before_clusters_existed_counts_as_one(tmp_path: Path) -> None:
    data = node_dir(tmp_path, 1) / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=old\n")
    assert formatted_nodes(tmp_path) == 1


def test_commands_bootstrap_from_every_formatted_node_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _format(tmp_path, 3)
    monkeypatch.setenv("LANDSYNC_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LANDSYNC_KAFKA_PORT", "19092")
    monkeypatch.delenv("LANDSYNC_KAFKA_BROKERS", raising=False)
    monkeypatch.delenv("LANDSYNC_KAFKA_BOOTSTRAP", raising=False)
    settings = local_settings()
    assert settings.kafka_brokers == 3
    assert settings.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    monkeypatch.setenv("LANDSYNC_KAFKA_BROKERS", "1")
    assert local_settings().bootstrap == "127.0.0.1:19092"
