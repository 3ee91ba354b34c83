use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use riposte::auth::{Caller, Scope};
use riposte::db::{self, Database};
use riposte::logging::say;
use riposte::state::{AppState, Config};
use riposte::{app, openapi, seed};

/// riposte: actions and counter-actions between states, served over HTTP.
///
/// Without DATABASE_URL, riposte runs a private PostgreSQL cluster in the data directory
/// (created on first use) for as long as the command runs.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Global: accepted before or after the subcommand.
    #[command(flatten)]
    db: DbArgs,
    /// Log lines as text or as one JSON object per line (timestamp, level, target,
    /// message, and request_id on access-log lines). Global.
    #[arg(
        long,
        env = "RIPOSTE_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    log_format: riposte::logging::LogFormat,
}

#[derive(clap::Args)]
struct DbArgs {
    /// PostgreSQL server to use instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// Where the embedded cluster keeps its data (ignored with DATABASE_URL).
    #[arg(
        long,
        env = "RIPOSTE_DATA_DIR",
        default_value = "./riposte-data",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "RIPOSTE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load a bundled data set before serving (see `riposte seed --help`).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(riposte::seed::names()))]
        seed: Option<String>,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "RIPOSTE_WORKERS")]
        workers: Option<usize>,
        /// Maximum database connections.
        #[arg(long, env = "RIPOSTE_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
        pool_size: u16,
        /// Exports (`GET /v1/actions/export`) running at once; more are answered with 503.
        /// Each holds a database connection for its whole download. Default: a quarter of
        /// --pool-size, at least 1.
        #[arg(long, env = "RIPOSTE_MAX_EXPORTS", value_parser = clap::value_parser!(u32).range(1..))]
        max_exports: Option<u32>,
        /// Event streams (`GET /v1/events`) open at once in the process; more are answered
        /// with 503. Each holds a connection (a file descriptor) for as long as its client
        /// stays.
        #[arg(long, env = "RIPOSTE_MAX_EVENT_STREAMS", default_value_t = riposte::subscribers::DEFAULT_MAX as u32, value_parser = clap::value_parser!(u32).range(1..))]
        max_event_streams: u32,
        /// Event streams one client (an API key, or an address without one) may hold open;
        /// more are answered with 429.
        #[arg(long, env = "RIPOSTE_MAX_EVENT_STREAMS_PER_CLIENT", default_value_t = riposte::subscribers::DEFAULT_MAX_PER_CLIENT as u32, value_parser = clap::value_parser!(u32).range(1..))]
        max_event_streams_per_client: u32,
        /// An export whose client accepts no bytes for this long is cut short. For tests.
        #[arg(long, env = "RIPOSTE_EXPORT_IDLE_TIMEOUT", default_value = riposte::export::DEFAULT_IDLE_TIMEOUT, value_parser = riposte::state::parse_duration, hide = true)]
        export_idle_timeout: std::time::Duration,
        /// Serve reads without an API key (false: reads need a `read` key).
        #[arg(long, env = "RIPOSTE_PUBLIC_READ", default_value_t = true, action = clap::ArgAction::Set)]
        public_read: bool,
        /// Refuse PATCH and DELETE without `If-Match` (428).
        #[arg(long, env = "RIPOSTE_REQUIRE_IF_MATCH", default_value_t = false, action = clap::ArgAction::Set)]
        require_if_match: bool,
        /// Requests per second per API key (burst twice that); 0 for no limit.
        #[arg(long, env = "RIPOSTE_RATE_LIMIT", default_value_t = riposte::state::DEFAULT_RATE_PER_KEY)]
        rate_limit: u32,
        /// Requests per second per client address without a key; 0 for no limit.
        #[arg(long, env = "RIPOSTE_RATE_LIMIT_ANONYMOUS", default_value_t = riposte::state::DEFAULT_RATE_ANONYMOUS)]
        rate_limit_anonymous: u32,
        /// Origins allowed to call from browsers, comma-separated (`*` for any); none by default.
        #[arg(long, env = "RIPOSTE_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Secret that signs page tokens, at least 32 characters; by default one kept in the
        /// database, shared by every server on it.
        #[arg(long, env = "RIPOSTE_TOKEN_SECRET", hide_env_values = true)]
        token_secret: Option<String>,
        /// Deliver webhooks to loopback, private and link-local addresses too (refused by
        /// default: a subscriber could otherwise reach the server's own network).
        #[arg(long, env = "RIPOSTE_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        webhook_allow_private: bool,
        /// Run the webhook delivery worker in this process (false: serve the API only, e.g.
        /// while fuzzing, or with other processes delivering).
        #[arg(long, env = "RIPOSTE_WEBHOOK_DELIVERIES", default_value_t = true, action = clap::ArgAction::Set)]
        webhook_deliveries: bool,
        /// How long a webhook delivery may take (connecting, and the whole request).
        #[arg(long, env = "RIPOSTE_WEBHOOK_TIMEOUT", default_value = riposte::webhook::DEFAULT_TIMEOUT, value_parser = riposte::state::parse_duration)]
        webhook_timeout: std::time::Duration,
        /// Subscriptions this process delivers to at the same time. By default as many as
        /// there may be, so a receiver that never answers delays only its own subscription.
        #[arg(long, env = "RIPOSTE_WEBHOOK_CONCURRENCY", default_value_t = riposte::webhook::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..))]
        webhook_concurrency: u32,
        /// The first retry's wait (doubling up to --webhook-retry-cap). For tests.
        #[arg(long, env = "RIPOSTE_WEBHOOK_RETRY_BASE", default_value = riposte::webhook::DEFAULT_RETRY_BASE, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_retry_base: std::time::Duration,
        #[arg(long, env = "RIPOSTE_WEBHOOK_RETRY_CAP", default_value = riposte::webhook::DEFAULT_RETRY_CAP, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_retry_cap: std::time::Duration,
        /// A subscription failing this long is disabled. For tests.
        #[arg(long, env = "RIPOSTE_WEBHOOK_GIVE_UP_AFTER", default_value = riposte::webhook::DEFAULT_GIVE_UP_AFTER, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_give_up_after: std::time::Duration,
        /// A read replica (a streaming standby of the database) to send reads to; repeat for
        /// several. Writes, key look-ups and the change feed stay on the primary.
        #[arg(
            long = "replica-url",
            env = "RIPOSTE_REPLICA_URLS",
            value_delimiter = ',',
            hide_env_values = true
        )]
        replica_urls: Vec<String>,
        /// A replica further behind the primary than this is taken out of rotation.
        #[arg(long, env = "RIPOSTE_REPLICA_MAX_LAG", default_value = riposte::replicas::DEFAULT_MAX_LAG, value_parser = riposte::state::parse_duration)]
        replica_max_lag: std::time::Duration,
        /// Database connections per replica.
        #[arg(long, env = "RIPOSTE_REPLICA_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
        replica_pool_size: u16,
    },
    /// Load a bundled data set into the database: xinjiang-2020 is the founding example (US
    /// sanctions on Xinjiang officials of July 2020, China's vow and its reciprocal measures).
    /// Running it twice adds nothing.
    Seed {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(riposte::seed::names()))]
        name: String,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Fill an empty database with a realistic synthetic data set (deterministic per seed):
    /// about 200 states and IGOs, thousands of designated people and bodies, Zipf-skewed
    /// dyads, answers in episodes (about 20% of actions), threats and their implementations.
    /// Refuses a database that already holds actors or actions.
    Generate {
        /// Number of actions.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=20_000_000))]
        actions: u64,
        /// Seed: the same seed and number of actions give the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write every action a query selects, as NDJSON (re-importable documents) or CSV, from
    /// one snapshot, to a file or stdout.
    Export {
        /// The filters and sort of `GET /v1/actions`, as a query string
        /// (e.g. `initiator=USA&from=2020-01-01`); every action when absent.
        #[arg(long, default_value = "")]
        query: String,
        /// ndjson (the default) or csv; `format=` in --query says the same.
        #[arg(long)]
        format: Option<String>,
        /// Where to write (default: stdout).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import actions (and actors) from a file: NDJSON in the API's shape (exports import
    /// as they are), PLOVER/POLECAT JSON, or GDELT 2.0 event exports. Re-importing a file
    /// changes nothing: lines carrying an `id` or an `external_id` update their action.
    /// All-or-nothing unless --partial. Exit status 1 when any line was rejected (and, without
    /// --partial, nothing was stored).
    Import {
        file: PathBuf,
        /// ndjson, plover or gdelt.
        #[arg(long, default_value = "ndjson")]
        format: riposte::import::Format,
        /// Store the good lines and report the bad ones, instead of storing nothing when a
        /// line is rejected.
        #[arg(long)]
        partial: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (regenerate the committed copy with
    /// `riposte openapi > openapi/openapi.json`).
    Openapi,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print its secret (shown this once, on stdout; what else is said goes
    /// to stderr).
    Create {
        /// What the key is for (who holds it), shown by `keys list`; up to 100 characters,
        /// no control characters.
        #[arg(long)]
        name: String,
        /// read, write or admin.
        #[arg(long, value_parser = parse_scope)]
        scope: Scope,
        /// Expiry: YYYY-MM-DD (midnight UTC) or an RFC 3339 time.
        #[arg(long, value_parser = parse_expiry)]
        expires: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key at once, by its id or the 12-character prefix `keys list` prints. It
    /// stays listed as revoked.
    Revoke { key: String },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse()
}

fn parse_expiry(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use riposte::input::{parse_day, Timestamp};
    if let Some(t) = Timestamp::parse(s) {
        return Ok(t.0);
    }
    parse_day(s)
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .ok_or_else(|| {
            format!("`{s}` is neither YYYY-MM-DD nor an RFC 3339 time (years 0001 to 9999)")
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    riposte::logging::init(format);
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Said once: as a JSON log line for collectors, else as a plain line for people.
        Err(message) => {
            match format {
                riposte::logging::LogFormat::Json => log::error!("{message}"),
                riposte::logging::LogFormat::Text => {
                    riposte::logging::flush();
                    eprintln!("error: {message}");
                }
            }
            riposte::logging::flush();
            ExitCode::FAILURE
        }
    };
    riposte::logging::flush();
    code
}

fn run(cli: Cli) -> Result<(), String> {
    let db = cli.db;
    match cli.command {
        Command::Openapi => out(&openapi::document_json()),
        Command::Keys { command } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            actix_web::rt::System::new().block_on(async move { keys(&url, command).await })?;
            drop(database);
            Ok(())
        }
        Command::Export {
            query,
            format,
            output,
        } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            let query = match format {
                None => query,
                Some(format) if query.is_empty() => format!("format={format}"),
                Some(format) => format!("{query}&format={format}"),
            };
            let written = actix_web::rt::System::new()
                .block_on(async move { export(&url, &query, output).await })?;
            say(&format!("exported {written} actions"));
            drop(database);
            Ok(())
        }
        Command::Import {
            file,
            format,
            partial,
        } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            let report = actix_web::rt::System::new()
                .block_on(async move { import(&url, &file, format, partial).await })?;
            drop(database);
            if let Some(why) = report.nothing_to_store(format) {
                return Err(why);
            }
            if report.rejected > 0 || !report.stored {
                let good = report.created + report.updated + report.unchanged;
                return Err(if report.stored && good == 0 {
                    format!(
                        "{} line(s) rejected (see above), and no action line was good: only \
                         {} actor(s) were stored",
                        report.rejected, report.actors_created
                    )
                } else if report.stored {
                    format!(
                        "{} line(s) rejected (see above); the {good} others were stored",
                        report.rejected
                    )
                } else {
                    format!(
                        "{} line(s) rejected (see above); nothing was stored. Fix them, or run \
                         with --partial to store the good lines",
                        report.rejected
                    )
                });
            }
            Ok(())
        }
        Command::Migrate => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            log::info!("database is up to date");
            drop(database);
            Ok(())
        }
        Command::Generate { actions, seed } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            let options = riposte::generate::Options { actions, seed };
            let report = actix_web::rt::System::new()
                .block_on(async move { riposte::generate::run(&url, options).await })?;
            print_report(&report)?;
            drop(database);
            Ok(())
        }
        Command::Seed { name } => {
            let database = Database::open(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            actix_web::rt::System::new().block_on(async move { seed_now(&url, 4, &name).await })?;
            drop(database);
            Ok(())
        }
        Command::Serve {
            bind,
            seed,
            workers,
            pool_size,
            max_exports,
            max_event_streams,
            max_event_streams_per_client,
            export_idle_timeout,
            public_read,
            require_if_match,
            rate_limit,
            rate_limit_anonymous,
            cors_origins,
            token_secret,
            webhook_allow_private,
            webhook_deliveries,
            webhook_timeout,
            webhook_concurrency,
            webhook_retry_base,
            webhook_retry_cap,
            webhook_give_up_after,
            replica_urls,
            replica_max_lag,
            replica_pool_size,
        } => {
            let listener = TcpListener::bind(&bind)
                .map_err(|e| format!("cannot listen on {bind}: {e}; choose another --bind"))?;
            let database = Database::open(db.database_url.clone(), &db.data_dir)?;
            let url = database.url.clone();
            let watch = database.embedded.as_ref().map(|pg| pg.watch());
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            actix_web::rt::System::new().block_on(async move {
                if let Some(name) = seed {
                    seed_now(&url, 4, &name).await?;
                }
                let pool = db::pool(&url, usize::from(pool_size))?;
                let config = Config {
                    public_read,
                    require_if_match,
                    rate_limits: riposte::ratelimit::Limits {
                        per_key: riposte::ratelimit::Rate::per_second(rate_limit),
                        anonymous: riposte::ratelimit::Rate::per_second(rate_limit_anonymous),
                    },
                    cors_origins,
                    token_secret,
                    webhooks: riposte::webhook::Settings {
                        allow_private: webhook_allow_private,
                        timeout: webhook_timeout,
                        retry_base: webhook_retry_base,
                        retry_cap: webhook_retry_cap,
                        give_up_after: webhook_give_up_after,
                        concurrency: webhook_concurrency as usize,
                    },
                    max_exports: max_exports.map(|n| n as usize),
                    export_idle: export_idle_timeout,
                    max_event_streams: max_event_streams as usize,
                    max_event_streams_per_client: max_event_streams_per_client as usize,
                    ..Config::default()
                };
                let mut state = AppState::with_config(pool, &url, config)
                    .await
                    .map_err(|e| format!("cannot start serving: {e}"))?;
                state.pg = watch.clone();
                riposte::service::imports::sweep_spool();
                if !replica_urls.is_empty() {
                    let settings = riposte::replicas::Settings {
                        urls: replica_urls,
                        pool_size: usize::from(replica_pool_size),
                        max_lag: replica_max_lag,
                    };
                    state.replicas = std::sync::Arc::new(riposte::replicas::Replicas::start(
                        &settings,
                        state.pool.clone(),
                    )?);
                    log::info!("reading from {} replica(s)", settings.urls.len());
                }
                let deliveries = webhook_deliveries
                    .then(|| {
                        riposte::webhook::worker::Worker::start(
                            state.pool.clone(),
                            state.actors.clone(),
                            state.config.webhooks.clone(),
                            state.metrics.clone(),
                        )
                    })
                    .transpose()
                    .map_err(|e| format!("cannot start webhook deliveries: {e}"))?;
                log::info!("serving on http://{bind} (docs at http://{bind}/docs)");
                let shutdown = state.shutdown.clone();
                let server = app::server(listener, state, workers).map_err(|e| e.to_string())?;
                app::stop_on_signals(server.handle(), shutdown);
                let gave_up = watch.map(|w| stop_if_database_fails(w, server.handle()));
                let served = server.await;
                // After the server: attempts in flight finish and are recorded before the
                // embedded PostgreSQL stops.
                if let Some(deliveries) = deliveries {
                    deliveries.stop().await;
                }
                served.map_err(|e| format!("server failed: {e}"))?;
                if gave_up.is_some_and(|g| g.load(std::sync::atomic::Ordering::SeqCst)) {
                    return Err(format!(
                        "the embedded PostgreSQL died and could not be restarted; see {}",
                        db.data_dir.join("postgres.log").display()
                    ));
                }
                Ok::<(), String>(())
            })?;
            log::info!("server stopped");
            drop(database);
            Ok(())
        }
    }
}

/// Stops the server when the embedded PostgreSQL cannot be restarted, so that riposte exits
/// non-zero and a process manager can start it afresh; the flag says it happened.
fn stop_if_database_fails(
    watch: riposte::embedded_pg::PgWatch,
    handle: actix_web::dev::ServerHandle,
) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let gave_up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = gave_up.clone();
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if watch.state() == riposte::embedded_pg::PgState::Failed {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                handle.stop(true).await;
                return;
            }
        }
    });
    gave_up
}

