use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::MigrationHarness;

use super::helpers::TestDb;

/// Every migration's down.sql undoes it, and the chain applies again afterwards.
#[tokio::test]
async fn migrations_revert_and_reapply() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        let reverted = conn
            .revert_all_migrations(riposte::db::MIGRATIONS)
            .expect("every down.sql runs")
            .len();
        assert!(reverted >= 3);
        // Only diesel's own bookkeeping table is left.
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        let left: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(left.n, 0);
        let applied = conn
            .run_pending_migrations(riposte::db::MIGRATIONS)
            .unwrap()
            .len();
        assert_eq!(applied, reverted);
        conn.batch_execute("SELECT 1 FROM actions, actors, action_types LIMIT 1")
            .unwrap();
    })
    .await
    .unwrap();
}

/// Several processes started at once on an empty database all migrate it on start: one
/// applies the migrations, the others wait and find nothing left (all but one used to exit
/// with a duplicate-key error from the catalog).
#[tokio::test]
async fn processes_migrating_one_database_at_once_all_succeed() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        conn.revert_all_migrations(riposte::db::MIGRATIONS)
            .expect("every down.sql runs");
        drop(conn);
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || riposte::db::migrate(&url))
            })
            .collect();
        let applied: Vec<usize> = runs
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap()
                    .expect("each start migrates or finds it done")
                    .len()
            })
            .collect();
        assert_eq!(applied.iter().filter(|n| **n > 0).count(), 1, "{applied:?}");
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        conn.batch_execute("SELECT 1 FROM actions, actors, action_types LIMIT 1")
            .unwrap();
    })
    .await
    .unwrap();
}

/// `src/schema.rs` (written by hand) matches the migrated database: every table and column
/// it declares exists with that type and nullability, and it leaves out no column but those
/// the application must never read or write (listed here, with why).
#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    use diesel_async::RunQueryDsl;
    /// Columns only the database uses.
    const DB_ONLY: &[(&str, &str)] = &[
        // Generated full-text document, read through SQL text only.
        ("actions", "search"),
    ];
    #[derive(diesel::QueryableByName, Debug)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        udt_name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        nullable: bool,
    }
    let db = TestDb::new().await;
    let mut conn = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&db.url)
        .await
        .unwrap();
    // The analysis aggregates (migration 000016), their pending and staged tallies (000020,
    // 000029) and views, and the stored documents with their bookkeeping (000017) are only
    // read through SQL text (src/analysis, models/document.rs), never through diesel's schema.
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, \
                is_nullable = 'YES' AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
           AND table_name NOT LIKE 'dyad\\_period%' \
           AND table_name NOT LIKE 'category\\_period%' \
           AND table_name NOT IN ('action_documents', 'action_documents_dirty', \
                                  'pending_backfills', 'action_tallies_pending', \
                                  'action_tallies_staged')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let diesel_type = |udt: &str| -> String {
        match udt {
            "uuid" => "Uuid",
            "text" => "Text",
            "int2" => "Int2",
            "int4" => "Int4",
            "int8" => "Int8",
            "float8" => "Float8",
            "bool" => "Bool",
            "date" => "Date",
            "timestamptz" => "Timestamptz",
            "bytea" => "Bytea",
            "jsonb" => "Jsonb",
            "_text" => "Array<Text>",
            "_uuid" => "Array<Uuid>",
            other => return format!("<{other}>"),
        }
        .to_string()
    };
    let mut in_db: std::collections::BTreeMap<(String, String), String> = columns
        .into_iter()
        .map(|c| {
            let ty = diesel_type(&c.udt_name);
            let ty = if c.nullable {
                format!("Nullable<{ty}>")
            } else {
                ty
            };
            ((c.table_name, c.column_name), ty)
        })
        .collect();

    // `table_name (keys) { column -> Type, ... }` blocks of src/schema.rs.
    let text = include_str!("../../src/schema.rs");
    let mut declared = std::collections::BTreeMap::new();
    let mut table = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix('{').and_then(|l| l.split_once(" (")) {
            table = Some(name.0.trim().to_string());
        } else if line == "}" {
            table = None;
        } else if let (Some(t), Some((column, ty))) = (&table, line.split_once(" -> ")) {
            declared.insert(
                (t.clone(), column.trim().to_string()),
                ty.trim_end_matches(',').to_string(),
            );
        }
    }
    assert!(declared.len() > 50, "schema.rs was not read: {declared:?}");
    for ((table, column), ty) in &declared {
        let actual = in_db.remove(&(table.clone(), column.clone()));
        assert_eq!(
            actual.as_deref(),
            Some(ty.as_str()),
            "src/schema.rs says {table}.{column} -> {ty}; the migrated database disagrees"
        );
    }
    for (table, column) in DB_ONLY {
        in_db.remove(&(table.to_string(), column.to_string()));
    }
    assert!(
        in_db.is_empty(),
        "columns of the database missing from src/schema.rs: {in_db:?}"
    );
}

