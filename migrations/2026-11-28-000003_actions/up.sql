-- Actions between two states or IGOs (the dyad), what they name, where they are reported,
-- how their status changed, and which earlier actions they answer.
CREATE TABLE actions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title          text NOT NULL,
    summary        text,
    initiator_id   uuid NOT NULL,
    -- Copies of the actors' kinds, so that a composite foreign key makes the database refuse a
    -- dyad member that is not a state or IGO (a body goes in authority_id instead).
    initiator_kind text NOT NULL,
    target_id      uuid NOT NULL,
    target_kind    text NOT NULL,
    authority_id   uuid REFERENCES actors (id) ON DELETE RESTRICT,
    type_code      text NOT NULL REFERENCES action_types (code) ON UPDATE CASCADE ON DELETE RESTRICT,
    status         text NOT NULL,
    -- A date known only to the month or the year is stored as its first day, with its precision.
    announced_on   date NOT NULL,
    date_precision text NOT NULL DEFAULT 'day',
    effective_from date,
    effective_to   date,
    legal_basis    text,
    program        text,
    severity       double precision NOT NULL,
    tags           text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT actions_initiator_fkey FOREIGN KEY (initiator_id, initiator_kind)
        REFERENCES actors (id, kind) ON DELETE RESTRICT,
    CONSTRAINT actions_target_fkey FOREIGN KEY (target_id, target_kind)
        REFERENCES actors (id, kind) ON DELETE RESTRICT,
    CONSTRAINT actions_initiator_kind_check CHECK (initiator_kind IN ('state', 'igo')),
    CONSTRAINT actions_target_kind_check CHECK (target_kind IN ('state', 'igo')),
    CONSTRAINT actions_dyad_check CHECK (initiator_id <> target_id),
    CONSTRAINT actions_title_check CHECK (length(btrim(title)) BETWEEN 1 AND 500),
    CONSTRAINT actions_status_check CHECK (status IN (
        'threatened', 'announced', 'in_force', 'suspended', 'lifted', 'expired')),
    CONSTRAINT actions_date_precision_check CHECK (
        date_precision = 'day'
        OR (date_precision = 'month' AND extract(day FROM announced_on) = 1)
        OR (date_precision = 'year' AND extract(day FROM announced_on) = 1
            AND extract(month FROM announced_on) = 1)),
    CONSTRAINT actions_effective_range_check CHECK (effective_to >= effective_from),
    CONSTRAINT actions_severity_check CHECK (severity BETWEEN -10 AND 10)
);

CREATE INDEX actions_announced_idx ON actions (announced_on DESC, id DESC);
CREATE INDEX actions_initiator_idx ON actions (initiator_id, announced_on DESC, id DESC);
CREATE INDEX actions_target_idx ON actions (target_id, announced_on DESC, id DESC);
CREATE INDEX actions_dyad_idx ON actions (initiator_id, target_id, announced_on DESC, id DESC);
CREATE INDEX actions_type_idx ON actions (type_code, announced_on DESC, id DESC);
CREATE INDEX actions_status_idx ON actions (status, announced_on DESC, id DESC);
CREATE INDEX actions_authority_idx ON actions (authority_id) WHERE authority_id IS NOT NULL;

-- The persons and bodies an action names.
CREATE TABLE designations (
    action_id uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    actor_id  uuid NOT NULL REFERENCES actors (id) ON DELETE RESTRICT,
    listed_on date,
    PRIMARY KEY (action_id, actor_id)
);
CREATE INDEX designations_actor_idx ON designations (actor_id);

CREATE TABLE sources (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id    uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    url          text NOT NULL,
    publisher    text,
    published_on date,
    quote        text,
    CONSTRAINT sources_url_check CHECK (url ~ '^https?://[^\s/$.?#][^\s]*$' AND length(url) <= 2000),
    CONSTRAINT sources_action_url_key UNIQUE (action_id, url)
);

-- Typed edges of the response graph: action_id answers responds_to_id (an earlier action).
-- Deleting an action removes its own answers; deleting an action that others answer is refused.
CREATE TABLE responses (
    action_id      uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    responds_to_id uuid NOT NULL REFERENCES actions (id) ON DELETE RESTRICT,
    relation       text NOT NULL,
    PRIMARY KEY (action_id, responds_to_id),
    CONSTRAINT responses_not_self_check CHECK (action_id <> responds_to_id),
    CONSTRAINT responses_relation_check CHECK (relation IN (
        'retaliates', 'reciprocates', 'escalates', 'de_escalates', 'implements',
        'demands_lifting', 'lifts'))
);
CREATE INDEX responses_responds_to_idx ON responses (responds_to_id, action_id);

-- Every status an action has had, with the day it took that status.
CREATE TABLE status_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id   uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    status      text NOT NULL,
    changed_on  date NOT NULL,
    source_url  text,
    note        text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT status_changes_status_check CHECK (status IN (
        'threatened', 'announced', 'in_force', 'suspended', 'lifted', 'expired')),
    CONSTRAINT status_changes_source_url_check
        CHECK (source_url ~ '^https?://[^\s/$.?#][^\s]*$' AND length(source_url) <= 2000)
);
CREATE INDEX status_changes_action_idx ON status_changes (action_id, changed_on, id);