/// Writes `text` to standard output whole, or says why it could not (a closed pipe, a full
/// disk): `print!` panicked there.
fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

fn print_report(r: &riposte::generate::Report) -> Result<(), String> {
    use riposte::generate::progress::{seconds, thousands};
    let actions = r
        .rows
        .iter()
        .find(|(t, _)| *t == "actions")
        .map_or(0, |(_, n)| *n);
    let mut text = String::from("generated:\n");
    use std::fmt::Write;
    for (table, n) in &r.rows {
        let _ = writeln!(text, "  {table:<15} {:>12}", thousands(*n));
    }
    let _ = writeln!(
        text,
        "  answering       {:>12}  ({:.1}% of actions, in {} episodes)",
        thousands(r.answering),
        100.0 * r.answering as f64 / actions.max(1) as f64,
        thousands(r.episodes as u64)
    );
    let _ = writeln!(
        text,
        "  threats         {:>12}  ({} implemented)",
        thousands(r.threats),
        thousands(r.threats_implemented)
    );
    let (a, b, n) = &r.busiest;
    let _ = writeln!(
        text,
        "busiest dyad: {a}-{b}, {} actions ({:.1}%)",
        thousands(*n),
        100.0 * *n as f64 / actions.max(1) as f64
    );
    for (tag, size, id) in &r.designed {
        let _ = writeln!(text, "episode tag {tag}: {size} actions from {id}");
    }
    let _ = writeln!(
        text,
        "elapsed {} (loading {}), {} actions/s",
        seconds(r.elapsed),
        seconds(r.loading),
        thousands((actions as f64 / r.elapsed.as_secs_f64()) as u64)
    );
    out(&text)
}

