-- Actors: states, IGOs, and the bodies, people and firms they act through or designate.
CREATE TABLE actors (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL,
    -- The state an actor belongs to. A foreign key on the state's code keeps analysis able to
    -- roll bodies up to a state that really exists in the data.
    country     text REFERENCES actors (code) ON UPDATE CASCADE ON DELETE RESTRICT,
    parent_id   uuid REFERENCES actors (id) ON DELETE RESTRICT,
    aliases     text[] NOT NULL DEFAULT '{}',
    wikidata_id text,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT actors_code_key UNIQUE (code),
    -- Lets actions demand, by foreign key, that their dyad is made of states or IGOs.
    CONSTRAINT actors_id_kind_key UNIQUE (id, kind),
    CONSTRAINT actors_kind_check
        CHECK (kind IN ('state', 'igo', 'government_body', 'person', 'organization', 'company')),
    CONSTRAINT actors_code_format_check CHECK (
        (kind = 'state' AND code ~ '^[A-Z]{3}$')
        OR (kind <> 'state' AND code ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(code) <= 100)
    ),
    CONSTRAINT actors_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 300),
    CONSTRAINT actors_country_format_check CHECK (country ~ '^[A-Z]{3}$'),
    CONSTRAINT actors_country_required_check
        CHECK (kind IN ('state', 'igo') OR country IS NOT NULL),
    CONSTRAINT actors_state_country_check CHECK (kind <> 'state' OR country IS NULL),
    CONSTRAINT actors_parent_not_self_check CHECK (parent_id <> id),
    CONSTRAINT actors_wikidata_format_check CHECK (wikidata_id ~ '^Q[1-9][0-9]*$')
);

CREATE UNIQUE INDEX actors_wikidata_id_key ON actors (wikidata_id);
CREATE INDEX actors_country_idx ON actors (country);
CREATE INDEX actors_parent_id_idx ON actors (parent_id);
CREATE INDEX actors_kind_code_idx ON actors (kind, code);
