"""Hand-written fakes of the digest ports, and a post factory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.digest.domain.model import Post
from services.digest.domain.persona import Persona
from services.digest.ports import StoredRun

T0 = datetime(2024, 12, 3, 0, 0, tzinfo=UTC)


def post(
    channel: str,
    message_id: int,
    text: str,
    *,
    minutes: float = 0,
    tenant: str = "t1",
    **fields: Any,
) -> Post:
    """A post of ``channel`` at ``T0 + minutes``, with a ``t.me`` permalink."""
    return Post(
        post_id=f"{tenant}:{channel}:{message_id}",
        channel_id=channel,
        channel_title=f"Channel {channel}",
        message_id=message_id,
        date=T0 + timedelta(minutes=minutes),
        text=text,
        language="ru",
        permalink=f"https://t.me/c/{channel.lstrip('-')}/{message_id}",
        **fields,
    )


class FakePosts:
    """:class:`PostSource` over a list; ``down`` makes every call raise ``ConnectionError``;
    ``calls`` counts window reads."""

    def __init__(self, posts: Iterable[Post] = (), tenant: str = "t1") -> None:
        self.posts = list(posts)
        self.tenant = tenant
        self.window_calls = 0
        self.down = False

    async def window(
        self,
        tenant_id: str,
        channels: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        limit: int,
    ) -> list[Post]:
        if self.down:
            raise ConnectionError("posts down")
        self.window_calls += 1
        found = [
            p
            for p in self.posts
            if tenant_id == self.tenant and p.channel_id in channels and since <= p.date < until
        ]
        found.sort(key=lambda p: (p.date, p.post_id))
        return found[-limit:]

    async def by_ids(self, tenant_id: str, post_ids: Sequence[str]) -> list[Post]:
        if self.down:
            raise ConnectionError("posts down")
        wanted = set(post_ids)
        return [p for p in self.posts if tenant_id == self.tenant and p.post_id in wanted]

    def delete(self, post_id: str) -> None:
        """Remove a post (as a deletion upstream would)."""
        self.posts = [p for p in self.posts if p.post_id != post_id]

    def moved(self, post_id: str, **fields: Any) -> None:
        """Change a post's fields."""
        self.posts = [replace(p, **fields) if p.post_id == post_id else p for p in self.posts]


class FakeStore:
    """:class:`RunStore` in memory; manifests are kept encoded, like the real store."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.personas: dict[tuple[str, str], Persona] = {}
        self.saves = 0

    async def load(self, tenant_id: str, run_id: str) -> StoredRun | None:
        run = self.runs.get((tenant_id, run_id))
        if run is None:
            return None
        return StoredRun(run_id, run["status"], json.loads(run["manifest"]), run.get("result"))

    async def save_manifest(
        self,
        tenant_id: str,
        run_id: str,
        user_id: str,
        request: dict[str, Any],
        manifest: bytes,
    ) -> None:
        self.saves += 1
        run = self.runs.setdefault((tenant_id, run_id), {"status": "running"})
        if run["status"] == "running":
            run["manifest"] = manifest

    async def finish(
        self, tenant_id: str, run_id: str, status: str, manifest: bytes, result: dict[str, Any]
    ) -> None:
        run = self.runs.setdefault((tenant_id, run_id), {})
        run.update(status=status, manifest=manifest)
        run.setdefault("result", result)

    async def persona(self, tenant_id: str, persona_id: str) -> Persona | None:
        return self.personas.get((tenant_id, persona_id))
