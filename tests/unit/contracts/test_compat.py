"""The compatibility checker catches every kind of breaking change, and only those."""

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts import compat_cli
from contracts.compat import check_compatible
from contracts.compat_cli import breaking_changes, main
from contracts.registry import REGISTRY
from contracts.schemas import SCHEMA_DIR, export, load_schema, topic_schema

pytestmark = pytest.mark.unit

Schema = dict[str, Any]
TOPIC = "posts.ingested.v1"


def _post(schema: Schema) -> Schema:
    post: Schema = schema["$defs"]["PostIngested"]
    return post


def _changed(change: Callable[[Schema], None]) -> tuple[Schema, Schema]:
    old = load_schema(TOPIC)
    new = copy.deepcopy(old)
    change(new)
    return old, new


def _add_required(schema: Schema) -> None:
    _post(schema)["properties"]["sentiment"] = {"type": "string"}
    _post(schema)["required"].append("sentiment")


def _remove_required(schema: Schema) -> None:
    del _post(schema)["properties"]["chat_kind"]
    _post(schema)["required"].remove("chat_kind")


def _change_type(schema: Schema) -> None:
    _post(schema)["properties"]["message_id"] = {"type": "string"}


def _remove_enum_value(schema: Schema) -> None:
    _post(schema)["properties"]["source"]["enum"].remove("api")


def _tighten_max_length(schema: Schema) -> None:
    _post(schema)["properties"]["text"]["maxLength"] = 4096


def _add_optional(schema: Schema) -> None:
    _post(schema)["properties"]["sentiment"] = {
        "anyOf": [
            {"enum": ["negative", "neutral", "positive"], "type": "string"},
            {"type": "null"},
        ],
        "default": None,
    }


# change, the mode that must report it, the mode that must not, a word in the report
BREAKING = [
    pytest.param(
        _add_required, "BACKWARD", "FORWARD", "sentiment: new required", id="new-required"
    ),
    pytest.param(_remove_required, "FORWARD", "BACKWARD", "chat_kind: required", id="rm-required"),
    pytest.param(_change_type, "BACKWARD", None, "message_id: type integer", id="type-changed"),
    pytest.param(_remove_enum_value, "BACKWARD", "FORWARD", "enum value removed", id="rm-enum"),
    pytest.param(_tighten_max_length, "BACKWARD", "FORWARD", "maxLength tightened", id="max-len"),
]


@pytest.mark.parametrize(("change", "mode", "silent_mode", "expected"), BREAKING)
def test_breaking_change_is_reported(
    change: Callable[[Schema], None], mode: str, silent_mode: str | None, expected: str
) -> None:
    old, new = _changed(change)
    found = check_compatible(old, new, mode)
    assert any(expected in problem and problem.startswith(mode) for problem in found), found
    assert check_compatible(old, new, "FULL") != []
    if silent_mode is not None:
        assert check_compatible(old, new, silent_mode) == []


def test_changed_type_is_reported_both_ways() -> None:
    old, new = _changed(_change_type)
    assert check_compatible(old, new, "FORWARD") == [
        "FORWARD: $.payload.message_id: type string is new"
    ]


def test_additive_optional_field_passes_full() -> None:
    old, new = _changed(_add_optional)
    assert check_compatible(old, new, "FULL") == []


def test_identical_schemas_are_compatible() -> None:
    for topic in REGISTRY:
        schema = load_schema(topic)
        assert check_compatible(schema, copy.deepcopy(schema), "FULL") == []


def test_loosened_bound_breaks_forward_only() -> None:
    old, new = _changed(lambda s: _post(s)["properties"]["text"].__setitem__("maxLength", 10**6))
    assert check_compatible(old, new, "BACKWARD") == []
    assert check_compatible(old, new, "FORWARD") == [
        "FORWARD: $.payload.text: maxLength loosened 65536 -> 1000000"
    ]


def test_new_field_in_closed_envelope_breaks_forward() -> None:
    old, new = _changed(lambda s: s["properties"].__setitem__("partition_key", {"type": "string"}))
    assert check_compatible(old, new, "FORWARD") == [
        "FORWARD: $.partition_key: new field in a closed object"
    ]


