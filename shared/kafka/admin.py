"""An admin client for the length of a block: started on entry, closed however the block ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient


@contextlib.asynccontextmanager
async def admin_client(bootstrap: str, **options: Any) -> AsyncIterator[AIOKafkaAdminClient]:  # noqa: ANN401 - aiokafka's keyword arguments, of every type
    """``AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)``, started for the block.

    Closed after it, and also when starting fails, so a refused connection leaves none open.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()
