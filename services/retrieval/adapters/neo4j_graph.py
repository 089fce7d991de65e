"""GraphStore on Neo4j (async driver 6.x): the entity graph of posts, written in batches.

Model: ``(:Channel)-[:POSTED]->(:Post)-[:MENTIONS]->(:Entity)``, ``(:Post)-[:REPLY_TO]->(:Post)``
(to a stub ``{stub: true}`` if the replied post is not there yet) and
``(:Post)-[:FORWARDED_FROM]->(:Channel)``. Keys: (tenant_id, post_id), (tenant_id, channel_id),
(tenant_id, normalized) — every node carries its tenant and every pattern matches on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import neo4j
from neo4j.exceptions import ClientError

from contracts.v1.common import post_id as make_post_id
from services.retrieval.adapters import neo4j_cypher as cy

# One definition of "a post's entity names" and "a tenant is required" for both stores.
from services.retrieval.adapters.qdrant_payload import entity_names, require_tenant
from services.retrieval.domain.model import Entity, Post

_Row = dict[str, Any]
_CHUNK: Final = 500
_EQUIVALENT_RULE: Final = "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists"


def expansion_score(links: int, hop: int) -> float:
    """``links / (links + 1) · 0.5^(hop − 1)``: more shared entities (and replies) score higher,
    and any post one hop closer scores higher still (hop 1 ∈ [0.5, 1), hop 2 ∈ [0.25, 0.5)…)."""
    return links / (links + 1) * 0.5 ** (hop - 1)


class Neo4jGraph:
    """:class:`~services.retrieval.ports.GraphStore` on a Neo4j database.

    Guarantees: writes are idempotent (MERGE on the keys above) and batched (``UNWIND``, at
    most 500 posts per transaction, retried by the driver on transient errors such as
    deadlocks); an edited post replaces its MENTIONS, reply and forward edges; reads never cross
    tenants; all Cypher is constant with parameters. ``expand`` skips hub entities mentioned by
    more than ``hub_limit`` posts and follows at most ``limit`` posts per hop.
    Raises ``ValueError`` for an empty tenant; driver errors (``neo4j.exceptions.*``,
    ``ServiceUnavailable`` when the server is down) propagate.
    """

    def __init__(
        self, driver: neo4j.AsyncDriver, *, database: str | None = None, hub_limit: int = 200
    ) -> None:
        self._driver = driver
        self._database = database
        self._hub_limit = hub_limit

    @classmethod
    def connect(
        cls,
        uri: str,
        *,
        auth: tuple[str, str] | None = None,
        database: str | None = None,
        hub_limit: int = 200,
    ) -> Neo4jGraph:
        """A graph store with its own driver (closed by :meth:`close`); connects lazily."""
        driver = neo4j.AsyncGraphDatabase.driver(uri, auth=auth, connection_timeout=5.0)
        return cls(driver, database=database, hub_limit=hub_limit)

    async def ensure_schema(self) -> None:
        """Create the three uniqueness constraints (each backs the index MERGE looks up)."""
        for statement in cy.SCHEMA:
            try:
                await self._driver.execute_query(statement, database_=self._database)
            except ClientError as exc:  # another replica created it concurrently
                if exc.code != _EQUIVALENT_RULE:
                    raise

    async def write_posts(self, posts: Sequence[Post]) -> None:
        """Merge posts with their channel, entities, reply and forward edges."""
        for start in range(0, len(posts), _CHUNK):
            chunk = posts[start : start + _CHUNK]
            async with self._driver.session(database=self._database) as session:
                await session.execute_write(_write_chunk, _rows(chunk))

    async def delete_posts(self, tenant_id: str, post_ids: Sequence[str]) -> None:
        """Delete the tenant's posts (and entities left unmentioned); unknown ids are ignored."""
        if not post_ids:
            return
        params = {"tenant": require_tenant(tenant_id), "post_ids": list(post_ids)}
        async with self._driver.session(database=self._database) as session:
            await session.execute_write(_delete, params)

    async def expand(
        self, tenant_id: str, post_ids: Sequence[str], *, depth: int, limit: int
    ) -> list[tuple[str, float]]:
        """Posts within ``depth`` hops of the seeds, scored by :func:`expansion_score`, best
        first (ties by post id), seeds and stubs excluded, at most ``limit``."""
        require_tenant(tenant_id)
        visited = set(post_ids)
        frontier = list(visited)
        found: dict[str, float] = {}
        for hop in range(1, depth + 1):
            if not frontier or limit <= 0 or len(found) >= limit:
                break  # every later hop scores below every post already found
            # An auto-commit read: one round trip and a third less driver work per hop than
            # a managed transaction (measured); a failed hop degrades the leg, not retried.
            async with self._driver.session(
                database=self._database, default_access_mode=neo4j.READ_ACCESS
            ) as session:
                result = await session.run(
                    cy.EXPAND_HOP,
                    {
                        "tenant": tenant_id,
                        "frontier": frontier,
                        "visited": sorted(visited),
                        "hub_limit": self._hub_limit,
                        "fanout": limit,
                    },
                )
                records = [record async for record in result]
            frontier = [r["post_id"] for r in records]
            visited.update(frontier)
            for r in records:
                if not r["stub"]:
                    found[r["post_id"]] = expansion_score(r["links"], hop)
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[: max(limit, 0)]

    async def ping(self) -> None:
        """Raise unless the server accepts a connection."""
        await self._driver.verify_connectivity()

    async def close(self) -> None:
        """Close the driver (the store owns it, injected or not)."""
        await self._driver.close()


