//! What every handler shares.

use std::sync::Arc;

use crate::db::{DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::models::server_secret;
use crate::pagination::{TokenKey, MIN_SECRET_LEN, SECRET_NAME};
use crate::ratelimit::{Limiter, Limits, Rate};
use crate::taxonomy::ActionTypes;

/// Behaviour switches, from the environment or flags of `riposte serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Reads need no key (`RIPOSTE_PUBLIC_READ`, default true).
    pub public_read: bool,
    /// PATCH and DELETE must carry `If-Match` (`RIPOSTE_REQUIRE_IF_MATCH`, default false).
    pub require_if_match: bool,
    pub rate_limits: Limits,
    /// Origins allowed to call from a browser (`RIPOSTE_CORS_ORIGINS`, comma-separated, `*`
    /// for any); none by default.
    pub cors_origins: Vec<String>,
    /// The secret page tokens are signed with (`RIPOSTE_TOKEN_SECRET`, at least 32
    /// bytes); by default one made on first start and kept in the database, so that
    /// every server on it accepts the others' tokens.
    pub token_secret: Option<String>,
    /// Entries the live change stream keeps for subscribers that fall behind; one that falls
    /// further is dropped with its resume point.
    pub feed_buffer: usize,
    /// How often `GET /v1/events` sends a comment line to keep the connection open.
    pub heartbeat: std::time::Duration,
    /// Bytes of a file sent to `POST /v1/imports` (413 beyond; after decompression).
    pub max_import_bytes: u64,
    /// How long, and how slowly, a file may take to arrive at `POST /v1/imports` (408
    /// beyond): it holds a slot of the import queue meanwhile. Shorter in tests.
    pub import_upload: ImportUpload,
    /// Webhook deliveries: the address guard's switch and the timings.
    pub webhooks: crate::webhook::Settings,
    /// Exports running at once in this process (`RIPOSTE_MAX_EXPORTS`); by default a quarter
    /// of the pool (`export::default_slots`). Each holds a connection for its whole download.
    pub max_exports: Option<usize>,
    /// An export whose client accepts no bytes for this long is ended, giving back its
    /// connection and its slot (`export::DEFAULT_IDLE_TIMEOUT`; shorter in tests).
    pub export_idle: std::time::Duration,
    /// `GET /v1/events` streams open at once in this process, and per client
    /// (`subscribers`).
    pub max_event_streams: usize,
    pub max_event_streams_per_client: usize,
    /// Proxies whose `X-Forwarded-For` names the client (`RIPOSTE_TRUSTED_PROXIES`); none
    /// by default (`client_addr`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
}

/// The bounds on the time of an import upload (`limits::MAX_IMPORT_UPLOAD_TIME`,
/// `MIN_IMPORT_UPLOAD_RATE`, `IMPORT_UPLOAD_GRACE`).
#[derive(Clone, Copy, Debug)]
pub struct ImportUpload {
    /// The whole upload, from the handler's start.
    pub deadline: std::time::Duration,
    /// Bytes per second to average as sent, counting only time spent waiting for them; 0
    /// for none.
    pub min_rate: u64,
    /// How far behind that pace an upload may fall.
    pub grace: std::time::Duration,
}

impl Default for ImportUpload {
    fn default() -> Self {
        ImportUpload {
            deadline: crate::limits::MAX_IMPORT_UPLOAD_TIME,
            min_rate: crate::limits::MIN_IMPORT_UPLOAD_RATE,
            grace: crate::limits::IMPORT_UPLOAD_GRACE,
        }
    }
}

/// A duration flag's value: `500ms`, `10s`, `5m`, `24h` (humantime's units), or a bare
/// number of seconds, as riposte has always read one.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(std::time::Duration::from_secs)
            .map_err(|e| format!("`{text}`: {e}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("`{text}`: {e}"))
}

/// A duration that must not be zero (a webhook timeout of 0 s would fail every delivery).
pub fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("`{text}`: must be more than zero")),
        d => Ok(d),
    }
}

/// A default duration, written as its flag is (`10s`, `24h`), so the flag's default and the
/// library's are one text.
pub fn duration(text: &str) -> std::time::Duration {
    parse_duration(text).expect("a default duration is well written")
}

