"""The security tier: the six services as processes, started with real-looking secrets (so a
test can grep every log for them), two tenants with indexed posts and an API key each."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import make_envelope
from contracts.v1.posts import PostIngested
from tests.conftest import ROOT
from tests.helpers.chaos import Fleet, Producer, eventually, fleet_env, read_all
from tools.dataset import channel_posts


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


def create_key(pg_dsn: str, tenant: str, user: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.router.keys",
            "create",
            "--tenant",
            tenant,
            "--user",
            user,
        ],
        cwd=ROOT,
        env={**os.environ, "TGI_POSTGRES_DSN": pg_dsn},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def _tenant_posts() -> tuple[list[PostIngested], list[PostIngested]]:
    posts = [p for p in itertools.islice(channel_posts(), 3000) if len(p.text) > 200]
    by_channel: dict[str, list[PostIngested]] = {}
    for p in posts:
        by_channel.setdefault(p.channel_id, []).append(p)
    first, second = sorted(by_channel.values(), key=len, reverse=True)[:2]
    return first[:30], second[:20]


async def index_posts(stack_prefix: str, bootstrap: str, tenant: str, posts: list[Any]) -> None:
    """Publish ``posts`` for ``tenant`` and wait until the retrieval service announced them."""
    async with Producer(bootstrap) as producer:
        for post in posts:
            env = make_envelope(
                post,
                event_type="posts.ingested",
                schema_version=1,
                producer="tests@0",
                tenant_id=tenant,
            )
            await producer.send_envelope(
                stack_prefix + "posts.ingested.v1", env, key=f"{tenant}:{post.channel_id}"
            )
    wanted = {p.natural_key(tenant) for p in posts}

    async def indexed() -> bool:
        docs = await read_all(bootstrap, stack_prefix + "posts.indexed.v1")
        return wanted <= {_field(d, "post_id") for d in docs}

    await eventually(indexed, timeout_s=240, interval_s=2, what=f"{tenant}'s posts indexed")


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
        posts_a, posts_b = _tenant_posts()
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


def _field(doc: dict[str, Any], name: str) -> Any:
    """``doc.payload.<name>`` if it is a string (other tests park garbage on the same topics)."""
    payload = doc.get("payload")
    value = payload.get(name) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
