-- Zero-downtime secret rotation (Standard Webhooks): after a rotation the old secret signs
-- every attempt too, beside the new one, until previous_secret_until, so a receiver can
-- switch secrets without refusing a delivery.
ALTER TABLE webhooks
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_until timestamptz,
    ADD CONSTRAINT webhooks_previous_secret_pair
        CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL));
