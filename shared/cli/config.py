"""The settings every command reads: the environment's, and the local cluster's node count."""

from __future__ import annotations

from shared.settings import Settings


def local_settings() -> Settings:
    """``Settings()``, with as many Kafka nodes as the local cluster was formatted with.

    So that, after ``landsync up --brokers 3``, a command bootstraps from all three nodes even if
    node 1 is the one down, without being told ``LANDSYNC_KAFKA_BROKERS`` again.
    """
    from shared.stack.stack import with_formatted_nodes  # noqa: PLC0415 - keeps --help fast

    return with_formatted_nodes(Settings())
