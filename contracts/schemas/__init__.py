"""JSON Schemas of every topic, generated from the models and committed beside this file.

Each ``<topic>.json`` describes a whole message: the envelope with that topic's payload,
draft 2020-12, ``$id`` ``urn:tgint:schema:<topic>``, with ``event_type`` and
``schema_version`` pinned by ``const``. ``python -m contracts.schemas export`` rewrites them;
``python -m contracts.schemas check`` fails when they differ from the models.
"""

import json
from pathlib import Path
from typing import Any, Final

from contracts.registry import REGISTRY
from contracts.spec import TopicSpec

SCHEMA_DIR: Final = Path(__file__).parent
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX: Final = "urn:tgint:schema:"


def topic_schema(spec: TopicSpec) -> dict[str, Any]:
    """The JSON Schema of a whole message on ``spec``'s topic, as a fresh dict."""
    generated = spec.envelope_model.model_json_schema(mode="validation")
    properties = generated["properties"]
    properties["event_type"] = {**properties["event_type"], "const": spec.event_type}
    properties["schema_version"] = {**properties["schema_version"], "const": spec.version}
    return {
        "$schema": DRAFT,
        "$id": f"{ID_PREFIX}{spec.name}",
        **generated,
        "title": spec.name,
    }


def render(spec: TopicSpec) -> str:
    """``topic_schema`` as the exact text committed for it."""
    return json.dumps(topic_schema(spec), indent=2, ensure_ascii=False) + "\n"


def schema_path(topic: str, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{topic}.json"


def load_schema(topic: str, directory: Path = SCHEMA_DIR) -> dict[str, Any]:
    """The committed schema of ``topic``; raises ``FileNotFoundError`` if there is none."""
    loaded: dict[str, Any] = json.loads(schema_path(topic, directory).read_text("utf-8"))
    return loaded


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every topic's schema into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, spec in REGISTRY.items():
        path = schema_path(topic, directory)
        path.write_text(render(spec), encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    """Problems with the committed schemas: missing, stale, or not what the models generate."""
    problems = []
    for topic, spec in REGISTRY.items():
        path = schema_path(topic, directory)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text("utf-8") != render(spec):
            problems.append(f"{path}: differs from the models")
    for path in sorted(directory.glob("*.json")):
        if path.stem not in REGISTRY:
            problems.append(f"{path}: no topic {path.stem!r} in the registry")
    return problems
