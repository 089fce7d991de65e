"""Registry invariants, and agreement with the services table of DESIGN §2."""

import ast
import re
import sys
from pathlib import Path

import pytest

import contracts
import contracts.v1
from contracts.envelope import Envelope
from contracts.errors import ContractError, UnknownEventType, UnknownSchemaVersion
from contracts.examples import example_envelope, example_paths
from contracts.registry import REGISTRY, get_spec, payload_model
from contracts.spec import DAY_MS, EXTERNAL, SERVICES

pytestmark = pytest.mark.unit

# DESIGN §2, "consumes" and "produces" columns, topics only; plus digest and trend asking the
# shared retrieval service (DESIGN §5: "digest and trend services share one retrieval service").
DESIGN_CONSUMES = {
    # router: also digest.completed and queries.answered, to complete the runs it accepted
    "router": {"queries.requested.v1", "digest.completed.v1", "queries.answered.v1"},
    "retrieval": {"posts.ingested.v1", "posts.deleted.v1", "retrieval.requested.v1"},
    "digest": {"digest.requested.v1", "retrieval.completed.v1"},
    "trend": {"posts.indexed.v1", "trend.requested.v1"},
    "memory": {"lifecycle.v1"},
    "dlq": {"deadletter.v1", "lifecycle.v1"},  # lifecycle: to see retries resolve
}
DESIGN_PRODUCES = {
    "router": {
        "retrieval.requested.v1",
        "digest.requested.v1",
        "trend.requested.v1",
        "queries.answered.v1",
    },
    "retrieval": {"posts.indexed.v1", "retrieval.completed.v1"},
    # digest: also digest.requested.v1, from its per-user schedules (issue #6)
    "digest": {
        "digest.requested.v1",
        "digest.completed.v1",
        "queries.answered.v1",
        "retrieval.requested.v1",
    },
    "trend": {
        "trend.detected.v1",
        "trend.reported.v1",
        "queries.answered.v1",
        "retrieval.requested.v1",
    },
    "memory": set(),
    "dlq": set(),
}


def test_fourteen_topics_named_after_type_and_version() -> None:
    assert len(REGISTRY) == 14
    for name, spec in REGISTRY.items():
        assert name == spec.name == f"{spec.event_type}.v{spec.version}"
        assert re.fullmatch(r"[a-z]+(\.[a-z]+)*\.v[1-9][0-9]*", name)


def test_no_duplicate_models_or_event_types() -> None:
    specs = list(REGISTRY.values())
    assert len({s.model for s in specs}) == len(specs)
    assert len({(s.event_type, s.version) for s in specs}) == len(specs)


def test_every_model_is_exported() -> None:
    for spec in REGISTRY.values():
        assert getattr(contracts.v1, spec.model.__name__) is spec.model
        assert spec.model.__name__ in contracts.v1.__all__


def test_users_are_known_services_or_external() -> None:
    known = {*SERVICES, EXTERNAL}
    for spec in REGISTRY.values():
        assert spec.producers, spec.name
        assert spec.consumers, spec.name
        assert set(spec.producers) <= known, spec.name
        assert set(spec.consumers) <= known, spec.name
        assert len(set(spec.producers)) == len(spec.producers), spec.name
        assert len(set(spec.consumers)) == len(spec.consumers), spec.name


def test_services_match_design_table() -> None:
    for service in SERVICES:
        consumed = {n for n, s in REGISTRY.items() if service in s.consumers}
        produced = {n for n, s in REGISTRY.items() if service in s.producers}
        assert consumed == DESIGN_CONSUMES[service], service
        if service == "dlq":  # re-publishes retries to the topics our services consume
            retried = set().union(*DESIGN_CONSUMES.values()) - {"deadletter.v1"}
            assert produced == retried
        else:
            assert produced - {"lifecycle.v1", "deadletter.v1"} == DESIGN_PRODUCES[service]


def test_every_service_emits_lifecycle_and_workers_dead_letter() -> None:
    assert set(REGISTRY["lifecycle.v1"].producers) == set(SERVICES)
    assert set(REGISTRY["deadletter.v1"].producers) == set(SERVICES) - {"dlq"}


def test_other_teams_publish_posts_and_queries() -> None:
    published = {n for n, s in REGISTRY.items() if EXTERNAL in s.producers}
    assert published == {"posts.ingested.v1", "posts.deleted.v1", "queries.requested.v1"}


def test_sizing() -> None:
    for name, spec in REGISTRY.items():
        assert spec.partitions == (6 if name.startswith("posts.") else 3), name
        days = 30 if name == "deadletter.v1" else 7
        assert spec.retention_ms == days * DAY_MS, name
        assert spec.compatibility in ("BACKWARD", "FORWARD", "FULL")
        assert spec.kind == ("command" if name.split(".")[1] == "requested" else "event"), name


@pytest.mark.parametrize("topic", list(REGISTRY))
def test_partition_key_fields_exist_and_are_required(topic: str) -> None:
    spec = REGISTRY[topic]
    for field in spec.key_fields:
        owner = Envelope if field in Envelope.model_fields else spec.model
        assert owner.model_fields[field].is_required(), f"{topic}: {field}"
    for path in example_paths(topic):
        key = spec.partition_key(example_envelope(topic, path.stem))
        assert key.count(b":") >= len(spec.key_fields) - 1


def test_partition_key_of_a_post() -> None:
    envelope = example_envelope("posts.ingested.v1", "channel-post")
    assert REGISTRY["posts.ingested.v1"].partition_key(envelope) == b"demo:-1001237513492"


def test_lookup_errors() -> None:
    assert get_spec("posts.ingested", 1) is REGISTRY["posts.ingested.v1"]
    assert payload_model("lifecycle", 1).__name__ == "LifecycleEvent"
    with pytest.raises(UnknownEventType, match=r"posts\.created"):
        payload_model("posts.created", 1)
    with pytest.raises(UnknownSchemaVersion, match=r"has versions \[1\], not 2"):
        get_spec("posts.ingested", 2)
    assert issubclass(UnknownEventType, ContractError)
    assert issubclass(UnknownSchemaVersion, ContractError)


def test_contracts_is_a_leaf() -> None:
    # pydantic and the standard library only; nothing from services or other packages.
    allowed = {"pydantic", "pydantic_core", "contracts", *sys.stdlib_module_names}
    root = Path(contracts.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path}: imports {name}"
