"""Every example validates against its committed JSON Schema and its model, and round-trips."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from contracts.errors import ContractError
from contracts.examples import EXAMPLES_DIR, example_paths
from contracts.registry import REGISTRY, parse_envelope
from contracts.schemas import load_schema

pytestmark = pytest.mark.unit

VALID = [(topic, path) for topic in REGISTRY for path in example_paths(topic)]
INVALID = [(topic, path) for topic in REGISTRY for path in example_paths(topic, invalid=True)]


def _validator(topic: str) -> Draft202012Validator:
    schema = load_schema(topic)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _ids(cases: list[tuple[str, Path]]) -> list[str]:
    return [f"{topic}/{path.name}" for topic, path in cases]


def test_every_topic_has_an_example() -> None:
    assert {topic for topic, _ in VALID} == set(REGISTRY)


def test_no_examples_for_unknown_topics() -> None:
    directories = {p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir() and p.name[0] != "_"}
    assert directories <= set(REGISTRY)


@pytest.mark.parametrize(("topic", "path"), VALID, ids=_ids(VALID))
def test_example_matches_schema_and_model(topic: str, path: Path) -> None:
    raw = path.read_bytes()
    data: dict[str, Any] = json.loads(raw)
    errors = [e.message for e in _validator(topic).iter_errors(data)]
    assert errors == []
    envelope = parse_envelope(raw, topic=topic)
    assert type(envelope.payload) is REGISTRY[topic].model
    assert envelope.topic == topic


@pytest.mark.parametrize(("topic", "path"), VALID, ids=_ids(VALID))
def test_example_round_trips(topic: str, path: Path) -> None:
    envelope = parse_envelope(path.read_bytes())
    wire = envelope.model_dump_json().encode()
    assert parse_envelope(wire) == envelope
    assert list(_validator(topic).iter_errors(json.loads(wire))) == []
    # Examples are kept in wire form, so a producer's output can be compared with them.
    assert json.loads(wire) == json.loads(path.read_bytes())


@pytest.mark.parametrize(("topic", "path"), INVALID, ids=_ids(INVALID))
def test_invalid_example_is_rejected_by_schema_and_model(topic: str, path: Path) -> None:
    data = json.loads(path.read_bytes())
    assert not _validator(topic).is_valid(data)
    with pytest.raises(ContractError):
        parse_envelope(data, topic=topic)


def test_there_are_invalid_examples() -> None:
    assert len(INVALID) >= 5
