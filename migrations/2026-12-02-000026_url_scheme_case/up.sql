-- URL schemes are case-insensitive (RFC 3986 3.1): `HTTPS://example.org/` is a link like
-- any other, and `input::url_fault` takes it. The backstop checks of migration 000003 read
-- the scheme case-sensitively and turned such a source into a 422 naming the constraint.
-- NOT VALID: every stored URL passed the stricter check, so there is nothing to scan for.
ALTER TABLE sources DROP CONSTRAINT sources_url_check,
    ADD CONSTRAINT sources_url_check
        CHECK (url ~* '^https?://[^\s/$.?#][^\s]*$' AND length(url) <= 2000) NOT VALID;
ALTER TABLE status_changes DROP CONSTRAINT status_changes_source_url_check,
    ADD CONSTRAINT status_changes_source_url_check
        CHECK (source_url ~* '^https?://[^\s/$.?#][^\s]*$' AND length(source_url) <= 2000)
        NOT VALID;