/// Default requests per second per API key (burst twice that).
pub const DEFAULT_RATE_PER_KEY: u32 = 200;
/// Default requests per second per client address without a key (burst twice that).
pub const DEFAULT_RATE_ANONYMOUS: u32 = 50;

impl Default for Config {
    fn default() -> Self {
        Config {
            public_read: true,
            require_if_match: false,
            rate_limits: Limits {
                per_key: Rate::per_second(DEFAULT_RATE_PER_KEY),
                anonymous: Rate::per_second(DEFAULT_RATE_ANONYMOUS),
            },
            cors_origins: Vec::new(),
            token_secret: None,
            feed_buffer: 4096,
            heartbeat: std::time::Duration::from_secs(15),
            max_import_bytes: crate::limits::MAX_IMPORT_BYTES,
            import_upload: ImportUpload::default(),
            webhooks: crate::webhook::Settings::default(),
            max_exports: None,
            export_idle: duration(crate::export::DEFAULT_IDLE_TIMEOUT),
            max_event_streams: crate::subscribers::DEFAULT_MAX,
            max_event_streams_per_client: crate::subscribers::DEFAULT_MAX_PER_CLIENT,
            trusted_proxies: Default::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    /// This HTTP worker's pool (see `app::server`); in background tasks, theirs.
    pub pool: DbPool,
    /// Where `pool` connects; the HTTP workers open pools of their own with it.
    pub database_url: Arc<str>,
    /// Every HTTP worker's pool, for `GET /metrics` (which one worker answers). Weak: the
    /// pool of a worker that died closes with it, and its place goes to the worker that
    /// replaces it.
    pub worker_pools: Arc<std::sync::Mutex<Vec<crate::db::WeakDbPool>>>,
    pub types: Arc<ActionTypes>,
    pub config: Config,
    pub limiter: Arc<Limiter>,
    pub token_key: Arc<TokenKey>,
    /// The embedded PostgreSQL's supervisor, when this process runs one.
    pub pg: Option<crate::embedded_pg::PgWatch>,
    /// The live change stream, started by its first subscriber.
    feed: Arc<tokio::sync::OnceCell<Arc<crate::feed::Feed>>>,
    /// Set when the server starts shutting down: endless responses (event streams) end then,
    /// so that they do not hold the shutdown for its whole grace period.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Import jobs: where their files wait and how many run at once.
    pub imports: Arc<crate::service::imports::Imports>,
    /// What `GET /metrics` exposes; this server's own, so that servers sharing a process
    /// (tests) count apart.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Read replicas (none unless configured), their health and routing counters.
    pub replicas: Arc<crate::replicas::Replicas>,
    /// The actors stored documents embed (see `documents`).
    pub actors: Arc<crate::documents::ActorCache>,
    /// Numbers committed changes after this process's writes (see `wake`).
    pub sequencer: Arc<crate::wake::Sequencer>,
    /// Slots for exports running at once, shared by every HTTP worker (`Config::max_exports`).
    pub exports: Arc<tokio::sync::Semaphore>,
    /// The event streams open, shared by every HTTP worker.
    pub subscribers: Arc<crate::subscribers::Subscribers>,
}

impl AppState {
    pub async fn new(pool: DbPool, database_url: &str) -> AppResult<Self> {
        Self::with_config(pool, database_url, Config::default()).await
    }

    /// `database_url` is the pool's: imports open connections of their own with it.
    pub async fn with_config(pool: DbPool, database_url: &str, config: Config) -> AppResult<Self> {
        let types = ActionTypes::load(&pool).await?;
        let token_key = token_key(&pool, config.token_secret.as_deref()).await?;
        let limiter = Limiter::new(config.rate_limits);
        let exports = config
            .max_exports
            .unwrap_or_else(|| crate::export::default_slots(pool.status().max_size))
            .max(1);
        Ok(AppState {
            exports: Arc::new(tokio::sync::Semaphore::new(exports)),
            // Streams catching up read the database at once as exports do: a quarter of
            // the pool.
            subscribers: Arc::new(crate::subscribers::Subscribers::new(
                config.max_event_streams,
                config.max_event_streams_per_client,
                crate::export::default_slots(pool.status().max_size),
            )),
            actors: Arc::new(crate::documents::ActorCache::new(pool.clone())),
            sequencer: Arc::new(crate::wake::Sequencer::new(pool.clone())),
            pool,
            database_url: database_url.into(),
            worker_pools: Arc::default(),
            types: Arc::new(types),
            config,
            limiter: Arc::new(limiter),
            token_key: Arc::new(token_key),
            pg: None,
            feed: Arc::default(),
            shutdown: Arc::new(tokio::sync::watch::channel(false).0),
            imports: Arc::new(crate::service::imports::Imports::new(database_url)),
            metrics: Arc::default(),
            replicas: Arc::new(crate::replicas::Replicas::none()),
        })
    }

    /// Why the database cannot be used right now, when its process is known to be down.
    pub fn database_down(&self) -> Option<&'static str> {
        use crate::embedded_pg::PgState;
        match self.pg.as_ref()?.state() {
            PgState::Up => None,
            PgState::Restarting => Some(
                "the embedded PostgreSQL exited unexpectedly and is being restarted; retry in a \
                 few seconds",
            ),
            PgState::Failed => {
                Some("the embedded PostgreSQL could not be restarted; the server is shutting down")
            }
            PgState::Stopped => Some("the embedded PostgreSQL is stopped"),
            PgState::Away => Some(
                "the embedded PostgreSQL, run by another riposte process on this data directory, \
                 is not running; waiting for it to come back (start riposte again to run its \
                 own); retry in a few seconds",
            ),
        }
    }

    /// This process's live change stream.
    pub async fn feed(&self) -> AppResult<Arc<crate::feed::Feed>> {
        self.feed
            .get_or_try_init(|| {
                crate::feed::Feed::start(
                    self.pool.clone(),
                    self.actors.clone(),
                    self.config.feed_buffer,
                )
            })
            .await
            .cloned()
    }

    pub async fn conn(&self) -> AppResult<DbConn> {
        Ok(self.pool.get().await?)
    }

    /// Up to `n` more connections of the primary (`db::spare_conns`).
    pub async fn spare_conns(&self, n: usize) -> Vec<DbConn> {
        crate::db::spare_conns(&self.pool, n).await
    }
}

/// A page-token secret given to `serve` is long enough; `serve` asks before it opens the
/// database, so a short one is refused at once. The secret itself is never repeated.
pub fn check_token_secret(secret: Option<&str>) -> Result<(), String> {
    match secret {
        Some(s) if s.len() < MIN_SECRET_LEN => Err(format!(
            "--token-secret (RIPOSTE_TOKEN_SECRET) must be at least {MIN_SECRET_LEN} bytes; the \
             one given has {}. Make one with `openssl rand -hex 32`, or leave it out to use the \
             database's",
            s.len()
        )),
        _ => Ok(()),
    }
}

/// The configured page-token secret, else the database's (made now if there is none).
async fn token_key(pool: &DbPool, configured: Option<&str>) -> AppResult<TokenKey> {
    if let Some(secret) = configured {
        check_token_secret(Some(secret)).map_err(AppError::Internal)?;
        return Ok(TokenKey::new(secret.as_bytes().to_vec()));
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|e| AppError::Internal(format!("no randomness for the token secret: {e}")))?;
    let mut conn = pool.get().await?;
    let secret = server_secret::get_or_create(&mut conn, SECRET_NAME, &fresh).await?;
    Ok(TokenKey::new(secret))
}

/// The connections of `spare_conns`, borrowed as the analysis functions take them.
pub fn borrow_all(conns: &mut [DbConn]) -> Vec<&mut diesel_async::AsyncPgConnection> {
    conns.iter_mut().map(|c| &mut **c).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_take_units_or_bare_seconds() {
        let read = super::parse_duration;
        assert_eq!(read("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(read("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(
            read("30"),
            Ok(Duration::from_secs(30)),
            "as before humantime"
        );
        assert_eq!(read(" 10s "), Ok(Duration::from_secs(10)));
        assert!(read("10x").unwrap_err().contains("10x"));
        assert!(read("").is_err());
    }
}
