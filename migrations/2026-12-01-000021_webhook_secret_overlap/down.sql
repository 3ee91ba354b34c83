ALTER TABLE webhooks
    DROP COLUMN previous_secret,
    DROP COLUMN previous_secret_until;
