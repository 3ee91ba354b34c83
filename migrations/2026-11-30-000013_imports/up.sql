-- Bulk import (riposte import, POST /v1/imports).
--
-- An action may carry the identifier another dataset gives it (a GDELT GLOBALEVENTID, a
-- PLOVER id, a row of the importer's own): re-importing the same record finds the action by
-- it and updates it instead of adding a copy. Unique within its dataset; no dataset is a
-- dataset of its own.
ALTER TABLE actions
    ADD COLUMN external_id text,
    ADD COLUMN source_dataset text,
    ADD CONSTRAINT actions_external_id_check
        CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 200),
    ADD CONSTRAINT actions_source_dataset_check
        CHECK (source_dataset IS NULL OR source_dataset ~ '^[a-z0-9][a-z0-9_.-]{0,49}$'),
    ADD CONSTRAINT actions_source_dataset_needs_external_id
        CHECK (source_dataset IS NULL OR external_id IS NOT NULL);
CREATE UNIQUE INDEX actions_external_key ON actions (coalesce(source_dataset, ''), external_id)
    WHERE external_id IS NOT NULL;

-- Whether `authority` acts for `state`: it is the state, belongs to it (`country`), or one of
-- its parents up the chain is or belongs to it. The one definition, for the API's checks and
-- for imports. Parent chains have no loops (checked on write); the depth bound only keeps a
-- corrupted one from running away.
CREATE FUNCTION actor_acts_for(authority uuid, state uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(id, country, parent_id, depth) AS (
        SELECT id, country, parent_id, 0 FROM actors WHERE id = authority
        UNION ALL
        SELECT a.id, a.country, a.parent_id, up.depth + 1
        FROM actors a JOIN up ON a.id = up.parent_id WHERE up.depth < 100)
    SELECT EXISTS (SELECT 1 FROM up, actors s
                   WHERE s.id = state AND (up.id = s.id OR up.country = s.code))
$$;

-- Import jobs: what was asked, how far it got, what it did. A job runs in one process;
-- `heartbeat_at` moves while it runs, so a job whose process died shows as interrupted.
CREATE TABLE imports (
    id           uuid PRIMARY KEY,
    format       text NOT NULL CHECK (format IN ('ndjson', 'plover', 'gdelt')),
    partial      boolean NOT NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    origin       text NOT NULL CHECK (origin IN ('api', 'cli')),
    file_name    text,
    bytes        bigint NOT NULL DEFAULT 0,
    read         bigint NOT NULL DEFAULT 0,
    created      bigint NOT NULL DEFAULT 0,
    updated      bigint NOT NULL DEFAULT 0,
    unchanged    bigint NOT NULL DEFAULT 0,
    rejected     bigint NOT NULL DEFAULT 0,
    actors_created bigint NOT NULL DEFAULT 0,
    -- Records of a foreign format that cannot become actions, by reason: {"no_target": 12}.
    skipped      jsonb NOT NULL DEFAULT '{}',
    error        text,
    api_key_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    heartbeat_at timestamptz
);
CREATE INDEX imports_created_idx ON imports (created_at DESC, id DESC);

-- The rejected lines of a job, each with its per-field messages ([{"field", "message"}]);
-- the first MAX_REPORTED_REJECTIONS of them (the count in `imports.rejected` is exact).
CREATE TABLE import_rejections (
    import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      bigint NOT NULL,
    errors    jsonb NOT NULL,
    PRIMARY KEY (import_id, line)
);
