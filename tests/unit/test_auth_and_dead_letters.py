"""API key parsing and hashing; dead-letter headers of CONTRACT §3."""

from __future__ import annotations

from shared.auth import ApiKey, hash_secret, matches, split_key
from shared.kafka.dead_letters import Origin, dead_letter


def test_a_key_splits_into_its_id_and_secret() -> None:
    secret = "s3cr-et" + "x" * 36
    assert split_key(f"lsk_0123456789ab_{secret}") == ("0123456789ab", secret)
    assert split_key("0123456789ab_secret") is None
    assert split_key(f"lsk__{secret}") is None


def test_only_the_right_secret_matches_its_hash() -> None:
    stored = hash_secret("right")

    assert matches("right", stored)
    assert not matches("wrong", stored)


def test_a_submitter_submits_and_reads_only_its_communes_others_read_all() -> None:
    submitter = ApiKey("k", "submitter", frozenset({"07339"}))
    viewer = ApiKey("v", "viewer", frozenset())

    assert submitter.may_submit_for("07339")
    assert not submitter.may_submit_for("09187")
    assert not submitter.may_read("09187")
    assert viewer.may_read("09187")
    assert not viewer.may_submit_for("07339")


def test_a_dead_letter_keeps_key_and_value_and_carries_every_header() -> None:
    origin = Origin(
        topic="land.records.submitted",
        partition=2,
        offset=41,
        timestamp_ms=1_700_000_000_000,
        key=b"07339:1:2",
        value=b"{}",
        headers={"record.id": "r1", "commune.code": "07339", "dlq.replay.count": "2"},
    )

    letter = dead_letter(
        origin, topic="land.dlq.poison", reason="undecodable", detail="bad", consumer_group="g"
    )

    assert (letter.key, letter.value) == (origin.key, origin.value)
    assert letter.headers["dlq.original.partition"] == "2"
    assert letter.headers["dlq.original.offset"] == "41"
    assert letter.headers["dlq.original.timestamp"] == "1700000000000"
    assert letter.headers["dlq.replay.count"] == "2"
    assert letter.headers["record.id"] == "r1"
    assert set(letter.headers) == {
        "dlq.reason",
        "dlq.detail",
        "dlq.original.topic",
        "dlq.original.partition",
        "dlq.original.offset",
        "dlq.original.timestamp",
        "dlq.consumer.group",
        "dlq.first.failed.at",
        "dlq.attempts",
        "dlq.replay.count",
        "record.id",
        "commune.code",
    }
