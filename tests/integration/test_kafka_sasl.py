"""The local stack's Kafka with SASL/SCRAM turned on: only clients with the credential get in."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from pydantic import SecretStr
from rich.console import Console

from shared.bench.intake import make_payload, raw_ceiling
from shared.kafka.admin import admin_client
from shared.kafka.producer import Outgoing, Producer
from shared.kafka.security import client_options
from shared.settings import PROJECT_ROOT, Settings, isolated
from shared.stack import Stack, StackError
from tests.support import started


@pytest.fixture(scope="module")
def sasl_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Settings]]:
    """A broker of its own (ports from the test base + 600), SCRAM-SHA-512 on its listener."""
    base = int(os.environ.get("LANDSYNC_TEST_PORT_BASE", "29000")) + 600
    settings = isolated(
        base,
        tmp_path_factory.mktemp("sasl") / "state",
        cache_dir=PROJECT_ROOT / ".cache",
        kafka_heap="256m",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        topic_partitions=1,
        dlq_partitions=1,
    )
    stack = Stack(settings, Console(stderr=True, quiet=True))
    stack.start_kafka()
    try:
        yield stack, settings
    finally:
        stack.stop_kafka(quiet=True)


async def _list_topics(settings: Settings, **options: object) -> list[str]:
    async with (
        asyncio.timeout(30),
        admin_client(settings.bootstrap, request_timeout_ms=3000, **options) as admin,
    ):
        return list(await admin.list_topics())


async def test_a_client_with_the_credential_publishes_and_reads(
    sasl_kafka: tuple[Stack, Settings],
) -> None:
    _, settings = sasl_kafka
    topic = settings.topics.all()
    name = next(iter(topic))
    async with started(Producer(settings, client_id="sasl-test")) as producer:
        await producer.publish_all([Outgoing(name, b"hello", b"k")])
    consumer = AIOKafkaConsumer(
        name,
        bootstrap_servers=settings.bootstrap,
        auto_offset_reset="earliest",
        **client_options(settings),
    )
    async with started(consumer):
        message = await asyncio.wait_for(consumer.getone(), 30)

    assert message.value == b"hello"


async def test_a_client_without_it_or_with_a_wrong_password_is_refused(
    sasl_kafka: tuple[Stack, Settings],
) -> None:
    _, settings = sasl_kafka
    wrong = settings.model_copy(update={"kafka_sasl_password": SecretStr("not-the-password")})

    with pytest.raises((KafkaError, TimeoutError)):
        await _list_topics(settings)
    with pytest.raises((KafkaError, TimeoutError)):
        await _list_topics(settings, **client_options(wrong))
    assert await _list_topics(settings, **client_options(settings))


async def test_the_benchmarks_bare_clients_bring_the_credential_too(
    sasl_kafka: tuple[Stack, Settings],
) -> None:
    # The raw ceiling: a scratch topic made by an admin client, a bare producer sending to it.
    _, settings = sasl_kafka

    rate = await asyncio.wait_for(raw_ceiling(settings, make_payload(50)), 90)

    assert rate > 0


def test_the_generated_password_and_the_broker_config_are_private(
    sasl_kafka: tuple[Stack, Settings],
) -> None:
    stack, settings = sasl_kafka
    password = settings.kafka_password_file.read_text().strip()

    assert stat.S_IMODE(settings.kafka_password_file.stat().st_mode) == 0o600
    props = stack.state_dir / "kafka" / "server.properties"
    assert stat.S_IMODE(props.stat().st_mode) == 0o600
    assert password in props.read_text()
    assert password not in stack.log("kafka").read_text(errors="replace")


def test_turning_sasl_on_for_a_log_dir_formatted_without_it_is_a_clear_error(
    tmp_path: Path,
) -> None:
    base = int(os.environ.get("LANDSYNC_TEST_PORT_BASE", "29000")) + 650
    settings = isolated(base, tmp_path / "state", cache_dir=PROJECT_ROOT / ".cache")
    data = settings.state_dir / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("version=1\n")
    sasl = settings.model_copy(update={"kafka_sasl_mechanism": "SCRAM-SHA-512"})

    with pytest.raises(StackError, match="formatted without SCRAM credentials"):
        Stack(sasl, Console(stderr=True, quiet=True)).start_kafka()