def test_nullable_made_required_value_breaks_backward() -> None:
    old, new = _changed(lambda s: _post(s)["properties"].__setitem__("views", {"type": "integer"}))
    assert "BACKWARD: $.payload.views: type null is no longer accepted" in check_compatible(
        old, new, "BACKWARD"
    )


def test_array_items_and_uniqueness_are_compared() -> None:
    def change(schema: Schema) -> None:
        kinds = _post(schema)["properties"]["media_kinds"]
        kinds["items"]["enum"].remove("sticker")
        kinds["uniqueItems"] = True

    old, new = _changed(change)
    found = check_compatible(old, new, "BACKWARD")
    assert "BACKWARD: $.payload.media_kinds[]: enum value removed: ['sticker']" in found
    assert "BACKWARD: $.payload.media_kinds: items must now be unique" in found


def test_pattern_change_and_unknown_keyword_are_reported() -> None:
    def change(schema: Schema) -> None:
        _post(schema)["properties"]["channel_id"]["pattern"] = "^[0-9]+$"
        _post(schema)["properties"]["text"]["not"] = {"const": ""}

    old, new = _changed(change)
    found = check_compatible(old, new, "BACKWARD")
    assert any("channel_id: pattern changed" in p for p in found)
    assert any("text: unsupported keyword 'not' changed" in p for p in found)


def test_refs_are_followed_and_recursion_terminates() -> None:
    tree: Schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 10},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    tighter = copy.deepcopy(tree)
    tighter["$defs"]["Node"]["properties"]["name"]["maxLength"] = 5
    assert check_compatible(tree, copy.deepcopy(tree), "FULL") == []
    assert check_compatible(tree, tighter, "BACKWARD") == [
        "BACKWARD: $.name: maxLength tightened 10 -> 5",
        "BACKWARD: $.children[].name: maxLength tightened 10 -> 5",
    ]


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        check_compatible({}, {}, "SIDEWAYS")


def test_live_models_are_compatible_with_committed_schemas() -> None:
    assert breaking_changes(None, include_unreleased=True) == []
    for topic, spec in REGISTRY.items():
        assert check_compatible(load_schema(topic), topic_schema(spec), spec.compatibility) == []


def test_cli_passes_against_committed_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert main(["--against", str(SCHEMA_DIR)]) == 0
    assert "compatible" in capsys.readouterr().out


def test_cli_fails_on_a_broken_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export(tmp_path)
    path = tmp_path / f"{TOPIC}.json"
    schema = json.loads(path.read_text("utf-8"))
    _post(schema)["properties"]["text"]["maxLength"] = 100  # the live model now allows more
    path.write_text(json.dumps(schema), "utf-8")
    assert main(["--against", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{TOPIC}: FORWARD: $.payload.text: maxLength loosened 100 -> 65536" in err


def test_cli_treats_a_topic_missing_from_the_baseline_as_new(tmp_path: Path) -> None:
    export(tmp_path)
    (tmp_path / f"{TOPIC}.json").unlink()
    assert main(["--against", str(tmp_path)]) == 0


def test_cli_rejects_an_unknown_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--against", "no-such-ref-or-dir"]) == 2
    assert "neither a directory nor a git commit" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_cli_reads_the_baseline_at_a_git_ref(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = tmp_path / "contracts" / "schemas"
    export(schemas)
    broken = json.loads((schemas / f"{TOPIC}.json").read_text("utf-8"))
    _post(broken)["properties"]["source"]["enum"].append("rss")  # the live model lacks "rss"
    (schemas / f"{TOPIC}.json").write_text(json.dumps(broken), "utf-8")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "baseline")
    monkeypatch.setattr(compat_cli, "_PROJECT_ROOT", tmp_path)
    problems = breaking_changes("HEAD")
    assert problems == [f"{TOPIC}: BACKWARD: $.payload.source: enum value removed: ['rss']"]
    assert main(["--against", "HEAD"]) == 1
