"""The operator CLI against the REST API (served in-process on a fake store)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette's notice about its own httpx dependency
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from services.dlq import api, cli
from services.dlq.domain.states import Status
from tests.helpers.auth import INTERNAL_HEADERS, guard_for_tests
from tests.unit.dlq.letters import dead_letter
from tests.unit.dlq.wiring import Rig

pytestmark = pytest.mark.unit


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.fixture
def http(rig: Rig) -> Iterator[TestClient]:
    app = FastAPI()
    api.mount(app, rig.operator, guard_for_tests())
    with TestClient(app, headers=INTERNAL_HEADERS) as client:
        yield client


@pytest.fixture
def seeded(rig: Rig, http: TestClient) -> list[str]:
    assert http.portal is not None  # the client is entered: its event loop runs
    http.portal.call(
        rig.intake.accept, [dead_letter(offset=1), dead_letter(offset=2, category="invalid")]
    )
    return sorted(rig.store.rows)


def test_list_prints_a_table(
    http: TestClient, seeded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["list", "--status", "parked"], client=http) == 0
    out = capsys.readouterr().out
    assert "parked" in out
    assert "InvalidMessage" in out
    assert "1 entries" in out
    assert seeded[1] in out


def test_show_prints_the_payload_pretty(
    http: TestClient, seeded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["show", seeded[0]], client=http) == 0
    out = capsys.readouterr().out
    assert "payload (json," in out
    assert '  "event_type": "posts.ingested"' in out


def test_replay_one_then_json_output(
    http: TestClient, rig: Rig, seeded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["--operator", "bob", "replay", seeded[1], "--reason", "fixed"], client=http) == 0
    )
    assert "replay: 1 changed, 0 skipped" in capsys.readouterr().out
    assert rig.store.rows[seeded[1]].summary.status is Status.PENDING
    assert rig.episodes.actions[-1]["operator"] == "bob"
    assert cli.main(["--json", "park", *seeded], client=http) == 0
    out = capsys.readouterr().out  # the service's own log lines share stdout in-process
    result = json.loads(out[out.index("{\n") :])
    assert result["changed_count"] == 2


def test_purge_by_filter(http: TestClient, rig: Rig, seeded: list[str]) -> None:
    assert cli.main(["purge", "--status", "parked", "--limit", "5"], client=http) == 0
    assert rig.store.rows[seeded[1]].summary.status is Status.PURGED
    assert rig.store.rows[seeded[0]].summary.status is Status.PENDING


def test_refusals_and_bad_input_exit_1_with_the_reason(
    http: TestClient, seeded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["park", seeded[1]], client=http) == 1
    assert "409: " in capsys.readouterr().err
    assert cli.main(["show", "nope"], client=http) == 1
    assert "422" in capsys.readouterr().err
    assert cli.main(["replay"], client=http) == 1
    assert "replay what?" in capsys.readouterr().err
    assert cli.main(["list", "--since", "yesterday"], client=http) == 1
    assert "422: since:" in capsys.readouterr().err
    assert cli.main(["replay", seeded[0], "--status", "parked"], client=http) == 1
    assert "not both" in capsys.readouterr().err


def test_unreachable_api_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(base_url="http://dlq", transport=httpx.MockTransport(refuse))
    assert cli.main(["stats"], client=client) == 3
    assert "cannot reach" in capsys.readouterr().err


def test_the_token_comes_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str | None] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"by_topic": [], "oldest_pending_age_s": None})

    def client() -> httpx.Client:
        return httpx.Client(base_url="http://dlq", transport=httpx.MockTransport(record))

    monkeypatch.setenv("TGI_INTERNAL_TOKEN", "internal-0123456789abcdef")
    monkeypatch.delenv("TGI_DLQ_TOKEN", raising=False)
    cli.main(["--json", "stats"], client=client())
    monkeypatch.setenv("TGI_DLQ_TOKEN", "operator-0123456789abcdef")
    cli.main(["--json", "stats"], client=client())
    token_file = tmp_path / "token"
    token_file.write_text("from-file-0123456789abcdef\n")
    cli.main(["--token-file", str(token_file), "--json", "stats"], client=client())
    assert seen == [
        "Bearer internal-0123456789abcdef",
        "Bearer operator-0123456789abcdef",
        "Bearer from-file-0123456789abcdef",
    ]
    assert cli.main(["--token-file", str(tmp_path / "missing"), "stats"], client=client()) == 2
    assert "cannot read the token file" in capsys.readouterr().err


def test_a_refused_token_exits_1_saying_so(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TGI_DLQ_TOKEN", "not-the-token-0123456789")
    assert cli.main(["stats"], client=http) == 1
    assert "401: missing or invalid bearer token" in capsys.readouterr().err
