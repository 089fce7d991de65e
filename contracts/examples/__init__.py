"""Example messages per topic, for producers' and consumers' tests alike.

``<topic>/*.json`` are complete, valid envelopes in wire form (what ``model_dump_json``
writes). ``<topic>/invalid/*.json`` are messages both the JSON Schema and the models reject.
"""

import json
from pathlib import Path
from typing import Any, Final

from contracts.envelope import Envelope
from contracts.registry import parse_envelope

EXAMPLES_DIR: Final = Path(__file__).parent


def example_paths(topic: str, *, invalid: bool = False) -> list[Path]:
    """The example files of ``topic``, sorted; the rejected ones with ``invalid=True``."""
    directory = EXAMPLES_DIR / topic / "invalid" if invalid else EXAMPLES_DIR / topic
    return sorted(directory.glob("*.json"))


def load_example(topic: str, name: str) -> dict[str, Any]:
    """The raw JSON object of ``<topic>/<name>.json``."""
    loaded: dict[str, Any] = json.loads((EXAMPLES_DIR / topic / f"{name}.json").read_bytes())
    return loaded


def example_envelope(topic: str, name: str) -> Envelope[Any]:
    """``<topic>/<name>.json`` parsed into its typed envelope."""
    return parse_envelope((EXAMPLES_DIR / topic / f"{name}.json").read_bytes(), topic=topic)
