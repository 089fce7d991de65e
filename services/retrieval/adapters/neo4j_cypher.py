"""The Cypher of the entity graph. Every statement is a constant: values only ever arrive as
parameters (``$rows``, ``$tenant``), never spliced into the text, so no post, entity or channel
text can change what a statement does. Every node pattern names its ``tenant_id``.
"""

from __future__ import annotations

from typing import Final

SCHEMA: Final = (
    "CREATE CONSTRAINT retrieval_post_key IF NOT EXISTS"
    " FOR (p:Post) REQUIRE (p.tenant_id, p.post_id) IS UNIQUE",
    "CREATE CONSTRAINT retrieval_channel_key IF NOT EXISTS"
    " FOR (c:Channel) REQUIRE (c.tenant_id, c.channel_id) IS UNIQUE",
    "CREATE CONSTRAINT retrieval_entity_key IF NOT EXISTS"
    " FOR (e:Entity) REQUIRE (e.tenant_id, e.normalized) IS UNIQUE",
)

MERGE_CHANNELS: Final = """
UNWIND $rows AS r
MERGE (c:Channel {tenant_id: r.tenant_id, channel_id: r.channel_id})
SET c.title = coalesce(r.title, c.title), c.kind = r.kind, c.stub = false
"""

# A re-written post keeps the MENTIONS it still has and loses the others; a stub (created as
# the target of a reply before the post itself arrived) becomes a full post here. Returns the
# entities whose MENTIONS were dropped, to delete those left unmentioned at the end. Patterns
# that start from the bound post leave the far node unlabelled on purpose: with a label, the
# planner may seek the (tenant_id, …) index for every entity of the tenant instead of
# following the post's few relationships (measured: 7x slower writes at 5 000 posts).
MERGE_POSTS: Final = """
UNWIND $rows AS r
MERGE (p:Post {tenant_id: r.tenant_id, post_id: r.post_id})
SET p += r.props, p.stub = false
WITH p, r
MATCH (c:Channel {tenant_id: r.tenant_id, channel_id: r.channel_id})
MERGE (c)-[:POSTED]->(p)
WITH p, r
CALL (p, r) {
  OPTIONAL MATCH (p)-[m:MENTIONS]->(e)
  WHERE e.tenant_id = r.tenant_id AND NOT e.normalized IN r.entities
  DELETE m
  RETURN collect(e.normalized) AS dropped
}
CALL (p, r) {
  MATCH (p)-[x:REPLY_TO]->(t:Post {tenant_id: r.tenant_id})
  WHERE r.reply_to IS NULL OR t.post_id <> r.reply_to
  DELETE x
}
CALL (p, r) {
  MATCH (p)-[x:FORWARDED_FROM]->(s:Channel {tenant_id: r.tenant_id})
  WHERE r.forwarded_from IS NULL OR s.channel_id <> r.forwarded_from
  DELETE x
}
RETURN r.tenant_id AS tenant_id, dropped
"""

MERGE_MENTIONS: Final = """
UNWIND $rows AS r
MATCH (p:Post {tenant_id: r.tenant_id, post_id: r.post_id})
MERGE (e:Entity {tenant_id: r.tenant_id, normalized: r.normalized})
ON CREATE SET e.label = r.label, e.text = r.text
MERGE (p)-[:MENTIONS]->(e)
"""

MERGE_REPLIES: Final = """
UNWIND $rows AS r
MATCH (p:Post {tenant_id: r.tenant_id, post_id: r.post_id})
MERGE (t:Post {tenant_id: r.tenant_id, post_id: r.target})
ON CREATE SET t.stub = true, t.channel_id = r.channel_id, t.message_id = r.message_id
MERGE (p)-[:REPLY_TO]->(t)
"""

MERGE_FORWARDS: Final = """
UNWIND $rows AS r
MATCH (p:Post {tenant_id: r.tenant_id, post_id: r.post_id})
MERGE (s:Channel {tenant_id: r.tenant_id, channel_id: r.source})
ON CREATE SET s.stub = true
MERGE (p)-[:FORWARDED_FROM]->(s)
"""

# Entities nobody mentions any more (after an edit or a delete) are dropped, so the graph keeps
# no dangling nodes; only the entities named in $rows are looked at.
DROP_ORPHAN_ENTITIES: Final = """
UNWIND $rows AS r
MATCH (e:Entity {tenant_id: r.tenant_id, normalized: r.normalized})
WHERE NOT EXISTS { (e)<-[:MENTIONS]-(:Post) }
DELETE e
"""

MENTIONED_BY: Final = """
UNWIND $post_ids AS pid
MATCH (:Post {tenant_id: $tenant, post_id: pid})-[:MENTIONS]->(e:Entity {tenant_id: $tenant})
RETURN DISTINCT e.normalized AS normalized
"""

DELETE_POSTS: Final = """
UNWIND $post_ids AS pid
MATCH (p:Post {tenant_id: $tenant, post_id: pid})
DETACH DELETE p
"""

# One hop of the expansion: posts linked to the frontier through an entity that is not a hub
# (mentioned by at most $hub_limit posts) or through a reply in either direction. ``links``
# counts distinct shared entities plus distinct replying/replied frontier posts.
EXPAND_HOP: Final = """
MATCH (p:Post {tenant_id: $tenant})
WHERE p.post_id IN $frontier
CALL (p) {
  MATCH (p)-[:MENTIONS]->(e:Entity {tenant_id: $tenant})
  WHERE COUNT { (e)<-[:MENTIONS]-() } <= $hub_limit
  MATCH (e)<-[:MENTIONS]-(q:Post {tenant_id: $tenant})
  RETURN q, e AS via
  UNION
  MATCH (p)-[:REPLY_TO]-(q:Post {tenant_id: $tenant})
  RETURN q, p AS via
}
WITH q, count(DISTINCT via) AS links
WHERE NOT q.post_id IN $visited
RETURN q.post_id AS post_id, links, coalesce(q.stub, false) AS stub
ORDER BY links DESC, post_id
LIMIT $fanout
"""
