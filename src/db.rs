//! Connection pool, migrations and the embedded-or-external database choice.

use std::path::Path;
use std::time::Duration;

use diesel::{Connection, QueryResult, QueryableByName};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::embedded_pg::EmbeddedPostgres;

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;
/// A pool that does not keep itself open: gone once its last user is.
pub type WeakDbPool = deadpool::managed::WeakPool<AsyncDieselConnectionManager<AsyncPgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a free connection before it is answered with 503.
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// The longest a statement of the pool's connections may run; PostgreSQL cancels it then
/// (`statement_timeout`), and the request gets 503.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);
/// TCP keepalive of the pool's connections: a peer that vanished is noticed within about
/// 10 + 3 x 5 s instead of the operating system's two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;

pub fn pool(database_url: &str, max_size: usize) -> Result<DbPool, String> {
    pool_with_wait(database_url, max_size, POOL_WAIT)
}

/// A pool whose checkouts and connection attempts give up after `wait` (replicas use a short
/// one: a read then goes to the primary rather than waiting on a replica).
pub fn pool_with_wait(
    database_url: &str,
    max_size: usize,
    wait: Duration,
) -> Result<DbPool, String> {
    let mut config = ManagerConfig::default();
    // `Fast` still refuses connections left inside a transaction; `Verified` would add a
    // round trip to every checkout.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| Box::pin(connect(url.to_string(), wait)));
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(wait))
        .create_timeout(Some(wait))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// A pooled connection: bounded connect time, TCP keepalive, and a statement timeout.
async fn connect(url: String, wait: Duration) -> diesel::ConnectionResult<AsyncPgConnection> {
    use diesel::ConnectionError::BadConnection;
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| BadConnection(format!("invalid database URL: {e}")))?;
    let options = format!(
        "{} -c statement_timeout={}",
        config.get_options().unwrap_or_default(),
        STATEMENT_TIMEOUT.as_millis()
    );
    config
        .options(options.trim())
        .connect_timeout(wait)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES);
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| BadConnection(e.to_string()))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// Up to `n` more connections of `pool`, those free (or that can be opened) right now, for
/// work that can use them but does not need them: never waits for one to be returned, since
/// waiting while holding another could starve the pool under load.
pub async fn spare_conns(pool: &DbPool, n: usize) -> Vec<DbConn> {
    let mut timeouts = pool.timeouts();
    timeouts.wait = Some(Duration::ZERO);
    let mut spares = Vec::with_capacity(n);
    while spares.len() < n {
        match pool.timeout_get(&timeouts).await {
            Ok(conn) => spares.push(conn),
            Err(_) => break,
        }
    }
    spares
}

/// The runtime of the migrations' blocking connection: with timers, which a
/// `connect_timeout` in the URL needs (diesel-async's own runtime has none, and panicked).
pub struct Timed(tokio::runtime::Runtime);

impl diesel_async::async_connection_wrapper::BlockOn for Timed {
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }

    fn get_runtime() -> Self {
        Timed(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime"),
        )
    }
}

type Blocking = AsyncConnectionWrapper<AsyncPgConnection, Timed>;

/// How long a database may take to answer a first connection before a command gives up.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Whether the server of `database_url` answers a connection within `CONNECT_WAIT`: a port
/// that accepts and then says nothing would otherwise hold a command for ever.
fn reachable(database_url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let connect = tokio_postgres::connect(database_url, tokio_postgres::NoTls);
        match tokio::time::timeout(CONNECT_WAIT, connect).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(crate::error::with_causes(&e)),
            Err(_) => Err(format!(
                "no answer within {} s; check the host and port of the database URL (a \
                 PostgreSQL server that is up answers at once)",
                CONNECT_WAIT.as_secs()
            )),
        }
    })
}

