use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use riposte::auth::Scope;
use riposte::db::{self, Database};
use riposte::logging::say;
use riposte::state::{AppState, Config};
use riposte::{app, openapi, seed};

mod commands;
use commands::export::export;
use commands::generate::print_report;
use commands::import::import;
use commands::keys::keys;
use commands::out;

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

// Parsed once at start-up: the size of `Serve`'s flags costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
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
        #[arg(long, env = "RIPOSTE_WORKERS", value_parser = clap::value_parser!(u16).range(1..), allow_negative_numbers = true)]
        workers: Option<u16>,
        /// Maximum database connections.
        #[arg(long, env = "RIPOSTE_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..), allow_negative_numbers = true)]
        pool_size: u16,
        /// Exports (`GET /v1/actions/export`) running at once; more are answered with 503.
        /// Each holds a database connection for its whole download. Default: a quarter of
        /// --pool-size, at least 1.
        #[arg(long, env = "RIPOSTE_MAX_EXPORTS", value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
        max_exports: Option<u32>,
        /// Event streams (`GET /v1/events`) open at once in the process; more are answered
        /// with 503. Each holds a connection (a file descriptor) for as long as its client
        /// stays.
        #[arg(long, env = "RIPOSTE_MAX_EVENT_STREAMS", default_value_t = riposte::subscribers::DEFAULT_MAX as u32, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
        max_event_streams: u32,
        /// Event streams one client (an API key, or an address without one) may hold open;
        /// more are answered with 429.
        #[arg(long, env = "RIPOSTE_MAX_EVENT_STREAMS_PER_CLIENT", default_value_t = riposte::subscribers::DEFAULT_MAX_PER_CLIENT as u32, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
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
        #[arg(long, env = "RIPOSTE_RATE_LIMIT", default_value_t = riposte::state::DEFAULT_RATE_PER_KEY, allow_negative_numbers = true)]
        rate_limit: u32,
        /// Requests per second per client address without a key; 0 for no limit.
        #[arg(long, env = "RIPOSTE_RATE_LIMIT_ANONYMOUS", default_value_t = riposte::state::DEFAULT_RATE_ANONYMOUS, allow_negative_numbers = true)]
        rate_limit_anonymous: u32,
        /// A reverse proxy in front of riposte, as a network (`10.0.0.0/8`) or an address;
        /// repeat for several. A request from one is counted against the client its
        /// `X-Forwarded-For` names (read from the right, past trusted proxies) for the
        /// anonymous rate limit and event streams per client; by default none is trusted.
        #[arg(
            long = "trusted-proxy",
            env = "RIPOSTE_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<String>,
        /// Origins allowed to call from browsers, comma-separated (`*` for any); none by default.
        #[arg(long, env = "RIPOSTE_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Secret that signs page tokens, at least 32 bytes; by default one kept in the
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
        #[arg(long, env = "RIPOSTE_WEBHOOK_TIMEOUT", default_value = riposte::webhook::DEFAULT_TIMEOUT, value_parser = riposte::state::parse_positive_duration, allow_hyphen_values = true)]
        webhook_timeout: std::time::Duration,
        /// Subscriptions this process delivers to at the same time. By default as many as
        /// there may be, so a receiver that never answers delays only its own subscription.
        #[arg(long, env = "RIPOSTE_WEBHOOK_CONCURRENCY", default_value_t = riposte::webhook::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
        webhook_concurrency: u32,
        /// The first retry's wait (doubling up to --webhook-retry-cap). For tests.
        #[arg(long, env = "RIPOSTE_WEBHOOK_RETRY_BASE", default_value = riposte::webhook::DEFAULT_RETRY_BASE, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_retry_base: std::time::Duration,
        #[arg(long, env = "RIPOSTE_WEBHOOK_RETRY_CAP", default_value = riposte::webhook::DEFAULT_RETRY_CAP, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_retry_cap: std::time::Duration,
        /// A subscription failing this long is disabled. For tests.
        #[arg(long, env = "RIPOSTE_WEBHOOK_GIVE_UP_AFTER", default_value = riposte::webhook::DEFAULT_GIVE_UP_AFTER, value_parser = riposte::state::parse_duration, hide = true)]
        webhook_give_up_after: std::time::Duration,
        /// How long a stop (SIGTERM, Ctrl-C) waits for the requests in flight and for the
        /// imports running in this process to finish; an import still running then is rolled
        /// back and its job failed, saying so. Queued imports are failed at once.
        #[arg(long, env = "RIPOSTE_SHUTDOWN_GRACE", default_value = "30s", value_parser = riposte::state::parse_positive_duration, allow_hyphen_values = true)]
        shutdown_grace: std::time::Duration,
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
        #[arg(long, env = "RIPOSTE_REPLICA_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..), allow_negative_numbers = true)]
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
        /// Also write the actors the actions name, with what they belong to, as actor lines
        /// (NDJSON only), so that `riposte import` of the file rebuilds the actions in a
        /// database that lacks them; `include_actors=true` in --query says the same.
        #[arg(long)]
        include_actors: bool,
        /// Also write each action's whole status history (NDJSON only), so that `riposte
        /// import` of the file into another database records the same history and `as_of`
        /// answers there as here; `include_history=true` in --query says the same.
        #[arg(long)]
        include_history: bool,
        /// Where to write (default: stdout). A regular file is written beside and put in
        /// place when whole (a failed export leaves the old one); a device or FIFO is
        /// written in place.
        #[arg(long)]
        output: Option<PathBuf>,
        /// How long whatever reads the output may take no data before the export is given
        /// up: its snapshot, one open transaction, holds back the database's clean-up
        /// meanwhile. Writing to a regular file (--output) never stalls.
        #[arg(long, default_value = "120s", value_parser = riposte::state::parse_duration)]
        stall_timeout: std::time::Duration,
    },
    /// Import actions (and actors) from a file: NDJSON in the API's shape (exports import
    /// as they are: where their actors are not stored, export with --include-actors),
    /// PLOVER/POLECAT JSON, or GDELT 2.0 event exports. Re-importing a file
    /// changes nothing: lines carrying an `id` or an `external_id` update their action.
    /// All-or-nothing unless --partial. Exit status 1 when any line was rejected (and, without
    /// --partial, nothing was stored) or when there was nothing to store (no lines, every
    /// record skipped).
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
        /// without control or format characters (zero-width ones, direction marks), other
        /// separators than the plain space, or a space at either end.
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
            // A key may be made before the first `serve`; listing or revoking needs keys.
            let database = match command {
                KeysCommand::Create { .. } => Database::open(db.database_url, &db.data_dir)?,
                _ => Database::open_existing(db.database_url, &db.data_dir)?,
            };
            let url = database.url.clone();
            actix_web::rt::System::new().block_on(async move { keys(&url, command).await })?;
            drop(database);
            Ok(())
        }
        Command::Export {
            query,
            format,
            include_actors,
            include_history,
            output,
            stall_timeout,
        } => {
            let database = Database::open_existing(db.database_url, &db.data_dir)?;
            let url = database.url.clone();
            let flags = format
                .map(|f| format!("format={f}"))
                .into_iter()
                .chain(include_actors.then(|| "include_actors=true".to_string()))
                .chain(include_history.then(|| "include_history=true".to_string()));
            let query = std::iter::once(query)
                .filter(|q| !q.is_empty())
                .chain(flags)
                .collect::<Vec<_>>()
                .join("&");
            let written = actix_web::rt::System::new()
                .block_on(async move { export(&url, &query, output, stall_timeout).await })?;
            let actors = match written.actors {
                0 => String::new(),
                n => format!(" and {n} actor(s)"),
            };
            say(&format!(
                "exported {} actions{actors}; the feed after them: GET /v1/changes?after={}",
                written.actions, written.feed_cursor
            ));
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
                let unit = format.unit();
                return Err(if report.stored && good == 0 {
                    format!(
                        "{} {unit}(s) rejected (see above), and no action {unit} was good: only \
                         {} actor(s) were stored",
                        report.rejected, report.actors_created
                    )
                } else if report.stored {
                    let skipped: u64 = report.skipped.values().sum();
                    let skipped = match skipped {
                        0 => String::new(),
                        n => format!(" ({n} record(s) skipped, as counted above)"),
                    };
                    format!(
                        "{} {unit}(s) rejected (see above); {good} action {unit}(s) were \
                         stored or found unchanged{skipped}",
                        report.rejected
                    )
                } else {
                    format!(
                        "{} {unit}(s) rejected (see above); nothing was stored. Fix them, or \
                         run with --partial to store the good {unit}s",
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
            trusted_proxies,
            cors_origins,
            token_secret,
            webhook_allow_private,
            webhook_deliveries,
            webhook_timeout,
            webhook_concurrency,
            webhook_retry_base,
            webhook_retry_cap,
            webhook_give_up_after,
            shutdown_grace,
            replica_urls,
            replica_max_lag,
            replica_pool_size,
        } => {
            riposte::replicas::check_urls(&replica_urls)?;
            let trusted_proxies = riposte::client_addr::TrustedProxies::parse(&trusted_proxies)?;
            riposte::state::check_token_secret(token_secret.as_deref())?;
            let listener = TcpListener::bind(&bind)
                .map_err(|e| format!("cannot listen on {bind}: {e}; choose another --bind"))?;
            let database = Database::open(db.database_url.clone(), &db.data_dir)?;
            let url = database.url.clone();
            let watch = database.embedded.as_ref().map(|pg| pg.watch());
            let owned = database.embedded.as_ref().is_some_and(|pg| pg.owned());
            let workers = workers
                .map(usize::from)
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
                    trusted_proxies,
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
                let imports = state.imports.clone();
                let pool = state.pool.clone();
                let server = app::server(listener, state, workers, shutdown_grace)
                    .map_err(|e| e.to_string())?;
                let hurry = {
                    let imports = imports.clone();
                    move || imports.hurry()
                };
                // Imports get the grace from the signal on, beside the requests in flight.
                let imports_stopped = {
                    let mut stopping = shutdown.subscribe();
                    actix_web::rt::spawn(async move {
                        let grace = match stopping.wait_for(|stopping| *stopping).await {
                            Ok(_) => shutdown_grace,
                            Err(_) => std::time::Duration::ZERO,
                        };
                        imports.stop(&pool, grace).await;
                    })
                };
                app::stop_on_signals(server.handle(), shutdown.clone(), shutdown_grace, hurry);
                let gave_up = watch.map(|w| stop_if_database_fails(w, server.handle()));
                let served = server.await;
                // Stopped otherwise (the database gone): the imports stop now.
                shutdown.send_replace(true);
                let _ = imports_stopped.await;
                // After the server: attempts in flight finish and are recorded before the
                // embedded PostgreSQL stops.
                if let Some(deliveries) = deliveries {
                    deliveries.stop().await;
                }
                served.map_err(|e| format!("server failed: {e}"))?;
                if gave_up.is_some_and(|g| g.load(std::sync::atomic::Ordering::SeqCst)) {
                    return Err(match owned {
                        true => format!(
                            "the embedded PostgreSQL died and could not be restarted; see {}",
                            db.data_dir.join("postgres.log").display()
                        ),
                        false => "the embedded PostgreSQL, run by another riposte process on \
                                  this data directory, stopped and did not come back; start \
                                  riposte again to run its own"
                            .to_string(),
                    });
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