async fn keys(url: &str, command: KeysCommand) -> Result<(), String> {
    use riposte::models::api_key;
    use riposte::service::keys;
    let pool = db::pool(url, 1)?;
    match command {
        KeysCommand::Create {
            name,
            scope,
            expires,
        } => {
            let created = keys::create(&pool, &Caller::cli(), &name, scope, expires)
                .await
                .map_err(|e| format!("cannot create the key: {e}"))?;
            say(&format!(
                "created key {} ({}, scope {}); its secret, shown only this once:",
                created.key.id, created.key.name, created.key.scope
            ));
            // A secret nobody received must not stay a working key.
            if let Err(e) = out(&format!("{}\n", created.secret)) {
                keys::revoke(
                    &pool,
                    &Caller::cli(),
                    &created.key.id.to_string(),
                    riposte::service::anything(),
                )
                .await
                .map_err(|r| format!("{e}; revoking the key failed too: {r}"))?;
                return Err(format!("{e}; the key was revoked: create another"));
            }
        }
        KeysCommand::List => {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let mut after = None;
            out(&format!(
                "{:<36}  {:<12}  {:<5}  {:<8}  {:<20}  name\n",
                "id", "prefix", "scope", "state", "expires"
            ))?;
            loop {
                let rows = api_key::list(&mut conn, after, 200)
                    .await
                    .map_err(|e| e.to_string())?;
                for k in &rows {
                    let state = match k.standing() {
                        api_key::Standing::Active => "active",
                        api_key::Standing::Revoked(_) => "revoked",
                        api_key::Standing::Expired(_) => "expired",
                    };
                    // Names stored before control characters were refused are shown
                    // escaped, never interpreted by the terminal.
                    let expires = k.expires_at.map_or("never".to_string(), |t| {
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    });
                    out(&format!(
                        "{:<36}  {:<12}  {:<5}  {:<8}  {:<20}  {}\n",
                        k.id,
                        k.prefix,
                        k.scope,
                        state,
                        expires,
                        k.name
                            .chars()
                            .map(|c| match c.is_control() {
                                true => c.escape_default().to_string(),
                                false => c.to_string(),
                            })
                            .collect::<String>()
                    ))?;
                }
                match rows.last() {
                    Some(last) if rows.len() == 200 => after = Some((last.created_at, last.id)),
                    _ => break,
                }
            }
        }
        KeysCommand::Revoke { key } => {
            let revoked = keys::revoke(&pool, &Caller::cli(), &key, riposte::service::anything())
                .await
                .map_err(|e| format!("cannot revoke `{key}`: {e}"))?;
            say(&format!("revoked key {} ({})", revoked.id, revoked.name));
        }
    }
    Ok(())
}