/// Applies pending migrations. Blocking: call it outside the async runtime, or through
/// `spawn_blocking`.
pub fn migrate(database_url: &str) -> Result<Vec<String>, String> {
    use diesel::RunQueryDsl;
    let cannot = |e: String| format!("cannot connect to the database to migrate it: {e}");
    reachable(database_url).map_err(cannot)?;
    let mut conn = Blocking::establish(database_url).map_err(|e| cannot(e.to_string()))?;
    // Several processes started at once on one database (a deploy of several instances) all
    // migrate on start: one at a time, the others then find nothing pending. The lock is the
    // session's, released when this connection closes whatever happens.
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    const LOCK: &str = "hashtextextended('riposte migrations', 0)";
    let taken: Taken = diesel::sql_query(format!("SELECT pg_try_advisory_lock({LOCK}) AS taken"))
        .get_result(&mut conn)
        .map_err(|e| format!("cannot take the migration lock: {e}"))?;
    if !taken.taken {
        log::info!("another process is migrating this database; waiting for it to finish");
        diesel::sql_query(format!("SELECT pg_advisory_lock({LOCK})"))
            .execute(&mut conn)
            .map_err(|e| format!("cannot take the migration lock: {e}"))?;
    }
    refuse_newer_schema(&mut conn)?;
    let applied: Vec<String> = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| format!("migration failed: {e}"))?
        .iter()
        .map(|v| v.to_string())
        .collect();
    backfill_documents(&mut conn)
        .map_err(|e| format!("writing the stored documents failed: {e}"))?;
    Ok(applied)
}

/// Refuses a database migrated by a newer riposte: this binary's rules would run against
/// tables, triggers and columns they were not written for, and nothing would say so.
fn refuse_newer_schema(conn: &mut Blocking) -> Result<(), String> {
    use diesel::migration::MigrationSource;
    let known: std::collections::HashSet<String> =
        MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
            .map_err(|e| format!("cannot read this binary's migrations: {e}"))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
    let unknown: Vec<String> = conn
        .applied_migrations()
        .map_err(|e| format!("cannot read the database's applied migrations: {e}"))?
        .iter()
        .map(|v| v.to_string())
        .filter(|v| !known.contains(v))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this database was migrated by a newer riposte: {} applied migration(s) unknown to \
         this binary ({}). Run the riposte that migrated it (or a newer one); an older binary \
         cannot serve or change it safely",
        unknown.len(),
        unknown.join(", ")
    ))
}

/// Writes the stored documents of the actions a database held before migration 000017, in
/// batches of 5,000 with a progress bar (each batch commits, so an interrupted run resumes
/// where it stopped). Does nothing once done.
fn backfill_documents(conn: &mut Blocking) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Uuid as SqlUuid};
    use diesel::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = Bool)]
        pending: bool,
    }
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        actions: i64,
        #[diesel(sql_type = BigInt)]
        documents: i64,
    }
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = Nullable<SqlUuid>)]
        last: Option<uuid::Uuid>,
    }
    // Counting the tables cost every command and server start 0.3 s at a million actions:
    // only while the backfill is pending.
    let p: Pending = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pending_backfills WHERE name = 'action_documents') \
         AS pending",
    )
    .get_result(conn)?;
    if !p.pending {
        return Ok(());
    }
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM actions) AS actions, \
                (SELECT count(*) FROM action_documents) AS documents",
    )
    .get_result(conn)?;
    let total = counts.actions;
    if total > counts.documents {
        log::info!(
            "writing the stored documents of {} actions (migration 000017); this runs once",
            total - counts.documents
        );
    }
    let bar = indicatif::ProgressBar::new(total as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "stored documents {bar:40} {pos}/{len} ({per_sec}, {eta} left)",
        )
        .expect("a valid progress template"),
    );
    crate::logging::above(&bar);
    let mut after: Option<uuid::Uuid> = None;
    loop {
        let l: Last = diesel::sql_query("SELECT fill_action_documents($1, 5000) AS last")
            .bind::<Nullable<SqlUuid>, _>(after)
            .bind::<Integer, _>(5000)
            .get_result(conn)?;
        let Some(last) = l.last else { break };
        after = Some(last);
        bar.inc(5000);
    }
    bar.finish_and_clear();
    diesel::sql_query("DELETE FROM pending_backfills WHERE name = 'action_documents'")
        .execute(conn)?;
    Ok(())
}

