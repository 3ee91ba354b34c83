-- Full-text search and the indexes behind every filter and sort of GET /v1/actions.

-- The names of the persons and bodies an action designates, kept by the service (and by
-- `riposte generate`) so that the search document below can include them: a generated
-- column may only read its own row.
ALTER TABLE actions ADD COLUMN designated_names text NOT NULL DEFAULT '';

-- What `q` searches, weighted so that a hit in the title ranks first. English stemming.
ALTER TABLE actions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, title), 'A')
    || setweight(to_tsvector('english'::regconfig, designated_names), 'B')
    || setweight(to_tsvector('english'::regconfig,
           coalesce(legal_basis, '') || ' ' || coalesce(program, '')), 'C')
    || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'D')
) STORED;

CREATE INDEX actions_search_idx ON actions USING gin (search);
CREATE INDEX actions_tags_idx ON actions USING gin (tags);
CREATE INDEX actions_severity_idx ON actions (severity, id);
CREATE INDEX actions_updated_idx ON actions (updated_at, id);
