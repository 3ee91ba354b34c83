-- A sequencer that finds another at work waits for it (two seconds at most) instead of
-- giving up. The other's snapshot may predate a commit that asked for numbering since: given
-- up, that entry stayed unnumbered until some later run, and a client reading the feed
-- right after its own write did not find it there. Waiting, every run numbers what
-- committed before it began. The wait is short (a run numbers at most 10,000 entries) and
-- bounded; the lock is still held to the commit, so `seq` stays in commit order.
CREATE FUNCTION await_sequencer() RETURNS boolean
LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('riposte changes sequencer', 0));
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION number_changes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    numbered bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM changes WHERE seq IS NULL) THEN
        RETURN 0;
    END IF;
    -- One sequencer at a time, to its commit.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('riposte changes sequencer', 0)) THEN
        IF NOT await_sequencer() THEN
            RETURN 0;
        END IF;
    END IF;
    -- Read committed: this statement's snapshot is taken now, after the lock, so it sees
    -- what the sequencer waited for numbered.
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
