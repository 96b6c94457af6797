"""Record ids: UUID version 7, time-ordered so the ledger's primary-key index grows at its end."""

from __future__ import annotations

import os
import time
import uuid


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` UUIDv7 ids (RFC 9562): 48-bit Unix milliseconds, then 74 random bits.

    Random v4 ids scatter inserts over the whole index; v7 ids of one batch share a prefix. One
    ``os.urandom`` call serves the whole batch.
    """
    ms = time.time_ns() // 1_000_000
    entropy = os.urandom(10 * count)
    ids = []
    for i in range(count):
        rand = int.from_bytes(entropy[10 * i : 10 * i + 10], "big")
        rand_a = (rand >> 62) & 0xFFF  # 12 bits
        rand_b = rand & ((1 << 62) - 1)  # 62 bits
        value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        ids.append(uuid.UUID(int=value))
    return ids
