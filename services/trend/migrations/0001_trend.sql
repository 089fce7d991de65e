-- Trend service state: story clusters, their members, entity counters, the event-time clock
-- per tenant, posts held for event-time ordering (inbox), and detections (outbox).
--
-- Idempotency per post: a post id enters the inbox once, and not at all once it is a story
-- member; members are keyed by (tenant_id, post_id). Counters are written as absolute values
-- computed in memory, so writing the same state twice changes nothing. A processing step
-- writes stories, members, counters, the clock, the deletion of its inbox rows and its
-- detections in ONE transaction: a crash leaves either all of it or none.

CREATE TABLE trend.tenants (
    tenant_id   text PRIMARY KEY,
    now         timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trend.inbox (
    tenant_id   text        NOT NULL,
    post_id     text        NOT NULL,
    date        timestamptz NOT NULL,
    source      integer,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, post_id)
);

CREATE TABLE trend.stories (
    tenant_id        text        NOT NULL,
    story_id         text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('active', 'merged', 'retired')),
    merged_into      text,
    embedding_model  text        NOT NULL,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    size             integer     NOT NULL,
    vectors          integer     NOT NULL,
    vector_sum       float8[]    NOT NULL,
    state            jsonb       NOT NULL,
    last_emerging_at timestamptz,
    last_stable_at   timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, story_id)
);
CREATE INDEX stories_active ON trend.stories (tenant_id) WHERE status = 'active';

CREATE TABLE trend.story_posts (
    tenant_id   text        NOT NULL,
    post_id     text        NOT NULL,
    story_id    text        NOT NULL,
    channel_id  text        NOT NULL,
    message_id  integer     NOT NULL,
    date        timestamptz NOT NULL,
    text        text        NOT NULL,
    permalink   text,
    counted     boolean     NOT NULL,
    duplicate   boolean     NOT NULL,
    vector      real[],
    PRIMARY KEY (tenant_id, post_id)
);
CREATE INDEX story_posts_story ON trend.story_posts (tenant_id, story_id);

CREATE TABLE trend.entity_buckets (
    tenant_id   text    NOT NULL,
    entity      text    NOT NULL,
    bucket      bigint  NOT NULL,
    count       integer NOT NULL,
    PRIMARY KEY (tenant_id, entity, bucket)
);
CREATE INDEX entity_buckets_recent ON trend.entity_buckets (tenant_id, bucket);

CREATE TABLE trend.detections (
    tenant_id    text        NOT NULL,
    trend_id     text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('emerging', 'stable')),
    detected_at  timestamptz NOT NULL,
    event_id     uuid        NOT NULL,
    payload      jsonb       NOT NULL,
    published_at timestamptz,
    PRIMARY KEY (tenant_id, trend_id, kind, detected_at)
);
CREATE INDEX detections_unpublished ON trend.detections (detected_at) WHERE published_at IS NULL;
