"""A JSON response rendered with orjson: batch answers can hold 10,000 entries."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    """``application/json`` rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:  # noqa: ANN401 - a JSON value
        """Serialise the content."""
        return orjson.dumps(content)
