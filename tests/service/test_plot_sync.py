"""Sync's use case with fakes of the national database, ledger and publisher."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import orjson

from services.sync.policy import Refused, Unsent
from services.sync.retries import RetryWorker
from services.sync.service import PlotSender, PlotSync, SendPolicy
from services.sync.settle import Pending
from shared.kafka.consumer import GivenUp, Incoming
from shared.kafka.dead_letters import Origin
from shared.reasons import PoisonReason
from shared.records import AcceptedPlot
from tests.service.fakes import FakeNationalDb, FakePublisher, FakeSyncLedger
from tests.support import eventually, make_record

DLQ = "land.dlq.sync-failed"
POLICY = SendPolicy(batch_size=4, max_attempts=3, backoff_initial=1.0, backoff_max=60.0)


def _plot(record: dict[str, object] | None = None, version: int = 1) -> Incoming[AcceptedPlot]:
    body = {**(record or make_record()), "record_id": str(uuid.uuid4()), "version": version}
    value = orjson.dumps(body)
    plot = AcceptedPlot.model_validate_json(value)
    origin = Origin("land.plots.accepted", 0, 0, 0, plot.parcel_key.encode(), value, {})
    return Incoming(plot, origin)


def _pending(message: Incoming[AcceptedPlot]) -> Pending:
    plot = message.value
    return Pending(plot.record_id, plot.parcel_key, plot.version, plot.commune_code, message.origin)


def _refused_plot() -> tuple[Incoming[AcceptedPlot], FakeNationalDb]:
    """A plot, and a national database that refuses it for good (an HTTP 422)."""
    bad = _plot()
    return bad, FakeNationalDb({bad.value.parcel_key: Refused("HTTP 422: refused", 1)})


def _sync(
    national_db: FakeNationalDb, ledger: FakeSyncLedger, publisher: FakePublisher
) -> tuple[PlotSync, PlotSender]:
    sender = PlotSender(
        national_db, ledger, publisher, POLICY, dlq_topic=DLQ, group_id="landsync-sync"
    )
    return PlotSync(ledger, sender, inline_attempts=2), sender


async def test_plots_are_sent_and_marked_synced_and_a_redelivery_sends_none_again() -> None:
    national_db, ledger, publisher = FakeNationalDb(), FakeSyncLedger(), FakePublisher()
    sync, _ = _sync(national_db, ledger, publisher)
    batch = [_plot() for _ in range(6)]
    await sync.process(batch)
    assert set(ledger.synced) == {m.value.record_id for m in batch}
    assert sorted(len(items) for items, _, _ in national_db.requests) == [2, 4]  # 4 a request
    assert {max_failures for _, max_failures, _ in national_db.requests} == {
        2
    }  # the inline attempts
    await sync.process(batch)
    assert len(national_db.requests) == 2


async def test_a_parcels_versions_go_in_one_request_in_order() -> None:
    record = make_record()
    versions = [_plot(record, v) for v in (1, 2, 3)]
    others = [_plot() for _ in range(3)]
    national_db = FakeNationalDb()
    sync, _ = _sync(national_db, FakeSyncLedger(), FakePublisher())
    await sync.process([others[0], versions[0], others[1], versions[1], others[2], versions[2]])
    (with_parcel,) = [
        items for items, _, _ in national_db.requests if versions[0].value.parcel_key in
        {i.parcel_key for i in items}
    ]  # fmt: skip
    mine = [i.version for i in with_parcel if i.parcel_key == versions[0].value.parcel_key]
    assert mine == [1, 2, 3]


async def test_a_refused_plot_is_dead_lettered_before_the_ledger_says_failed() -> None:
    bad, national_db = _refused_plot()
    ledger = FakeSyncLedger()
    publisher = FakePublisher(events=ledger.events)
    _, sender = _sync(national_db, ledger, publisher)
    await sender.sync([_pending(bad), _pending(_plot())], max_failures=2)
    assert ledger.events == ["publish 1", "store"]
    (letter,) = publisher.published
    assert letter.topic == DLQ
    assert letter.headers["dlq.reason"] == "sync_rejected"
    assert ledger.failed == {bad.value.record_id: "sync_rejected"}
    assert len(ledger.synced) == 1


async def test_when_the_dead_letter_cannot_be_published_the_plot_is_not_marked_failed() -> None:
    bad, national_db = _refused_plot()
    ledger = FakeSyncLedger()
    sync, _ = _sync(national_db, ledger, FakePublisher(fail_next=1))
    with contextlib.suppress(ConnectionError):
        await sync.process([bad])
    assert ledger.failed == {}
    assert ledger.events == []  # so the batch is not committed and comes again


async def test_an_unsent_plot_waits_in_the_retry_table_then_is_given_up_when_exhausted() -> None:
    slow = _plot()
    answers = {slow.value.parcel_key: Unsent("HTTP 503", 2, 2)}
    ledger, publisher = FakeSyncLedger(), FakePublisher()
    sync, sender = _sync(FakeNationalDb(answers), ledger, publisher)
    await sync.process([slow])
    (retry,) = ledger.retries.values()
    assert (retry.failures, retry.delay > 0) == (2, True)
    assert publisher.published == []
    parked = Pending(**{**vars(retry.pending), "failures": 2, "first_failed_at": datetime.now(UTC)})
    await sender.sync([parked], max_failures=1, bisect_failures=True)  # a third failure: exhausted
    assert ledger.failed == {slow.value.record_id: "sync_exhausted"}
    assert ledger.retries == {}
    assert publisher.published[0].headers["dlq.reason"] == "sync_exhausted"


async def test_a_redelivered_plot_already_waiting_or_dead_lettered_is_not_sent_again() -> None:
    slow, bad = _plot(), _plot()
    answers: dict[str, Unsent | Refused] = {
        slow.value.parcel_key: Unsent("HTTP 503", 2, 2),
        bad.value.parcel_key: Refused("HTTP 422: refused", 1),
    }
    national_db, ledger, publisher = FakeNationalDb(answers), FakeSyncLedger(), FakePublisher()
    sync, _ = _sync(national_db, ledger, publisher)
    await sync.process([slow, bad])
    (waiting,) = ledger.retries.values()
    assert (len(national_db.requests), len(publisher.published)) == (1, 1)

    # The batch again, as after a rebalance before its offsets were committed.
    await sync.process([slow, bad])

    assert len(national_db.requests) == 1
    assert len(publisher.published) == 1  # one dead letter, not a second
    assert ledger.retries == {slow.value.record_id: waiting}  # its failures and time kept


async def test_a_replayed_dead_letter_is_sent_again() -> None:
    bad, national_db = _refused_plot()
    ledger = FakeSyncLedger()
    sync, _ = _sync(national_db, ledger, FakePublisher())
    await sync.process([bad])
    national_db.answers = {}  # the cause is fixed; an operator replays the letter
    origin = bad.origin
    replayed = Incoming(bad.value, Origin(origin.topic, 0, 1, 0, origin.key, origin.value,
                                          {"dlq.replay.count": "1"}))  # fmt: skip

    await sync.process([replayed])

    assert len(national_db.requests) == 2
    assert bad.value.record_id in ledger.synced


async def test_a_later_version_queues_behind_its_parcels_plot_in_the_retry_table() -> None:
    record = make_record()
    first, second = _plot(record, 1), _plot(record, 2)
    national_db = FakeNationalDb({first.value.parcel_key: Unsent("HTTP 503", 2, 1)})
    ledger = FakeSyncLedger()
    sync, _ = _sync(national_db, ledger, FakePublisher())
    await sync.process([first])
    national_db.answers = {}  # the national database is back
    await sync.process([second])
    assert len(national_db.requests) == 1  # the second version was not sent
    assert set(ledger.retries) == {first.value.record_id, second.value.record_id}


async def test_the_retry_worker_sends_due_plots_with_one_charged_attempt_split_on_failure() -> None:
    national_db, ledger = FakeNationalDb(), FakeSyncLedger()
    _, sender = _sync(national_db, ledger, FakePublisher())
    plot = _plot()
    await sender.queue(
        [Pending(plot.value.record_id, plot.value.parcel_key, 1, "07339", plot.origin)]
    )
    assert set(ledger.retries) == {plot.value.record_id}
    worker = RetryWorker(ledger, sender, poll=0.05, batch_size=10)
    worker.start()
    try:

        async def synced() -> bool:
            return plot.value.record_id in ledger.synced

        await eventually(synced, timeout=5, interval=0.02)
    finally:
        await asyncio.wait_for(worker.join(), 5)
    assert national_db.requests[0][1:] == (1, True)
    assert ledger.retries == {}


async def test_plots_given_up_as_poison_end_failed_with_the_poison_reason() -> None:
    ledger = FakeSyncLedger()
    sync, _ = _sync(FakeNationalDb(), ledger, FakePublisher())
    record_id = uuid.uuid4()
    await sync.give_up(
        [
            GivenUp(record_id, PoisonReason.UNDECODABLE, "not JSON"),
            GivenUp(None, PoisonReason.UNDECODABLE, "x"),
        ]
    )
    assert ledger.failed == {record_id: PoisonReason.UNDECODABLE.value}