/// `riposte export`: the same export as `GET /v1/actions/export`, with progress on stderr.
async fn export(url: &str, query: &str, output: Option<PathBuf>) -> Result<u64, String> {
    use std::io::Write;
    let pool = db::pool(url, 2)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    let (format, filter, sort) =
        riposte::controllers::actions::export_query(&mut conn, &state.types, query)
            .await
            .map_err(|e| format!("--query or --format: {e}"))?;
    let mut export = riposte::export::Export::begin(
        conn,
        filter,
        sort,
        format,
        riposte::state::duration(riposte::export::DEFAULT_IDLE_TIMEOUT),
    )
    .await
    .map_err(|e| e.to_string())?;
    // A file is written beside its path and put in place when whole: an export that fails
    // (a full disk, Ctrl-C) leaves no cut file, and an existing one as it was.
    let mut file = match &output {
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            Some(
                tempfile::Builder::new()
                    .prefix(".riposte-export-")
                    // As a file created in place would be (umask applies).
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .tempfile_in(dir)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let mut out: Box<dyn Write> = match &mut file {
        Some(file) => Box::new(std::io::BufWriter::new(file.as_file_mut())),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let progress = riposte::generate::progress::counter("exporting");
    while let Some(chunk) = export.next().await.map_err(|e| e.to_string())? {
        out.write_all(&chunk)
            .map_err(|e| format!("cannot write the export: {e}"))?;
        progress.set_position(export.written);
    }
    out.flush()
        .map_err(|e| format!("cannot write the export: {e}"))?;
    drop(out);
    if let (Some(file), Some(path)) = (file, &output) {
        file.persist(path)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    }
    progress.finish_and_clear();
    Ok(export.written)
}

/// `riposte import`: the import of `POST /v1/imports`, with a progress bar on stderr and the
/// rejected lines printed.
async fn import(
    url: &str,
    file: &std::path::Path,
    format: riposte::import::Format,
    partial: bool,
) -> Result<riposte::import::Report, String> {
    use riposte::import::{self as imp, Job, Progress};
    use std::sync::atomic::Ordering;
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let copy = readable_twice(file)?;
    let file = copy.as_deref().unwrap_or(file);
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    let pool = db::pool(url, 1)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let job = Job {
        id: uuid::Uuid::now_v7(),
        format,
        partial,
        origin: riposte::models::import::ImportOrigin::Cli,
        file_name,
        api_key_id: None,
    };
    let mut conn = state.conn().await.map_err(|e| e.to_string())?;
    riposte::service::imports::record(&mut conn, &job, size)
        .await
        .map_err(|e| format!("cannot record the import job: {e}"))?;
    drop(conn);
    let progress = std::sync::Arc::new(Progress::default());
    let bar = riposte::generate::progress::bytes_bar(size);
    let watched = progress.clone();
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(watched.bytes.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} lines, {}",
                    watched.lines.load(Ordering::Relaxed),
                    watched.phase()
                ));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    // Ctrl-C drops the import, and with it its connection: PostgreSQL rolls the transaction
    // back. The job then says so at once rather than when its heartbeat goes stale.
    let result = tokio::select! {
        result = imp::run(url, state.types.clone(), &job, file, progress) => Some(result),
        _ = tokio::signal::ctrl_c() => None,
    };
    ticker.abort();
    bar.finish_and_clear();
    let Some(result) = result else {
        let mut conn = state.conn().await.map_err(|e| e.to_string())?;
        let why = "interrupted (Ctrl-C) before it committed: nothing was stored";
        return Err(
            match riposte::service::imports::stopped(&mut conn, job.id, why).await {
                Ok(true) => format!("import {}: {why}", job.id),
                Ok(false) => format!(
                    "import {}: interrupted (Ctrl-C) as it finished; it had committed (see \
                     GET /v1/imports/{})",
                    job.id, job.id
                ),
                Err(e) => format!(
                    "import {}: interrupted (Ctrl-C); nothing was stored, but the job could \
                     not be marked failed: {e}",
                    job.id
                ),
            },
        );
    };
    let report = result.map_err(|e| e.to_string())?;
    // A PLOVER file's `line` numbers its records (which span lines, or share one).
    let unit = match format {
        imp::Format::Plover => "record",
        imp::Format::Ndjson | imp::Format::Gdelt => "line",
    };
    for r in &report.rejections {
        for e in &r.errors {
            say(&format!("{unit} {}: {}: {}", r.line, e.field, e.message));
        }
    }
    if report.rejected as usize > report.rejections.len() {
        say(&format!(
            "... and {} more rejected {unit}(s)",
            report.rejected as usize - report.rejections.len()
        ));
    }
    let skipped: u64 = report.skipped.values().sum();
    say(&format!(
        "import {}: {} read, {} created, {} updated, {} unchanged, {} rejected, {} skipped, {} \
         actors created{}",
        job.id,
        report.read,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected,
        skipped,
        report.actors_created,
        if report.stored {
            ""
        } else {
            "; nothing stored"
        }
    ));
    for (reason, n) in &report.skipped {
        match report.skipped_first.get(reason) {
            Some(first) => say(&format!("  skipped {n}: {reason} (first: {first})")),
            None => say(&format!("  skipped {n}: {reason}")),
        }
    }
    Ok(report)
}

/// The import reads its file twice (its actor pass, then its action pass). A regular file
/// can be: None. Standard input (`-`), a pipe or a FIFO cannot (a FIFO blocked the second
/// open for ever, a pipe read as empty): a temporary copy of what they give, removed when
/// it is dropped.
fn readable_twice(file: &std::path::Path) -> Result<Option<tempfile::TempPath>, String> {
    let stdin = file.as_os_str() == "-";
    if !stdin {
        let meta =
            std::fs::metadata(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        if meta.is_dir() {
            return Err(format!("{} is a directory, not a file", file.display()));
        }
        if meta.is_file() {
            return Ok(None);
        }
    }
    let copy = tempfile::Builder::new()
        .prefix(&riposte::service::imports::spool_prefix())
        .tempfile()
        .map_err(|e| format!("cannot make a temporary copy of {}: {e}", file.display()))?;
    let bar = riposte::generate::progress::bytes_spinner("copying the input first");
    let copied = {
        let mut writer = bar.wrap_write(std::io::BufWriter::new(copy.as_file()));
        if stdin {
            std::io::copy(&mut std::io::stdin().lock(), &mut writer)
        } else {
            std::fs::File::open(file).and_then(|mut f| std::io::copy(&mut f, &mut writer))
        }
        .and_then(|_| std::io::Write::flush(&mut writer))
    };
    bar.finish_and_clear();
    copied.map_err(|e| format!("cannot copy {} to a temporary file: {e}", file.display()))?;
    Ok(Some(copy.into_temp_path()))
}

async fn seed_now(url: &str, pool_size: usize, name: &str) -> Result<(), String> {
    let pool = db::pool(url, pool_size)?;
    let state = AppState::new(pool, url).await.map_err(|e| e.to_string())?;
    let report = seed::run(&state, name)
        .await
        .map_err(|e| format!("seeding `{name}` failed: {e}"))?;
    log::info!(
        "seed `{name}`: {} actors created ({} already present), {} actions created ({} already present)",
        report.actors_created,
        report.actors_existing,
        report.actions_created,
        report.actions_existing
    );
    Ok(())
}
