"""What the tests of the gateway share: API keys made with the key CLI, two tenants' worth of
real posts, and posts indexed by a running retrieval service."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from typing import Any

from contracts.v1.posts import PostIngested
from tests.helpers.chaos import Producer, eventually, read_all
from tools.dataset import channel_posts
from tools.report import REPO


def create_key(pg_dsn: str, tenant: str, user: str) -> str:
    """A new API key of ``tenant``/``user``, made by ``python -m services.router.keys``."""
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
        cwd=REPO,
        env={**os.environ, "TGI_POSTGRES_DSN": pg_dsn},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def two_channels(first: int, second: int) -> tuple[list[PostIngested], list[PostIngested]]:
    """Long real posts (over 200 characters) of the two channels that have the most of them
    among the dataset's first 3 000 posts: ``first`` of one channel, ``second`` of the other."""
    posts = [p for p in itertools.islice(channel_posts(), 3000) if len(p.text) > 200]
    by_channel: dict[str, list[PostIngested]] = {}
    for p in posts:
        by_channel.setdefault(p.channel_id, []).append(p)
    one, other = sorted(by_channel.values(), key=len, reverse=True)[:2]
    return one[:first], other[:second]


async def index_posts(stack_prefix: str, bootstrap: str, tenant: str, posts: list[Any]) -> None:
    """Publish ``posts`` for ``tenant`` and wait until the retrieval service announced them."""
    async with Producer(bootstrap) as producer:
        for post in posts:
            await producer.send_post(stack_prefix, tenant, post)
    wanted = {p.natural_key(tenant) for p in posts}

    async def indexed() -> bool:
        docs = await read_all(bootstrap, stack_prefix + "posts.indexed.v1")
        return wanted <= {_post_id(d) for d in docs}

    await eventually(indexed, timeout_s=240, interval_s=2, what=f"{tenant}'s posts indexed")


def _post_id(doc: dict[str, Any]) -> str | None:
    """``doc.payload.post_id`` if it is a string (other tests park garbage on the same topics)."""
    payload = doc.get("payload")
    value = payload.get("post_id") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
