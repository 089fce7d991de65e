-- Dead letters and their retry schedule. One row per failed message (per consumer group).
--
-- next_retry_at is "when the scheduler must act on this row next": the due time of a pending
-- retry, or the expiry of a lease while a retry is being published. It is NULL for every other
-- row, so one partial index serves the scheduler's due scan in order.
CREATE TABLE dlq_events (
    id                  uuid PRIMARY KEY,
    dead_letter_id      text NOT NULL,
    original_topic      text NOT NULL,
    original_partition  integer NOT NULL,
    original_offset     bigint NOT NULL,
    origin_attempt      integer NOT NULL,
    message_key         bytea,
    headers             jsonb NOT NULL DEFAULT '{}'::jsonb,
    payload             bytea NOT NULL,
    payload_truncated   boolean NOT NULL DEFAULT false,
    original_size       integer,
    payload_sha256      text,
    error_category      text NOT NULL CHECK (error_category IN ('invalid', 'retryable')),
    error_class         text NOT NULL,
    error_message       text NOT NULL,
    service             text NOT NULL,
    consumer_group      text NOT NULL,
    tenant_id           text NOT NULL,
    correlation_id      text,
    attempt             integer NOT NULL CHECK (attempt >= 0),
    max_attempts        integer NOT NULL CHECK (max_attempts >= 1),
    deliveries          integer NOT NULL CHECK (deliveries >= 0),
    replays             integer NOT NULL DEFAULT 0,
    status              text NOT NULL CHECK (status IN (
                            'pending', 'retrying', 'resolved', 'parked',
                            'failed_permanently', 'purged')),
    status_reason       text,
    first_failed_at     timestamptz NOT NULL,
    last_failed_at      timestamptz NOT NULL,
    next_retry_at       timestamptz,
    lease_owner         text,
    lease_token         uuid,
    lease_until         timestamptz,
    published_at        timestamptz,
    resolved_at         timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    -- the idempotency key of intake: a redelivered or re-produced dead letter of the same
    -- failed record (same topic, partition, offset, group and delivery attempt) is stored once
    CONSTRAINT dlq_events_origin UNIQUE (
        original_topic, original_partition, original_offset, consumer_group, origin_attempt),
    CONSTRAINT dlq_events_schedule_only_when_open
        CHECK (next_retry_at IS NULL OR status IN ('pending', 'retrying'))
);

-- the scheduler: due retries and expired leases, earliest first
CREATE INDEX dlq_events_due ON dlq_events (next_retry_at) WHERE next_retry_at IS NOT NULL;
-- the age of the oldest open entry (a gauge)
CREATE INDEX dlq_events_open_age ON dlq_events (first_failed_at)
    WHERE status IN ('pending', 'retrying');
-- operator filters, newest first (ids are UUIDv7, so id order is intake order)
CREATE INDEX dlq_events_status_id ON dlq_events (status, id DESC);
CREATE INDEX dlq_events_topic_id ON dlq_events (original_topic, status, id DESC);
CREATE INDEX dlq_events_service_id ON dlq_events (service, id DESC);
CREATE INDEX dlq_events_error_class_id ON dlq_events (error_class, id DESC);
CREATE INDEX dlq_events_first_failed ON dlq_events (first_failed_at);