async def _write_chunk(tx: neo4j.AsyncManagedTransaction, rows: dict[str, list[_Row]]) -> None:
    await (await tx.run(cy.MERGE_CHANNELS, rows=rows["channels"])).consume()
    result = await tx.run(cy.MERGE_POSTS, rows=rows["posts"])
    dropped = [
        {"tenant_id": r["tenant_id"], "normalized": name}
        async for r in result
        for name in r["dropped"]
    ]
    for statement, key in (
        (cy.MERGE_MENTIONS, "mentions"),
        (cy.MERGE_REPLIES, "replies"),
        (cy.MERGE_FORWARDS, "forwards"),
    ):
        if rows[key]:
            await (await tx.run(statement, rows=rows[key])).consume()
    if dropped:  # after the new MENTIONS: another post of the batch may have taken one over
        await (await tx.run(cy.DROP_ORPHAN_ENTITIES, rows=dropped)).consume()


async def _delete(tx: neo4j.AsyncManagedTransaction, params: dict[str, Any]) -> None:
    result = await tx.run(cy.MENTIONED_BY, params)
    mentioned = [
        {"tenant_id": params["tenant"], "normalized": r["normalized"]} async for r in result
    ]
    await (await tx.run(cy.DELETE_POSTS, params)).consume()
    await (await tx.run(cy.DROP_ORPHAN_ENTITIES, rows=mentioned)).consume()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _newest(posts: Sequence[Post]) -> list[Post]:
    """One version per post: the newest edit, else the last given (as PostgresPosts keeps)."""
    floor = datetime.min.replace(tzinfo=UTC)
    chosen: dict[tuple[str, str], Post] = {}
    for post in posts:
        key = (post.tenant_id, post.post_id)
        held = chosen.get(key)
        if held is None or (_aware(post.edit_date) or floor) >= (_aware(held.edit_date) or floor):
            chosen[key] = post
    return list(chosen.values())


def _rows(posts: Sequence[Post]) -> dict[str, list[_Row]]:
    """The parameter lists of one chunk; sorted by key so concurrent writers lock in order."""
    channels: dict[tuple[str, str], _Row] = {}
    rows: dict[str, list[_Row]] = {k: [] for k in ("posts", "mentions", "replies", "forwards")}
    for post in sorted(_newest(posts), key=lambda p: (p.tenant_id, p.post_id)):
        tenant = require_tenant(post.tenant_id)
        channels[(tenant, post.channel_id)] = {
            "tenant_id": tenant,
            "channel_id": post.channel_id,
            "title": post.channel_title,
            "kind": post.chat_kind,
        }
        names = entity_names(post)
        target = (
            make_post_id(tenant, post.channel_id, post.reply_to_message_id)
            if post.reply_to_message_id is not None
            else None
        )
        rows["posts"].append(
            {
                "tenant_id": tenant,
                "post_id": post.post_id,
                "channel_id": post.channel_id,
                "entities": names,
                "reply_to": target,
                "forwarded_from": post.forwarded_from,
                "props": {
                    "channel_id": post.channel_id,
                    "message_id": post.message_id,
                    "date": _aware(post.date),
                    "edit_date": _aware(post.edit_date),
                    "language": post.analysis.language,
                    "chat_kind": post.chat_kind,
                },
            }
        )
        first: dict[str, Entity] = {}
        for e in post.analysis.entities:
            first.setdefault(e.normalized, e)
        for name in names:
            entity = first[name]
            rows["mentions"].append(
                {
                    "tenant_id": tenant,
                    "post_id": post.post_id,
                    "normalized": name,
                    "label": entity.label,
                    "text": entity.text,
                }
            )
        if target is not None:
            rows["replies"].append(
                {
                    "tenant_id": tenant,
                    "post_id": post.post_id,
                    "target": target,
                    "channel_id": post.channel_id,
                    "message_id": post.reply_to_message_id,
                }
            )
        if post.forwarded_from:
            rows["forwards"].append(
                {"tenant_id": tenant, "post_id": post.post_id, "source": post.forwarded_from}
            )
    rows["mentions"].sort(key=lambda r: (r["tenant_id"], r["normalized"], r["post_id"]))
    return {"channels": sorted(channels.values(), key=_channel_key), **rows}


def _channel_key(row: _Row) -> tuple[str, str]:
    return row["tenant_id"], row["channel_id"]
