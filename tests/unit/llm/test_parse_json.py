"""Strict JSON parsing of model output: one object, optionally fenced, or a failure."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from servicekit.llm import LLMBadOutput, LLMError, parse_json

pytestmark = pytest.mark.unit


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    route: Literal["qa", "digest", "trend"]
    confidence: float


@pytest.mark.parametrize(
    "text",
    [
        '{"route": "digest", "confidence": 0.9}',
        '  \n{"route": "digest", "confidence": 0.9}\n ',
        '```json\n{"route": "digest", "confidence": 0.9}\n```',
        '```JSON\n{"route": "digest",\n "confidence": 0.9}\n```\n',
        '```\n{"route": "digest", "confidence": 0.9}\n```',
    ],
)
def test_one_object_alone_or_in_one_fence_parses(text: str) -> None:
    assert parse_json(text, Route) == Route(route="digest", confidence=0.9)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"route": "digest", "confidence": 0.9} I hope this helps!', "Extra data"),
        ('Sure! {"route": "digest", "confidence": 0.9}', "Expecting value"),
        ('{"route": "digest", "confidence": 0.9}{"route": "qa", "confidence": 1}', "Extra data"),
        ('```json\n{"route": "qa", "confidence": 1.0}\n```\nBecause…', "fence"),
        ('```json\n{"route": "qa", "confidence": 1.0}\n```\n```json\n{}\n```', "fence"),
        ('```json\n{"route": "qa", "confidence": 1.0}', "fence"),
        ('[{"route": "qa", "confidence": 1.0}]', "list, not an object"),
        ('"digest"', "str, not an object"),
        ('{"route": "qa", "confidence": NaN}', "NaN is not JSON"),
        ('{"route": "qa", "route": "digest", "confidence": 1.0}', "given twice"),
        ("", "Expecting value"),
    ],
)
def test_anything_else_is_bad_output(text: str, reason: str) -> None:
    with pytest.raises(LLMBadOutput, match=reason) as info:
        parse_json(text, Route)
    assert info.value.text == text
    assert isinstance(info.value, LLMError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"route": "weather", "confidence": 0.5}', "route: literal_error"),
        ('{"route": "qa"}', "confidence: missing"),
        ('{"route": "qa", "confidence": "high"}', "confidence: float_type"),
        ('{"route": "qa", "confidence": 0.5, "why": "x"}', "why: extra_forbidden"),
    ],
)
def test_a_schema_mismatch_is_bad_output_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(LLMBadOutput, match=f"does not match Route .*{problem}"):
        parse_json(text, Route)


def test_the_message_does_not_carry_the_output() -> None:
    secret_ish = "x" * 5000
    with pytest.raises(LLMBadOutput) as info:
        parse_json(f"prose {secret_ish}", Route)
    assert secret_ish not in str(info.value)
    assert "5006 chars" in str(info.value)