/// The database a command works on: a server named by `DATABASE_URL`, or a private cluster
/// in the data directory, started now and stopped when this value is dropped.
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// As `open`, for a command that only reads or changes what is there (`export`, `keys
    /// list`, `keys revoke`): without DATABASE_URL, a data directory that does not exist or
    /// is empty is refused. A mistyped `--data-dir` made a new, empty cluster, and the
    /// command reported success (`exported 0 actions` over a good backup).
    pub fn open_existing(database_url: Option<String>, data_dir: &Path) -> Result<Self, String> {
        if database_url.is_none() {
            let empty = match std::fs::read_dir(data_dir) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(_) => false,
            };
            if empty {
                return Err(format!(
                    "there is no riposte database in {}: the directory does not exist or is \
                     empty; check --data-dir (RIPOSTE_DATA_DIR), or create the database first \
                     (`riposte serve`, `riposte seed`, `riposte import`)",
                    data_dir.display()
                ));
            }
        }
        Self::open(database_url, data_dir)
    }

    pub fn open(database_url: Option<String>, data_dir: &Path) -> Result<Self, String> {
        let database = match database_url {
            Some(url) => Database {
                url,
                embedded: None,
            },
            None => Self::embedded(data_dir)?,
        };
        let applied = migrate(&database.url)?;
        if !applied.is_empty() {
            log::info!("applied migrations: {}", applied.join(", "));
        }
        Ok(database)
    }
}

impl Database {
    /// The embedded cluster, started here or another process's (`EmbeddedPostgres` keeps
    /// the latter up while this value lives).
    fn embedded(data_dir: &Path) -> Result<Database, String> {
        let pg = EmbeddedPostgres::start(data_dir, false).map_err(|e| e.to_string())?;
        log::info!(
            "embedded PostgreSQL running (pid {}, data in {})",
            pg.pid(),
            pg.data_dir().display()
        );
        Ok(Database {
            url: pg.url("postgres"),
            embedded: Some(pg),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use sha2::{Digest, Sha256};

    /// diesel records only a migration's version, so a database that ran a migration never
    /// sees a later edit of it: the edit would silently make fresh databases differ from every
    /// deployed one. `migrations/SHA256SUMS` (the format of `sha256sum`) pins each committed
    /// `up.sql`; a change of schema goes into a new migration.
    #[test]
    fn committed_migrations_are_never_edited() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let pinned: BTreeMap<String, String> = std::fs::read_to_string(dir.join("SHA256SUMS"))
            .expect("migrations/SHA256SUMS is readable")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (digest, path) = l.split_once("  ").expect("`<sha256>  <path>` lines");
                (path.to_string(), digest.to_string())
            })
            .collect();
        let mut actual = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("migrations/ is readable") {
            let entry = entry.expect("migrations/ is readable");
            if entry.path().join("up.sql").is_file() {
                let path = format!("{}/up.sql", entry.file_name().to_string_lossy());
                let text = std::fs::read(entry.path().join("up.sql")).expect("readable up.sql");
                let digest: String = Sha256::digest(&text)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                actual.insert(path, digest);
            }
        }

        let mut problems = Vec::new();
        for (path, digest) in &actual {
            match pinned.get(path) {
                Some(p) if p == digest => {}
                Some(_) => problems.push(format!(
                    "migrations/{path} differs from the text pinned in migrations/SHA256SUMS. \
                     Databases that already ran it will never see the edit: undo it and put \
                     the change in a new migration"
                )),
                None => problems.push(format!(
                    "migrations/{path} is not pinned: once it is final, run \
                     `cd migrations && sha256sum {path} >> SHA256SUMS`"
                )),
            }
        }
        for path in pinned.keys().filter(|p| !actual.contains_key(*p)) {
            problems.push(format!(
                "migrations/{path} is pinned but gone: databases that ran it keep its schema; \
                 restore it and undo it in a new migration"
            ));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
