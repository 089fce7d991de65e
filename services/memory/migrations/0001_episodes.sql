-- Episodic memory: one row per lifecycle event, range-partitioned by month of occurred_at.
--
-- Retention is DROP TABLE of whole monthly partitions plus a bounded DELETE in the one
-- partition that straddles the cut-off; the service creates partitions ahead of time
-- (services/memory/adapters/partitions.py). The default partition catches outliers (events
-- far in the past or future); creating a partition later moves its rows out of the default.
--
-- Idempotency. A unique index on a partitioned table must contain the partition key, so
-- event_id alone cannot be unique across partitions. The key is (event_id, occurred_at):
-- a redelivered or replayed event carries the same bytes, hence the same id and occurred_at,
-- and lifecycle events re-emitted after a redelivery get a derived id AND the occurred_at of
-- their cause (servicekit/lifecycle.py), so every copy of one fact hits the same key and
-- INSERT ... ON CONFLICT DO NOTHING stores it once. Two events with one id and different
-- times would be a producer bug; both would be kept rather than one silently lost.
CREATE TABLE memory.episodes (
    event_id    uuid        NOT NULL,
    tenant_id   text        NOT NULL,
    run_id      text        NOT NULL,
    kind        text        NOT NULL,
    service     text        NOT NULL,
    domain      text        NOT NULL,
    user_id     text,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT episodes_pkey PRIMARY KEY (event_id, occurred_at),
    CONSTRAINT episodes_kind_check
        CHECK (kind IN ('run_started', 'run_completed', 'error', 'retry', 'quality_low')),
    CONSTRAINT episodes_tenant_check CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    CONSTRAINT episodes_run_check CHECK (length(run_id) BETWEEN 1 AND 128),
    CONSTRAINT episodes_service_check CHECK (service ~ '^[a-z][a-z0-9-]{0,31}$'),
    CONSTRAINT episodes_domain_check CHECK (length(domain) BETWEEN 1 AND 64),
    CONSTRAINT episodes_user_check CHECK (user_id IS NULL OR length(user_id) BETWEEN 1 AND 128),
    CONSTRAINT episodes_details_object CHECK (jsonb_typeof(details) = 'object'),
    -- The contract caps the compact UTF-8 encoding of details at 4096 bytes. jsonb's text
    -- form adds a space after every ':' and ',' (at most 1.5 times the compact size), so 8192
    -- admits every realistic contract-valid document while bounding writers that bypass the
    -- contract. (Numbers in exponent form, which jsonb prints in full, can exceed it; such an
    -- event is refused here and dead-lettered as invalid rather than stored.)
    CONSTRAINT episodes_details_size CHECK (octet_length(details::text) <= 8192)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE memory.episodes_default PARTITION OF memory.episodes DEFAULT;

-- "Latest N of a tenant", newest first, keyset-paginated on (occurred_at, event_id).
CREATE INDEX episodes_tenant_recent ON memory.episodes (tenant_id, occurred_at DESC, event_id DESC);
-- "Timeline of a run", oldest first.
CREATE INDEX episodes_tenant_run ON memory.episodes (tenant_id, run_id, occurred_at, event_id);
-- Rows arrive roughly in time order, so a BRIN index finds the rows before the cut-off in the
-- straddling partition for a few kilobytes instead of a scan per delete batch.
CREATE INDEX episodes_occurred_brin ON memory.episodes USING brin (occurred_at);