/// A database migrated by a newer riposte is refused by an older binary, naming the
/// migrations it does not know: it used to say "database is up to date" and serve with rules
/// written for another schema.
#[tokio::test]
async fn an_older_binary_refuses_a_newer_schema() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        let migrate = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
                .args(["migrate", "--database-url", &url])
                .env("RIPOSTE_LOG", "info")
                .output()
                .unwrap()
        };
        let out = migrate();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        conn.batch_execute(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')",
        )
        .unwrap();
        let out = migrate();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("migrated by a newer riposte") && stderr.contains("29991231000001"),
            "{stderr}"
        );
        assert!(!stderr.contains("up to date"), "{stderr}");
    })
    .await
    .unwrap();
}

/// Every closed vocabulary the database checks (`CHECK (column IN (...))` in `migrations/`)
/// is the list its Rust enum parses and writes: a value added to one and not the other would
/// be refused by the database at the first write, or never be written.
#[tokio::test]
async fn check_constraints_list_exactly_the_rust_vocabularies() {
    use diesel_async::RunQueryDsl;
    use riposte::models::audit::{AuditEntity, AuditOperation};
    use riposte::models::enums::{ActionStatus, ActorKind, Category, Relation};
    use riposte::models::import::{ImportOrigin, JobState};
    #[derive(diesel::QueryableByName, Debug)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tbl: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        def: String,
    }
    fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
        let mut v: Vec<&str> = all.iter().map(|t| name(*t)).collect();
        v.sort_unstable();
        v
    }
    let dyad_kinds: Vec<ActorKind> = ActorKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_dyad_member())
        .collect();
    let expected: Vec<(&str, &str, Vec<&str>)> = vec![
        ("actors", "kind", names(ActorKind::ALL, ActorKind::as_str)),
        (
            "action_types",
            "category",
            names(Category::ALL, Category::as_str),
        ),
        (
            "actions",
            "initiator_kind",
            names(&dyad_kinds, ActorKind::as_str),
        ),
        (
            "actions",
            "target_kind",
            names(&dyad_kinds, ActorKind::as_str),
        ),
        (
            "actions",
            "status",
            names(ActionStatus::ALL, ActionStatus::as_str),
        ),
        (
            "status_changes",
            "status",
            names(ActionStatus::ALL, ActionStatus::as_str),
        ),
        (
            "responses",
            "relation",
            names(Relation::ALL, Relation::as_str),
        ),
        (
            "api_keys",
            "scope",
            names(riposte::auth::Scope::ALL, riposte::auth::Scope::as_str),
        ),
        (
            "audit_log",
            "operation",
            names(AuditOperation::ALL, AuditOperation::as_str),
        ),
        (
            "audit_log",
            "entity",
            names(AuditEntity::ALL, AuditEntity::as_str),
        ),
        (
            "imports",
            "format",
            names(
                riposte::import::Format::ALL,
                riposte::import::Format::as_str,
            ),
        ),
        ("imports", "state", names(JobState::ALL, JobState::as_str)),
        (
            "imports",
            "origin",
            names(ImportOrigin::ALL, ImportOrigin::as_str),
        ),
    ];
    let db = TestDb::new().await;
    let mut conn = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&db.url)
        .await
        .unwrap();
    let checks: Vec<Check> = diesel::sql_query(
        "SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def \
         FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace",
    )
    .load(&mut conn)
    .await
    .unwrap();
    // Every such list is one of the above.
    let lists: Vec<&Check> = checks
        .iter()
        .filter(|c| c.def.contains(" = ANY (ARRAY["))
        .collect();
    for c in &lists {
        let covered = expected.iter().any(|(table, column, _)| {
            c.tbl == *table && c.def.contains(&format!("({column} = ANY (ARRAY["))
        });
        assert!(covered, "a vocabulary this test does not know: {c:?}");
    }
    for (table, column, rust) in expected {
        // `CHECK ((kind = ANY (ARRAY['state'::text, ...])))`: the list alone, not a rule
        // that also names the column (`((kind = ANY (...)) OR (country IS NOT NULL))`).
        let head = format!("CHECK (({column} = ANY (ARRAY[");
        let found: Vec<&Check> = checks
            .iter()
            .filter(|c| c.tbl == table && c.def.starts_with(&head))
            .collect();
        assert_eq!(found.len(), 1, "{table}.{column}: {checks:#?}");
        let mut listed: Vec<&str> = found[0].def.split('\'').skip(1).step_by(2).collect();
        listed.sort_unstable();
        assert_eq!(listed, rust, "{table}.{column}: {}", found[0].def);
    }
}

