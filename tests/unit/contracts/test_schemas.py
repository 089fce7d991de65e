"""The committed JSON Schemas are exactly what the models generate, and agree with them."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from contracts.envelope import Envelope
from contracts.registry import REGISTRY
from contracts.schemas import DRAFT, ID_PREFIX, SCHEMA_DIR, check, export, load_schema, render
from contracts.schemas.__main__ import main

pytestmark = pytest.mark.unit


def test_committed_schemas_equal_generated() -> None:
    assert check() == []
    for topic, spec in REGISTRY.items():
        assert (SCHEMA_DIR / f"{topic}.json").read_text("utf-8") == render(spec)


def test_check_cli_passes_on_committed_schemas() -> None:
    assert main(["check"]) == 0


def test_check_cli_fails_on_drift(tmp_path: Path) -> None:
    export(tmp_path)
    assert main(["check", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "posts.ingested.v1.json"
    schema = json.loads(path.read_text("utf-8"))
    schema["$defs"]["PostIngested"]["properties"]["text"]["maxLength"] = 10
    path.write_text(json.dumps(schema), "utf-8")
    (tmp_path / "posts.renamed.v1.json").write_text("{}", "utf-8")
    assert main(["check", "--dir", str(tmp_path)]) == 1
    problems = check(tmp_path)
    assert any("posts.ingested.v1.json: differs" in p for p in problems)
    assert any("posts.renamed.v1" in p for p in problems)


@pytest.mark.parametrize("topic", list(REGISTRY))
def test_schema_header_and_pinned_type(topic: str) -> None:
    schema = load_schema(topic)
    spec = REGISTRY[topic]
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == f"{ID_PREFIX}{topic}"
    assert schema["properties"]["event_type"]["const"] == spec.event_type
    assert schema["properties"]["schema_version"]["const"] == spec.version
    assert schema["properties"]["payload"] == {"$ref": f"#/$defs/{spec.model.__name__}"}


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every model class reachable from its fields."""
    found = {model}
    for field in model.model_fields.values():
        for candidate in _classes(field.annotation):
            if issubclass(candidate, BaseModel) and candidate not in found:
                found |= _models(candidate)
    return found


def _classes(annotation: Any) -> list[type]:
    if isinstance(annotation, type):
        return [annotation]
    return [c for arg in getattr(annotation, "__args__", ()) for c in _classes(arg)]


@pytest.mark.parametrize("topic", list(REGISTRY))
def test_payloads_open_and_envelope_closed_in_model_and_schema(topic: str) -> None:
    # Additive optional fields are compatible only if old readers ignore unknown fields;
    # the models and the schemas must say the same thing.
    schema = load_schema(topic)
    assert schema["additionalProperties"] is False
    assert Envelope.model_config["extra"] == "forbid"
    for model in _models(REGISTRY[topic].model):
        assert model.model_config["extra"] == "ignore", model
        assert model.model_config["frozen"] is True, model
        assert model.__doc__, f"{model.__name__} needs a docstring saying what it guarantees"
        assert "additionalProperties" not in schema["$defs"][model.__name__], model
