"""Dead-letter filters, masking and replay planning: pure functions over decoded dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import orjson
import pytest

from shared.dlq.model import (
    BadFilterError,
    DeadLetter,
    Filter,
    UnknownQueueError,
    parse_filter,
    queue_topic,
    select,
)
from shared.dlq.plan import plan_replay, replay_message, replay_target
from shared.dlq.view import view
from shared.topics import Topics

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
TOPICS = Topics(prefix="p.")
RECORD = {
    "record_id": "0b4e8f0e-2f7a-4c1e-9a7e-123456789012",
    "commune_code": "07339",
    "owners": [{"full_name": "Nguyễn Văn An", "personal_id": "024085001234", "sex": "male"}],
    "parcel": {"map_sheet": 12, "parcel_no": 345},
}


def letter(
    offset: int = 0,
    *,
    commune: str = "07339",
    reason: str = "owner_unresolved",
    replays: int = 0,
    age: timedelta = timedelta(hours=1),
    headers: dict[str, str] | None = None,
) -> DeadLetter:
    return DeadLetter(
        topic="p.land.dlq.owner-unresolved",
        partition=0,
        offset=offset,
        timestamp_ms=int((NOW - age).timestamp() * 1000),
        key=b"07339:12:345",
        value=orjson.dumps(RECORD),
        headers={
            "dlq.reason": reason,
            "dlq.detail": "owners[0]: not found in the population registry (024085001234)",
            "dlq.original.topic": "p.land.records.submitted",
            "dlq.replay.count": str(replays),
            "record.id": f"rec-{offset}",
            "commune.code": commune,
            **(headers or {}),
        },
    )


def test_a_filter_keeps_the_commune_reason_and_age_asked_for() -> None:
    letters = [
        letter(0),
        letter(1, commune="09187"),
        letter(2, reason="owner_deceased"),
        letter(3, age=timedelta(days=3)),
        letter(4, reason="owner_absent", headers={"dlq.reasons": "owner_absent,mortgaged"}),
    ]
    wanted = parse_filter(commune="07339", since="2d", now=NOW)

    assert [d.offset for d in select(letters, wanted, set())] == [0, 2, 4]
    assert [d.offset for d in select(letters, Filter(reason="mortgaged"), set())] == [4]


def test_since_takes_an_iso_date_or_time_as_utc() -> None:
    wanted = parse_filter(since="2025-06-01T11:30:00", now=NOW)

    assert wanted.since == datetime(2025, 6, 1, 11, 30, tzinfo=UTC)
    assert select([letter(0), letter(1, age=timedelta(minutes=10))], wanted, set())[0].offset == 1


@pytest.mark.parametrize(
    "given",
    [{"commune": "7339"}, {"reason": "owner_unknown"}, {"since": "yesterday"}, {"limit": 0}],
)
def test_a_bad_filter_value_is_refused_by_name(given: dict[str, object]) -> None:
    with pytest.raises(BadFilterError):
        parse_filter(**given)  # type: ignore[arg-type]


def test_an_unknown_queue_is_refused() -> None:
    assert queue_topic(TOPICS, "mortgaged") == "p.land.dlq.mortgaged"
    with pytest.raises(UnknownQueueError):
        queue_topic(TOPICS, "land.dlq.mortgaged")


def test_list_hides_replayed_dead_letters_unless_asked_and_stops_at_the_limit() -> None:
    letters = [letter(n) for n in range(5)]

    assert [d.offset for d in select(letters, Filter(limit=2), {(0, 0)})] == [1, 2]
    assert [
        d.offset for d in select(letters, Filter(include_replayed=True, limit=2), {(0, 0)})
    ] == [
        0,
        1,
    ]


def test_a_replay_plan_skips_the_replayed_and_refuses_those_at_the_limit() -> None:
    letters = [letter(0), letter(1, replays=3), letter(2), letter(3, replays=2)]
    target = partial(replay_target, "owner-unresolved", topics=TOPICS)

    plan = plan_replay(letters, Filter(), {(0, 2)}, max_replays=3, target=target)

    assert [d.offset for d in plan.replay] == [0, 3]
    assert [d.offset for d in plan.refused] == [1]
    assert [d.offset for d in plan.skipped] == [2]


def test_poison_goes_back_only_to_a_topic_landsync_consumes() -> None:
    ours = letter(0, headers={"dlq.original.topic": "p.land.plots.accepted"})
    foreign = letter(1, headers={"dlq.original.topic": "elsewhere"})

    assert replay_target("poison", ours, TOPICS) == "p.land.plots.accepted"
    assert replay_target("poison", foreign, TOPICS) is None
    assert replay_target("sync-failed", ours, TOPICS) == "p.land.plots.accepted"
    assert replay_target("mortgaged", ours, TOPICS) == "p.land.records.submitted"


def test_a_replayed_message_is_the_original_with_its_ids_and_one_more_replay() -> None:
    original = letter(7, replays=1)

    message = replay_message(original, "p.land.records.submitted")

    assert (message.value, message.key) == (original.value, original.key)
    assert message.headers == {
        "dlq.replay.count": "2",
        "record.id": "rec-7",
        "commune.code": "07339",
    }


def test_names_and_ids_are_masked_unless_revealed() -> None:
    masked = view(letter(0))
    shown = view(letter(0), reveal=True)

    text = orjson.dumps(masked).decode()
    assert "024085001234" not in text
    assert "Nguyễn Văn An" not in text
    assert masked["value"]["parcel"] == {"map_sheet": 12, "parcel_no": 345}
    assert masked["record_id"] == "rec-0"
    assert masked["value"]["record_id"] == RECORD["record_id"]  # a record id is not a personal ID
    assert shown["value"] == RECORD
    assert "024085001234" in shown["detail"]
