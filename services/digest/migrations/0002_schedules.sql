-- Digest schedules: digests the service requests itself, per user (and persona), on a cadence.
--
-- A row is what a digest.requested.v1 needs (kind, channels, exactly one of period_days and
-- window_hours, mode, language, formats; the same rules as the contract, checked again here)
-- plus when: `cadence` ('daily 08:00', 'weekly mon,thu 08:00', 'every 6h'; canonical text
-- written by services/digest/domain/cadence.py) in the IANA `timezone`, and `next_due_at`,
-- the next slot as an instant. The service's schedule loop claims enabled rows whose
-- next_due_at has passed with FOR UPDATE SKIP LOCKED, publishes one request per row whose run
-- id derives from (schedule_id, slot), and moves next_due_at past now in the same
-- transaction. persona_id NULL means the user's own persona (the personas batch stores it
-- under the user id). `deployment` is the topic prefix of the service that wrote the row: a
-- service claims, lists and changes only its own deployment's rows, so installations sharing a
-- database never fire each other's schedules.
CREATE TABLE digest.schedules (
    schedule_id   uuid        PRIMARY KEY,
    deployment    text        NOT NULL DEFAULT '',
    tenant_id     text        NOT NULL,
    user_id       text        NOT NULL,
    name          text        NOT NULL,
    persona_id    text,
    kind          text        NOT NULL CHECK (kind IN ('channel', 'group')),
    channels      text[]      NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 100),
    period_days   smallint    CHECK (period_days IN (1, 7, 30)),
    window_hours  smallint    CHECK (window_hours IN (4, 6, 12, 24)),
    mode          text        NOT NULL DEFAULT 'smart' CHECK (mode IN ('fast', 'smart')),
    language      text,
    formats       text[]      NOT NULL DEFAULT '{markdown}',
    cadence       text        NOT NULL CHECK (length(cadence) BETWEEN 1 AND 120),
    timezone      text        NOT NULL DEFAULT 'UTC',
    enabled       boolean     NOT NULL DEFAULT true,
    next_due_at   timestamptz NOT NULL,
    last_slot_at  timestamptz,
    last_run_id   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_name_unique UNIQUE (deployment, tenant_id, user_id, name),
    CONSTRAINT schedules_window_matches_kind CHECK (
        (kind = 'channel' AND period_days IS NOT NULL AND window_hours IS NULL)
        OR (kind = 'group' AND window_hours IS NOT NULL AND period_days IS NULL)
    )
);

-- The loop's claim: enabled rows by next_due_at.
CREATE INDEX schedules_due ON digest.schedules (deployment, next_due_at) WHERE enabled;