/// The last day a fuzzy date stands for, as Rust computes it for the API's checks and as SQL
/// computes it for the import's over stored actions (`FuzzyDate::latest_sql`): the same day,
/// at month and year ends, in leap years and at the calendar's edges.
#[tokio::test]
async fn the_latest_day_of_a_fuzzy_date_is_the_same_in_sql() {
    use chrono::NaiveDate;
    use diesel_async::RunQueryDsl;
    use riposte::input::FuzzyDate;
    use riposte::models::enums::DatePrecision;
    #[derive(diesel::QueryableByName)]
    struct Latest {
        #[diesel(sql_type = diesel::sql_types::Date)]
        day: NaiveDate,
    }
    let db = TestDb::new().await;
    let mut conn = <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&db.url)
        .await
        .unwrap();
    let days = [
        "0001-01-01",
        "2020-01-31",
        "2020-02-01",
        "2020-02-29",
        "2021-02-10",
        "2000-02-15",
        "1900-02-15",
        "2020-04-30",
        "2020-12-01",
        "2020-12-31",
        "9999-12-31",
    ];
    let sql = format!(
        "SELECT {} AS day",
        FuzzyDate::latest_sql("$1::date", "$2::text")
    );
    for day in days {
        let date: NaiveDate = day.parse().unwrap();
        for precision in DatePrecision::ALL {
            let got: Latest = diesel::sql_query(&sql)
                .bind::<diesel::sql_types::Date, _>(date)
                .bind::<diesel::sql_types::Text, _>(precision.as_str())
                .get_result(&mut conn)
                .await
                .unwrap();
            assert_eq!(
                got.day,
                FuzzyDate::latest(date, *precision),
                "{day} by {precision}"
            );
        }
    }
}

/// Migration 000033 records what the entries written before it changed, by the rule new
/// entries follow (`models::audit::changed_fields`), and their size.
#[tokio::test]
async fn the_audit_entries_before_000033_get_the_fields_they_changed() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        // Later migrations first.
        while !conn
            .revert_last_migration(riposte::db::MIGRATIONS)
            .unwrap()
            .to_string()
            .ends_with("000033")
        {}
        let pairs = [
            (r#"{"a": 1, "deleted_at": "2020-01-01T00:00:00Z", "version": 2}"#, r#"{"a": 1, "version": 3}"#),
            (r#"{"title": "x", "z": [1], "updated_at": "a"}"#, r#"{"title": "y", "z": [1, 2], "updated_at": "b", "new": null}"#),
            (r#"{"a": 1}"#, "null"),
            ("null", r#"{"a": 1}"#),
        ];
        for (before, after) in pairs {
            conn.batch_execute(&format!(
                "INSERT INTO audit_log (operation, entity, entity_id, before, after)
                 VALUES ('update', 'action', gen_random_uuid(), '{before}'::jsonb, '{after}'::jsonb)"
            ))
            .unwrap();
        }
        conn.run_pending_migrations(riposte::db::MIGRATIONS).unwrap();
        #[derive(diesel::QueryableByName)]
        struct Entry {
            #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
            changed: Vec<String>,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            size: i32,
        }
        let entries: Vec<Entry> =
            diesel::sql_query("SELECT changed, size FROM audit_log ORDER BY id")
                .load(&mut conn)
                .unwrap();
        assert_eq!(entries.len(), pairs.len());
        for ((before, after), entry) in pairs.iter().zip(&entries) {
            let json = |s: &str| -> Option<serde_json::Value> {
                Some(serde_json::from_str(s).unwrap()).filter(|v: &serde_json::Value| !v.is_null())
            };
            let rule = riposte::models::audit::changed_fields(json(before).as_ref(), json(after).as_ref());
            assert_eq!(entry.changed, rule, "{before} -> {after}");
            assert!(entry.size > 0);
        }
        assert_eq!(entries[0].changed, ["deleted_at"]);
        assert_eq!(entries[1].changed, ["new", "title", "z"]);
    })
    .await
    .unwrap();
}
