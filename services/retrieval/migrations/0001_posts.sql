-- Canonical posts of the retrieval service, one row per (tenant, channel, message).
--
-- Deletes are hard deletes: a deleted post is gone for every reader at once, no query has to
-- remember a "deleted" flag. content_hash covers everything indexed (text, analysis, metadata)
-- except the counters views/forwards, so a re-run of the same export is "unchanged" while a
-- later export still refreshes the counters. An event with an older edit_date than the stored
-- one (a late redelivery) never overwrites the newer version.
--
-- indexed_at is NULL until the indexer has written the post to Qdrant and Neo4j as well
-- (mark_indexed); a content change sets it back to NULL. seq is the order rows were first
-- stored, which is what "an earlier post" means for near-duplicates: it never changes, so
-- re-running a batch finds the same originals whatever the posts' own dates.
--
-- Near-duplicates: the 64-bit SimHash (stored signed) is split into four 16-bit bands. Two
-- hashes within 3 bits of each other agree on at least one band (pigeonhole), so "equal on
-- any band" finds every candidate through four small btree indexes; the exact Hamming distance
-- is then checked on those candidates only.
CREATE TABLE retrieval.posts (
    seq                 bigint      GENERATED ALWAYS AS IDENTITY,
    tenant_id           text        NOT NULL,
    channel_id          text        NOT NULL,
    message_id          bigint      NOT NULL,
    post_id             text        NOT NULL,
    channel_title       text,
    chat_kind           text        NOT NULL,
    date                timestamptz NOT NULL,
    edit_date           timestamptz,
    text                text        NOT NULL,
    clean_text          text        NOT NULL,
    language            text        NOT NULL,
    entities            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    keywords            text[]      NOT NULL DEFAULT '{}',
    author_id           text,
    author_name         text,
    reply_to_message_id bigint,
    forwarded_from      text,
    views               bigint,
    forwards            bigint,
    permalink           text,
    duplicate_of        text,
    simhash             bigint      NOT NULL,
    simhash_b0          integer     GENERATED ALWAYS AS (simhash & 65535) STORED,
    simhash_b1          integer     GENERATED ALWAYS AS ((simhash >> 16) & 65535) STORED,
    simhash_b2          integer     GENERATED ALWAYS AS ((simhash >> 32) & 65535) STORED,
    simhash_b3          integer     GENERATED ALWAYS AS ((simhash >> 48) & 65535) STORED,
    content_hash        bytea       NOT NULL,
    indexed_at          timestamptz,
    CONSTRAINT posts_pkey PRIMARY KEY (tenant_id, channel_id, message_id),
    CONSTRAINT posts_post_id_key UNIQUE (tenant_id, post_id),
    CONSTRAINT posts_chat_kind_check CHECK (chat_kind IN ('channel', 'group')),
    CONSTRAINT posts_tenant_check CHECK (length(tenant_id) BETWEEN 1 AND 64),
    CONSTRAINT posts_entities_array CHECK (jsonb_typeof(entities) = 'array')
);

CREATE INDEX posts_simhash_b0 ON retrieval.posts (tenant_id, simhash_b0);
CREATE INDEX posts_simhash_b1 ON retrieval.posts (tenant_id, simhash_b1);
CREATE INDEX posts_simhash_b2 ON retrieval.posts (tenant_id, simhash_b2);
CREATE INDEX posts_simhash_b3 ON retrieval.posts (tenant_id, simhash_b3);
