"""Consumer-group lag measured by intake, outside the consumers, so it outlives a dead consumer.

The consumers report their own lag (``landsync_consumer_lag_messages``) after each batch: the
figure stops, then vanishes, exactly when a consumer dies or hangs. Intake consumes nothing; it
reads each group's committed offsets and its topic's end offsets every few seconds instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.intake import metrics, sampling
from shared.kafka.security import client_options
from shared.logging import get_logger
from shared.settings import IntakeSettings
from shared.topics import Topic

log = get_logger(__name__)
INTERVAL_SECONDS = 5.0
OUTAGE_RETRY_SECONDS = 30.0
#: Each consumer group of LandSync and the topic it consumes (services/*/app.py GROUP_ID).
GROUPS: dict[str, Topic] = {
    "landsync-reconcile": Topic.SUBMITTED,
    "landsync-sync": Topic.ACCEPTED,
}


def lag(
    end: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int],
    start: Mapping[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Messages behind on each partition; one the group never committed is behind from its start."""
    return {tp: max(0, e - committed.get(tp, start.get(tp, 0))) for tp, e in end.items()}


class GroupLag:
    """Samples every group's lag into ``landsync_consumer_group_lag_messages``."""

    def __init__(self, settings: IntakeSettings) -> None:
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None  # no group: it only reads offsets

    async def _connect(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is not None and self._offsets is not None:
            return self._admin, self._offsets
        options = client_options(self._settings)
        bootstrap, client_id = self._settings.bootstrap, "landsync-intake-lag"
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, **options)
        offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, client_id=client_id, group_id=None, **options
        )
        try:
            await admin.start()
            await offsets.start()
        except BaseException:
            await offsets.stop()  # release the half-open clients before the next try
            await admin.close()
            raise
        self._admin, self._offsets = admin, offsets
        return admin, offsets

    async def sample(self) -> None:
        """Read every group's lag once and set the gauge."""
        admin, offsets = await self._connect()
        topics = self._settings.topics
        for group, topic in GROUPS.items():
            name = topics.name(topic)
            partitions = [TopicPartition(name, p) for p in range(topics.all()[name])]
            end = await offsets.end_offsets(partitions)
            start = await offsets.beginning_offsets(partitions)
            found = await admin.list_consumer_group_offsets(group, partitions=partitions)
            committed = {tp: at.offset for tp, at in found.items() if at.offset >= 0}
            for tp, behind in lag(end, committed, start).items():
                metrics.GROUP_LAG.labels(tp.topic, str(tp.partition), group).set(behind)

    async def sample_forever(self, interval: float = INTERVAL_SECONDS) -> None:
        """Sample every ``interval`` seconds until cancelled; an outage keeps the last figures."""
        # Each try opens new connections: during an outage, try seldom.
        await sampling.sample_forever(
            self.sample,
            log=log,
            event="consumer group lag not sampled",
            interval=interval,
            outage_interval=OUTAGE_RETRY_SECONDS,
            after_failure=self.close,
        )

    async def close(self) -> None:
        """Disconnect; the next sample connects again."""
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        if offsets is not None:
            await offsets.stop()
        if admin is not None:
            await admin.close()
