// Diesel's view of the tables in `migrations/`. Kept by hand: when a migration changes a table,
// change it here too (the integration tests exercise every column).

diesel::table! {
    actors (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> Text,
        country -> Nullable<Text>,
        parent_id -> Nullable<Uuid>,
        aliases -> Array<Text>,
        wikidata_id -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    action_types (code) {
        code -> Text,
        label -> Text,
        description -> Text,
        category -> Text,
        cameo_code -> Text,
        quad_class -> Int2,
        default_severity -> Float8,
    }
}

diesel::table! {
    actions (id) {
        id -> Uuid,
        title -> Text,
        summary -> Nullable<Text>,
        initiator_id -> Uuid,
        initiator_kind -> Text,
        target_id -> Uuid,
        target_kind -> Text,
        authority_id -> Nullable<Uuid>,
        type_code -> Text,
        status -> Text,
        announced_on -> Date,
        date_precision -> Text,
        effective_from -> Nullable<Date>,
        effective_to -> Nullable<Date>,
        legal_basis -> Nullable<Text>,
        program -> Nullable<Text>,
        severity -> Float8,
        tags -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        deleted_at -> Nullable<Timestamptz>,
        // Also `search tsvector` (generated from the text columns and this one); used only in
        // SQL fragments, so not declared here.
        designated_names -> Text,
        // Kept by the graph triggers (migration 000008_graph_facts), never written by the
        // application.
        episode_id -> Nullable<Uuid>,
        first_answer_on -> Nullable<Date>,
        first_implemented_on -> Nullable<Date>,
        answers_mirror -> Int4,
        answers_escalate -> Int4,
        answers_de_escalate -> Int4,
        external_id -> Nullable<Text>,
        source_dataset -> Nullable<Text>,
    }
}

diesel::table! {
    designations (action_id, actor_id) {
        action_id -> Uuid,
        actor_id -> Uuid,
        listed_on -> Nullable<Date>,
    }
}

diesel::table! {
    sources (id) {
        id -> Int8,
        action_id -> Uuid,
        url -> Text,
        publisher -> Nullable<Text>,
        published_on -> Nullable<Date>,
        quote -> Nullable<Text>,
    }
}

diesel::table! {
    responses (action_id, responds_to_id) {
        action_id -> Uuid,
        responds_to_id -> Uuid,
        relation -> Text,
    }
}

diesel::table! {
    status_changes (id) {
        id -> Int8,
        action_id -> Uuid,
        status -> Text,
        changed_on -> Date,
        source_url -> Nullable<Text>,
        note -> Nullable<Text>,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        scope -> Text,
        prefix -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        key_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
        operation -> Text,
        entity -> Text,
        entity_id -> Uuid,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        changed -> Array<Text>,
        size -> Int4,
        import_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(actions -> action_types (type_code));
diesel::joinable!(audit_log -> api_keys (key_id));
diesel::joinable!(designations -> actions (action_id));
diesel::joinable!(designations -> actors (actor_id));
diesel::joinable!(sources -> actions (action_id));
diesel::joinable!(status_changes -> actions (action_id));

diesel::allow_tables_to_appear_in_same_query!(
    actors,
    action_types,
    actions,
    designations,
    sources,
    responses,
    status_changes,
    api_keys,
    audit_log,
);

diesel::table! {
    idempotency_keys (key_id, idempotency_key) {
        key_id -> Uuid,
        idempotency_key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        secret -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    changes (id) {
        id -> Int8,
        seq -> Nullable<Int8>,
        at -> Timestamptz,
        kind -> Text,
        entity -> Text,
        entity_id -> Uuid,
        related_id -> Nullable<Uuid>,
        relation -> Nullable<Text>,
        status -> Nullable<Text>,
        actor_ids -> Array<Uuid>,
        dyad -> Nullable<Array<Uuid>>,
        type_code -> Nullable<Text>,
        was_dyad -> Nullable<Array<Uuid>>,
        was_type -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> Uuid,
        format -> Text,
        partial -> Bool,
        state -> Text,
        origin -> Text,
        file_name -> Nullable<Text>,
        bytes -> Int8,
        read -> Int8,
        created -> Int8,
        updated -> Int8,
        unchanged -> Int8,
        rejected -> Int8,
        actors_created -> Int8,
        skipped -> Jsonb,
        error -> Nullable<Text>,
        api_key_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        heartbeat_at -> Nullable<Timestamptz>,
        skipped_first -> Jsonb,
    }
}

diesel::table! {
    import_rejections (import_id, line) {
        import_id -> Uuid,
        line -> Int8,
        errors -> Jsonb,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        kinds -> Array<Text>,
        entities -> Array<Text>,
        actor_ids -> Array<Uuid>,
        dyads -> Array<Uuid>,
        types -> Array<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        delivered_seq -> Int8,
        attempts -> Int4,
        failing_since -> Nullable<Timestamptz>,
        next_attempt_at -> Timestamptz,
        claim -> Nullable<Uuid>,
        claimed_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Uuid,
        seq -> Int8,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        latency_ms -> Int4,
        at -> Timestamptz,
        next_attempt_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);
