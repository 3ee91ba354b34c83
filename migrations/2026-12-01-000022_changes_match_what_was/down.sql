CREATE OR REPLACE FUNCTION actions_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r actions;
    kind text;
    involved uuid[];
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    involved := array_remove(ARRAY[r.initiator_id, r.target_id, r.authority_id], NULL);
    kind := change_kind(TG_OP,
                        CASE WHEN TG_OP = 'INSERT' THEN false ELSE OLD.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'DELETE' THEN true ELSE NEW.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.version END,
                        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END);
    IF kind IS NOT NULL THEN
        PERFORM record_change(kind, 'action', r.id, NULL, NULL, r.status, involved,
                              ARRAY[r.initiator_id, r.target_id], r.type_code);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM record_change('status_changed', 'action', r.id, NULL, NULL, r.status, involved,
                              ARRAY[r.initiator_id, r.target_id], r.type_code);
    END IF;
    RETURN NULL;
END $$;

ALTER TABLE changes DROP COLUMN was_dyad, DROP COLUMN was_type;
