"""Strict parsing of a model's JSON answer: anything but exactly one valid object fails."""

from __future__ import annotations

import json
import re
from typing import Any, Final, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from servicekit.llm.errors import LLMBadOutput

T = TypeVar("T", bound=BaseModel)

_FENCE: Final = re.compile(r"\A```(?:json)?[ \t]*\r?\n(?P<body>.*?)\r?\n?```\Z", re.S | re.I)


def parse_json(text: str, model: type[T]) -> T:
    """The one JSON object in ``text``, validated by ``model``.

    Accepted: the object alone, or inside a single fence (```` ```json ... ``` ````), with
    whitespace around. Everything else raises :class:`LLMBadOutput`: prose before or after,
    two objects or fences, an array or scalar at the top, ``NaN``/``Infinity``, a key given
    twice, or a value ``model`` does not validate (its own config decides how strict that is;
    ``extra="forbid"`` and ``strict=True`` are good choices for LLM output).
    """
    body = text.strip()
    if body.startswith("```"):
        fenced = _FENCE.match(body)
        if fenced is None or "```" in fenced["body"]:
            _bad("not exactly one closed ``` fence", text)
        body = fenced["body"].strip()
    try:
        value = json.loads(body, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except ValueError as exc:  # JSONDecodeError included
        _bad(f"not one JSON value ({_reason(exc)})", text)
    if not isinstance(value, dict):
        _bad(f"a JSON {type(value).__name__}, not an object", text)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['type']}"
            for err in exc.errors()[:5]
        )
        _bad(f"does not match {model.__name__} ({problems})", text)


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} given twice")
        out[key] = value
    return out


def _reason(exc: ValueError) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def _bad(reason: str, text: str) -> NoReturn:
    raise LLMBadOutput(f"LLM output rejected: {reason} ({len(text)} chars)", text=text)
