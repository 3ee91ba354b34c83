-- Stored action documents (issue #15): each action's API document, kept ready so that reads
-- send it as stored instead of assembling it from six tables on every request.
--
-- The document is defined once, here, by render_action_documents(). Its embedded actors are
-- not written out: each stands as the marker "\u0000<actor id>" (a JSON string no stored text
-- can produce, since PostgreSQL text holds no NUL), which the server replaces with the actor
-- from its in-process cache (src/documents/). Renaming an actor used by 250,000 actions thus
-- rewrites nothing here; see docs/ARCHITECTURE.md, "Stored documents".
--
-- Upkeep: statement triggers on actions, designations, sources and responses mark the actions
-- whose document may have changed (action_documents_dirty, one row per action and
-- transaction); flush_action_documents() renders the marked ones in one set-based statement
-- and bumps `version` where the text changed. Writers call it before they read the document
-- back; a deferred constraint trigger calls it at commit for whatever is still marked, so no
-- write path can leave a document stale. check_action_documents() renders everything from
-- scratch and lists what disagrees (tests call it after every kind of write).

CREATE TABLE action_documents (
    id      uuid PRIMARY KEY REFERENCES actions ON DELETE CASCADE,
    -- 1 when first written, +1 whenever the text changes: the ETag's source.
    version bigint NOT NULL DEFAULT 1,
    -- Not deleted: a read that hides deleted actions needs only this table.
    live    boolean NOT NULL,
    body    text NOT NULL
);

-- chrono's RFC 3339 form, which the API has always used: UTC, `Z`, and 0, 3 or 6 fractional
-- digits as needed.
CREATE FUNCTION json_timestamp(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '"' || to_char(t AT TIME ZONE 'UTC',
        CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS'
             WHEN extract(microseconds FROM t)::bigint % 1000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS.MS'
             ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || 'Z"'
$$;

CREATE FUNCTION json_value(v anyelement) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(to_json(v)::text, 'null')
$$;

-- A float as serde writes it: integral values keep a `.0` (-8.0, not -8).
CREATE FUNCTION json_float(v float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN v = trunc(v) THEN to_json(v)::text || '.0' ELSE to_json(v)::text END
$$;

-- Where the server puts an actor's `{"id", "code", "name", "kind"}`.
CREATE FUNCTION actor_marker(id uuid) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '"\u0000' || id::text || '"'
$$;

-- The documents of the given actions (deleted ones too; purged ones are simply absent), as
-- GET /v1/actions/{id} sends them once the markers are replaced. Keys in the order of
-- `views::Action`; designations by actor id (an order no rename can change), sources in the
-- order given, answers by the id answered.
CREATE FUNCTION render_action_documents(ids uuid[])
RETURNS TABLE (id uuid, live boolean, body text)
LANGUAGE sql STABLE AS $$
    WITH des AS (
        SELECT d.action_id, string_agg('{"actor":' || actor_marker(d.actor_id)
                   || ',"listed_on":' || json_value(d.listed_on) || '}', ',' ORDER BY d.actor_id) AS j
        FROM designations d WHERE d.action_id = ANY (ids) GROUP BY d.action_id),
    src AS (
        SELECT s.action_id, string_agg('{"url":' || to_json(s.url) || ',"publisher":'
                   || json_value(s.publisher) || ',"published_on":' || json_value(s.published_on)
                   || ',"quote":' || json_value(s.quote) || '}', ',' ORDER BY s.id) AS j
        FROM sources s WHERE s.action_id = ANY (ids) GROUP BY s.action_id),
    resp AS (
        SELECT r.action_id, string_agg('{"action":"' || r.responds_to_id || '","relation":'
                   || to_json(r.relation) || '}', ',' ORDER BY r.responds_to_id) AS j
        FROM responses r WHERE r.action_id = ANY (ids) GROUP BY r.action_id)
    SELECT a.id, a.deleted_at IS NULL, '{"id":"' || a.id || '","title":' || to_json(a.title)
        || ',"summary":' || json_value(a.summary)
        || ',"initiator":' || actor_marker(a.initiator_id)
        || ',"target":' || actor_marker(a.target_id)
        || ',"authority":' || coalesce(actor_marker(a.authority_id), 'null')
        || ',"type":' || to_json(a.type_code) || ',"category":' || to_json(t.category)
        || ',"status":' || to_json(a.status) || ',"announced_on":' || to_json(a.announced_on)
        || ',"date_precision":' || to_json(a.date_precision)
        || ',"effective_from":' || json_value(a.effective_from)
        || ',"effective_to":' || json_value(a.effective_to)
        || ',"legal_basis":' || json_value(a.legal_basis) || ',"program":' || json_value(a.program)
        || ',"severity":' || json_float(a.severity) || ',"tags":' || to_json(a.tags)
        || ',"designations":[' || coalesce(des.j, '') || ']'
        || ',"sources":[' || coalesce(src.j, '') || ']'
        || ',"responds_to":[' || coalesce(resp.j, '') || ']'
        || ',"created_at":' || json_timestamp(a.created_at)
        || ',"updated_at":' || json_timestamp(a.updated_at) || ',"version":' || a.version
        || coalesce(',"deleted_at":' || json_timestamp(a.deleted_at), '')
        || ',"external_id":' || json_value(a.external_id)
        || ',"source_dataset":' || json_value(a.source_dataset) || '}'
    FROM actions a
    JOIN action_types t ON t.code = a.type_code
    LEFT JOIN des ON des.action_id = a.id
    LEFT JOIN src ON src.action_id = a.id
    LEFT JOIN resp ON resp.action_id = a.id
    WHERE a.id = ANY (ids)
$$;

-- The actions whose document this transaction may have changed. Unlogged: its rows live
-- for one transaction, and a crash aborts that transaction anyway.
CREATE UNLOGGED TABLE action_documents_dirty (
    tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
    id uuid NOT NULL,
    PRIMARY KEY (tx, id)
);

CREATE FUNCTION mark_action_documents(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO action_documents_dirty (id)
    SELECT DISTINCT x FROM unnest(ids) x ORDER BY 1
    ON CONFLICT DO NOTHING
$$;

-- Renders the documents marked in this transaction (set-based) and clears the marks.
CREATE FUNCTION flush_action_documents() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    WITH taken AS (
        DELETE FROM action_documents_dirty WHERE tx = pg_current_xact_id() RETURNING id)
    SELECT array_agg(taken.id) INTO ids FROM taken;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO action_documents AS d (id, live, body)
    SELECT r.id, r.live, r.body FROM render_action_documents(ids) r ORDER BY r.id
    ON CONFLICT (id) DO UPDATE
        SET version = d.version + 1, live = excluded.live, body = excluded.body
    WHERE (d.live, d.body) IS DISTINCT FROM (excluded.live, excluded.body);
END;
$$;

CREATE FUNCTION action_documents_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM flush_action_documents();
    RETURN NULL;
END;
$$;
-- Fires at commit once per action still marked; the first firing renders them all, the
-- others find nothing left.
CREATE CONSTRAINT TRIGGER action_documents_at_commit AFTER INSERT ON action_documents_dirty
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION action_documents_at_commit();

-- Marks from the tables a document is made of. Updates of actions mark only rows whose
-- document columns changed: the graph facts (episode, answer facts) are not in it, and
-- joining two long episodes must not re-render them.
CREATE FUNCTION actions_documents_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_action_documents(ARRAY(SELECT n.id FROM new_rows n));
    RETURN NULL;
END;
$$;
CREATE TRIGGER actions_documents_inserted AFTER INSERT ON actions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION actions_documents_inserted();

-- A row trigger that names its columns: a statement trigger would capture every row the
-- graph triggers update (an import's answer facts: hundreds of thousands of wide rows) in
-- its transition tables.
CREATE FUNCTION actions_documents_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_action_documents(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;
CREATE TRIGGER actions_documents_updated
    AFTER UPDATE OF title, summary, initiator_id, target_id, authority_id, type_code, status,
                    announced_on, date_precision, effective_from, effective_to, legal_basis,
                    program, severity, tags, created_at, updated_at, version, deleted_at,
                    external_id, source_dataset
    ON actions FOR EACH ROW
    WHEN ((OLD.title, OLD.summary, OLD.initiator_id, OLD.target_id, OLD.authority_id,
           OLD.type_code, OLD.status, OLD.announced_on, OLD.date_precision, OLD.effective_from,
           OLD.effective_to, OLD.legal_basis, OLD.program, OLD.severity, OLD.tags,
           OLD.created_at, OLD.updated_at, OLD.version, OLD.deleted_at, OLD.external_id,
           OLD.source_dataset)
          IS DISTINCT FROM
          (NEW.title, NEW.summary, NEW.initiator_id, NEW.target_id, NEW.authority_id,
           NEW.type_code, NEW.status, NEW.announced_on, NEW.date_precision, NEW.effective_from,
           NEW.effective_to, NEW.legal_basis, NEW.program, NEW.severity, NEW.tags,
           NEW.created_at, NEW.updated_at, NEW.version, NEW.deleted_at, NEW.external_id,
           NEW.source_dataset))
    EXECUTE FUNCTION actions_documents_updated();

-- For designations, sources and responses: the action_id of every row inserted, deleted or
-- changed (both sides of an update).
CREATE FUNCTION parts_documents_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_action_documents(ARRAY(SELECT n.action_id FROM new_rows n));
    RETURN NULL;
END;
$$;
CREATE FUNCTION parts_documents_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_action_documents(ARRAY(SELECT o.action_id FROM old_rows o));
    RETURN NULL;
END;
$$;
CREATE FUNCTION parts_documents_both() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mark_action_documents(ARRAY(SELECT n.action_id FROM new_rows n
                                        UNION ALL SELECT o.action_id FROM old_rows o));
    RETURN NULL;
END;
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['designations', 'sources', 'responses'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_documents_inserted AFTER INSERT ON %1$s
                        REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION parts_documents_new()', t);
        EXECUTE format('CREATE TRIGGER %1$s_documents_deleted AFTER DELETE ON %1$s
                        REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION parts_documents_old()', t);
        EXECUTE format('CREATE TRIGGER %1$s_documents_updated AFTER UPDATE ON %1$s
                        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION parts_documents_both()', t);
    END LOOP;
END $$;

-- Every stored document against one rendered from scratch: what is missing, left over or
-- different.
CREATE FUNCTION check_action_documents()
RETURNS TABLE (id uuid, problem text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(r.id, d.id),
           CASE WHEN d.id IS NULL THEN 'no stored document'
                WHEN r.id IS NULL THEN 'a document for no action'
                ELSE 'stored ' || d.live || ' ' || d.body || ' but rendered ' || r.live || ' '
                     || r.body END
    FROM render_action_documents(ARRAY(SELECT a.id FROM actions a)) r
    FULL JOIN action_documents d ON d.id = r.id
    WHERE (r.live, r.body) IS DISTINCT FROM (d.live, d.body)
$$;

-- Renders the documents of up to `batch` actions that have none, in id order after `after`;
-- returns the last id it looked at (null when it reached the end). The server fills an
-- existing database with it after this migration, with progress (documents::fill).
CREATE FUNCTION fill_action_documents(after uuid, batch integer) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    ids := ARRAY(SELECT a.id FROM actions a
                 WHERE after IS NULL OR a.id > after ORDER BY a.id LIMIT batch);
    IF cardinality(ids) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO action_documents (id, live, body)
    SELECT r.id, r.live, r.body FROM render_action_documents(ids) r
    ON CONFLICT (id) DO NOTHING;
    RETURN ids[cardinality(ids)];
END;
$$;

-- Work left for the server after migrations (see db::backfill): documents of existing actions.
CREATE TABLE pending_backfills (name text PRIMARY KEY);
INSERT INTO pending_backfills VALUES ('action_documents');

-- Actor changes reach every server's actor cache (src/documents/actors.rs).
CREATE FUNCTION actors_notify_cache() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('riposte_actors', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER actors_notify_cache AFTER UPDATE OR DELETE ON actors
    FOR EACH ROW EXECUTE FUNCTION actors_notify_cache();
