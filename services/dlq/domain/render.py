"""Showing stored bytes to an operator: JSON pretty-printed, text as text, base64 otherwise."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal, TypedDict


class Rendered(TypedDict):
    """A payload or key as an operator sees it."""

    encoding: Literal["json", "text", "base64", "empty"]
    size: int
    value: Any
    """The parsed JSON, the text, or the base64 string."""
    pretty: str
    """What a terminal prints: indented JSON, the text, or the base64."""


def render_bytes(data: bytes | None) -> Rendered:
    """Render ``data`` for inspection. Never raises."""
    if not data:
        return Rendered(encoding="empty", size=0, value=None, pretty="")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        b64 = base64.b64encode(data).decode("ascii")
        return Rendered(encoding="base64", size=len(data), value=b64, pretty=b64)
    try:
        # NaN and Infinity are not JSON; a response carrying them could not be encoded
        parsed = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return Rendered(encoding="text", size=len(data), value=text, pretty=text)
    pretty = json.dumps(parsed, indent=2, ensure_ascii=False, sort_keys=False)
    return Rendered(encoding="json", size=len(data), value=parsed, pretty=pretty)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
