-- Webhook subscriptions and their delivery attempts (issue #12, section 4).
--
-- The outbox is the change log itself: every change writes its `changes` row in its own
-- transaction (migration 000012), so nothing a subscription wants can be lost. Each
-- subscription keeps a cursor over `changes.seq` (`delivered_seq`: every entry up to it was
-- delivered or did not match the filter) and moves it only after a 2xx answer, one entry at a
-- time: deliveries are in order, at least once.
--
-- Who delivers: any riposte process. A process claims a due subscription with
-- `FOR UPDATE SKIP LOCKED` and writes a lease (`claim`, `claimed_until`); while the lease
-- runs no other process takes it, and a cursor moves only under the claim that holds it. A
-- process that dies leaves a lease that simply runs out.
CREATE TABLE webhooks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url             text NOT NULL,
    description     text,
    -- The signing secret (`whsec_...`): needed in clear to sign; never shown after creation.
    secret          text NOT NULL,
    -- Filters, as `GET /v1/changes` has them; empty = everything. `dyads` holds pairs
    -- flattened (a1, b1, a2, b2, ...).
    kinds           text[] NOT NULL DEFAULT '{}',
    entities        text[] NOT NULL DEFAULT '{}',
    actor_ids       uuid[] NOT NULL DEFAULT '{}',
    dyads           uuid[] NOT NULL DEFAULT '{}',
    types           text[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    delivered_seq   bigint NOT NULL,
    -- Failed attempts at the entry after `delivered_seq`, and when the first of them was.
    attempts        integer NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claim           uuid,
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT 1,
    CONSTRAINT webhooks_url_check CHECK (length(url) BETWEEN 1 AND 2000),
    CONSTRAINT webhooks_delivered_seq_check CHECK (delivered_seq >= 0),
    CONSTRAINT webhooks_dyads_check CHECK (cardinality(dyads) % 2 = 0)
);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE enabled;

CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The change delivered (its cursor) and which attempt at it this was.
    seq             bigint NOT NULL,
    attempt         integer NOT NULL,
    -- The receiver's status code, or why there was none (timeout, refused address, ...).
    status_code     integer,
    error           text,
    latency_ms      integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    -- When the entry is tried again after this failure (null after a success or a give-up).
    next_attempt_at timestamptz
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);

-- The audit log names subscriptions and the operations only they have.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_check,
    ADD CONSTRAINT audit_log_entity_check
        CHECK (entity IN ('actor', 'action', 'api_key', 'webhook'));
ALTER TABLE audit_log DROP CONSTRAINT audit_log_operation_check,
    ADD CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('create', 'update', 'delete', 'restore', 'purge', 'revoke',
                             'redeliver', 'rotate_secret', 'disable'));
