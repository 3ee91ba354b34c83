ALTER TABLE sources DROP CONSTRAINT sources_url_check,
    ADD CONSTRAINT sources_url_check
        CHECK (url ~ '^https?://[^\s/$.?#][^\s]*$' AND length(url) <= 2000) NOT VALID;
ALTER TABLE status_changes DROP CONSTRAINT status_changes_source_url_check,
    ADD CONSTRAINT status_changes_source_url_check
        CHECK (source_url ~ '^https?://[^\s/$.?#][^\s]*$' AND length(source_url) <= 2000)
        NOT VALID;
