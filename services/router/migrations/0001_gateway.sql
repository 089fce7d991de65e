-- The gateway's state: API keys (hashed), runs (every request the router answered or handed
-- to the smart path) and conversation turns (history for follow-ups and the LLM prompt).

-- An API key is shown once; only its SHA-256 is stored. Keys carry 256 random bits, so a
-- fast hash is enough (no password stretching needed). key_id is the public, printable part
-- used to list and revoke keys; it is not a secret.
CREATE TABLE router.api_keys (
    key_id      text        PRIMARY KEY,
    key_hash    bytea       NOT NULL UNIQUE,
    tenant_id   text        NOT NULL,
    user_id     text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT api_keys_hash_size CHECK (octet_length(key_hash) = 32),
    CONSTRAINT api_keys_tenant_check CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    CONSTRAINT api_keys_user_check CHECK (user_id ~ '^\S{1,128}$'),
    CONSTRAINT api_keys_name_check CHECK (length(name) <= 200)
);
CREATE INDEX api_keys_tenant ON router.api_keys (tenant_id, created_at);

CREATE TABLE router.runs (
    run_id       text        NOT NULL,
    tenant_id    text        NOT NULL,
    user_id      text        NOT NULL,
    kind         text        NOT NULL,
    status       text        NOT NULL,
    request      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    result       jsonb,
    error        text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    completed_at timestamptz,
    -- Run ids are unique per tenant; every read names the tenant, so one tenant can never
    -- reach (or learn of) another's run by guessing its id.
    CONSTRAINT runs_pkey PRIMARY KEY (tenant_id, run_id),
    CONSTRAINT runs_kind_check CHECK (kind IN ('qa', 'digest', 'trend', 'memory', 'help', 'unsupported')),
    CONSTRAINT runs_status_check
        CHECK (status IN ('accepted', 'running', 'completed', 'failed', 'quality_low')),
    CONSTRAINT runs_id_check CHECK (length(run_id) BETWEEN 1 AND 128)
);
-- "The user's latest runs" (status questions), newest first.
CREATE INDEX runs_user_recent ON router.runs (tenant_id, user_id, created_at DESC);

CREATE TABLE router.turns (
    turn_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text        NOT NULL,
    user_id      text        NOT NULL,
    run_id       text        NOT NULL,
    query        text        NOT NULL,
    answer       text        NOT NULL,
    route        text        NOT NULL,
    window_since timestamptz,
    window_until timestamptz,
    window_label text,
    created_at   timestamptz NOT NULL
);
-- "The last N turns of a user within 24 h", and the retention delete by time.
CREATE INDEX turns_user_recent ON router.turns (tenant_id, user_id, created_at DESC);
CREATE INDEX turns_created ON router.turns USING brin (created_at);
