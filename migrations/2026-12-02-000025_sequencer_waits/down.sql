CREATE OR REPLACE FUNCTION number_changes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    numbered bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM changes WHERE seq IS NULL) THEN
        RETURN 0;
    END IF;
    -- One sequencer at a time, to its commit; another one running means the work is done.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('riposte changes sequencer', 0)) THEN
        RETURN 0;
    END IF;
    UPDATE changes c SET seq = p.n
    FROM (SELECT id, nextval('changes_seq') AS n
          FROM (SELECT id FROM changes WHERE seq IS NULL ORDER BY id LIMIT 10000) o) p
    WHERE c.id = p.id;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        PERFORM pg_notify('riposte_changes_sequenced', '');
    END IF;
    RETURN numbered;
END $$;
DROP FUNCTION await_sequencer();
