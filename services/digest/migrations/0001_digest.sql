-- Digest service state: runs with their manifest, finished digests, personas, feedback.
--
-- runs.manifest holds references only (post ids, story ids, hashes, step statuses, timings,
-- budget use), never post text; its encoded size is capped at 100 KB by the service and by
-- the CHECK below. A run is keyed by (tenant_id, run_id), so the same request twice finds the
-- same run; digests.result is the DigestCompleted payload published for it, re-published
-- as is when the request is delivered again.
CREATE TABLE digest.runs (
    tenant_id      text        NOT NULL,
    run_id         text        NOT NULL,
    user_id        text        NOT NULL,
    request        jsonb       NOT NULL,
    status         text        NOT NULL
        CHECK (status IN ('running', 'completed', 'quality_low', 'failed')),
    manifest       jsonb       NOT NULL,
    manifest_bytes integer     NOT NULL CHECK (manifest_bytes <= 102400),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id)
);

CREATE TABLE digest.digests (
    tenant_id   text        NOT NULL,
    run_id      text        NOT NULL,
    status      text        NOT NULL,
    result      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id)
);

CREATE TABLE digest.personas (
    tenant_id   text        NOT NULL,
    persona_id  text        NOT NULL,
    profile     jsonb       NOT NULL,
    embedding   real[]      NOT NULL,
    summary     text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, persona_id)
);

CREATE TABLE digest.feedback (
    tenant_id   text        NOT NULL,
    user_id     text        NOT NULL,
    run_id      text        NOT NULL,
    rating      smallint    NOT NULL CHECK (rating IN (-1, 1)),
    comment     text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, run_id)
);
