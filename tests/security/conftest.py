"""The security tier: the six services as processes, started with real-looking secrets (so a
test can grep every log for them), two tenants with indexed posts and an API key each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.v1.posts import PostIngested
from tests.helpers.chaos import Fleet, fleet_env
from tests.helpers.gateway import create_key, index_posts, two_channels


@dataclass
class Tenant:
    name: str
    key: str
    posts: list[PostIngested]

    def post_ids(self) -> set[str]:
        return {p.natural_key(self.name) for p in self.posts}


@dataclass
class SecureStack:
    fleet: Fleet
    prefix: str
    bootstrap: str
    pg_dsn: str
    neo4j_uri: str
    secrets: dict[str, str]
    a: Tenant
    b: Tenant

    def url(self, path: str) -> str:
        return self.fleet.url("router", path)


def _with_password(dsn: str, password: str) -> str:
    """The DSN with a password (the test server trusts local connections, so any works)."""
    scheme, rest = dsn.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':', 1)[0]}:{password}@{host}"


@pytest.fixture(scope="session")
async def secure(
    infra: dict[str, str], pg_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SecureStack]:
    state: Path = tmp_path_factory.mktemp("security")
    prefix = f"sec{uuid.uuid4().hex[:8]}."
    secrets = {
        "jwt_secret": "jwt-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "dsn_password": "pgpw" + uuid.uuid4().hex,
        "openai_api_key": "sk-test" + uuid.uuid4().hex,
        "gigachat_credentials": "gc" + uuid.uuid4().hex,
        "internal_token": "int-" + uuid.uuid4().hex,
    }
    dsn = _with_password(pg_dsn, secrets["dsn_password"])
    env = fleet_env(
        bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
        pg_dsn=dsn,
        neo4j_uri=infra["TGI_NEO4J_URI"],
        prefix=prefix,
        state=state,
    )
    env.update(
        {
            "TGI_ROUTER_JWT_SECRET": secrets["jwt_secret"],
            "TGI_INTERNAL_TOKEN": secrets["internal_token"],
            "TGI_LLM_OPENAI_API_KEY": secrets["openai_api_key"],
            "TGI_LLM_GIGACHAT_CREDENTIALS": secrets["gigachat_credentials"],
            "TGI_RETRIEVAL_OPENAI_API_KEY": secrets["openai_api_key"],
            "TGI_RETRIEVAL_GIGACHAT_CREDENTIALS": secrets["gigachat_credentials"],
            # fuzzing sends many requests: rate limits are tested elsewhere
            "TGI_ROUTER_RATE_LIMIT_PER_S": "10000",
            "TGI_ROUTER_RATE_LIMIT_BURST": "10000",
            # bad input is what this tier sends: never pause a consumer for it
            "TGI_DLQ_LIMIT_COUNT": "100000",
            "TGI_LOG_LEVEL": "DEBUG",
        }
    )
    fleet = Fleet(env=env, logs=state)
    try:
        await fleet.start_all()
        posts_a, posts_b = two_channels(30, 20)
        a_name, b_name = f"sa{uuid.uuid4().hex[:8]}", f"sb{uuid.uuid4().hex[:8]}"
        a = Tenant(a_name, create_key(dsn, a_name, "alice"), posts_a)
        b = Tenant(b_name, create_key(dsn, b_name, "bob"), posts_b)
        secrets["api_key_a"], secrets["api_key_b"] = a.key, b.key
        await index_posts(prefix, infra["TGI_KAFKA_BOOTSTRAP"], a.name, a.posts)
        await index_posts(prefix, infra["TGI_KAFKA_BOOTSTRAP"], b.name, b.posts)
        yield SecureStack(
            fleet=fleet,
            prefix=prefix,
            bootstrap=infra["TGI_KAFKA_BOOTSTRAP"],
            pg_dsn=pg_dsn,
            neo4j_uri=infra["TGI_NEO4J_URI"],
            secrets=secrets,
            a=a,
            b=b,
        )
    finally:
        await fleet.close()
