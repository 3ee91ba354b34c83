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
