//! Read replicas: which database serves a read, consistency tokens, and replica health.
//!
//! Writes always go to the primary. After a write commits, the middleware reads the primary's
//! WAL insert position and hands it to the client as a consistency token
//! (`Riposte-Consistency` header and cookie). A read presenting a token goes to a replica only
//! once that replica has replayed WAL past the token (waiting at most `TOKEN_WAIT`), else to
//! the primary: a client always sees its own writes. A read without a token may be as stale
//! as the replica's lag, which the health task bounds (`--replica-max-lag`).
//!
//! Only the reads that handlers send through `AppState::read` can go to a replica (see
//! docs/ARCHITECTURE.md, "Read replicas", for which and why); everything else, key look-ups
//! included, uses the primary pool.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderName;

use crate::db::{DbConn, DbPool};
use crate::views::ReplicaHealth;

/// The header carrying a consistency token, in write responses and read requests.
pub const CONSISTENCY_HEADER: HeaderName = HeaderName::from_static("riposte-consistency");
/// The cookie carrying the same token, for browsers (which cannot be asked to echo a header).
pub const CONSISTENCY_COOKIE: &str = "riposte_consistency";
/// Says which database answered a read that could have gone to a replica.
pub const SERVED_BY_HEADER: HeaderName = HeaderName::from_static("riposte-served-by");
/// The longest a read with a token waits for a replica to replay past it before the primary
/// answers it instead. Local replicas replay a commit within a millisecond or two; waiting
/// longer than this would cost more latency than the primary's extra load is worth.
pub const TOKEN_WAIT: Duration = Duration::from_millis(100);
/// How often a waiting read asks the replica for its replay position.
const TOKEN_POLL: Duration = Duration::from_millis(5);
/// How often each replica's health is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A replica further behind than this is taken out of rotation (`--replica-max-lag`).
pub const DEFAULT_MAX_LAG: &str = "10s";
/// A health check that takes longer than this counts as a failure.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the primary's positions are kept to measure lags by.
const HISTORY: Duration = Duration::from_secs(15 * 60);
/// How long a replica connection may take to open, and a read may wait for a free one, before
/// the read goes to the primary: a replica that is slow to answer is not worth waiting for.
pub const REPLICA_WAIT: Duration = Duration::from_secs(1);
/// The cookie outlives any reasonable replica lag; past that, replicas have long replayed it.
const COOKIE_MAX_AGE_SECS: u64 = 300;

/// A WAL position (PostgreSQL's `pg_lsn`), written `X/Y` in hexadecimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `X/Y` with 1 to 8 hex digits each, as PostgreSQL writes it; nothing else.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.split_once('/')?;
        let part = |p: &str| {
            (!p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(p, 16).ok())
                .flatten()
        };
        Some(Lsn(part(hi)? << 32 | part(lo)?))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// How the replicas are configured (`riposte serve --replica-url ...`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub urls: Vec<String>,
    /// Connections per replica.
    pub pool_size: usize,
    /// Out of rotation beyond this lag.
    pub max_lag: Duration,
}

/// Where a replica stands, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ReplicaState {
    /// Not checked yet: out of rotation until the first check passes.
    Starting = 0,
    /// Serving reads.
    InRotation = 1,
    /// Unreachable, or its check failed.
    Down = 2,
    /// Reachable but further behind than `--replica-max-lag`.
    Lagging = 3,
    /// No longer in recovery: promoted to a primary of its own, so it no longer follows ours.
    Promoted = 4,
}

impl ReplicaState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => ReplicaState::InRotation,
            2 => ReplicaState::Down,
            3 => ReplicaState::Lagging,
            4 => ReplicaState::Promoted,
            _ => ReplicaState::Starting,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::InRotation => "in_rotation",
            ReplicaState::Down => "down",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Promoted => "promoted",
        }
    }
}

/// Routing decisions, counted since start: the hook for metrics (each is a counter).
#[derive(Debug, Default)]
pub struct RoutingStats {
    /// Reads answered by a replica.
    pub replica_reads: AtomicU64,
    /// Reads that could have gone to a replica and were answered by the primary (any reason).
    pub primary_reads: AtomicU64,
    /// ... of which: no replica was in rotation.
    pub no_replica: AtomicU64,
    /// Reads whose token no replica had replayed on arrival (they waited).
    pub token_waits: AtomicU64,
    /// ... of which: no replica caught up within `TOKEN_WAIT`; the primary answered.
    pub token_fallbacks: AtomicU64,
    /// Reads that failed on a replica (connection lost, recovery conflict) and were run again
    /// on the primary.
    pub retried_on_primary: AtomicU64,
}

impl RoutingStats {
    /// Every counter with the name `/metrics` gives it.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("replica", n(&self.replica_reads)),
            ("primary", n(&self.primary_reads)),
            ("no_replica", n(&self.no_replica)),
            ("token_wait", n(&self.token_waits)),
            ("token_fallback", n(&self.token_fallbacks)),
            ("retried_on_primary", n(&self.retried_on_primary)),
        ]
    }
}

/// One replica: its pool and what its health task last found.
pub struct Replica {
    /// Host, port and database, without credentials: safe to show in `/readyz` and logs.
    pub name: String,
    pool: DbPool,
    state: AtomicU8,
    /// The last replay position seen (health check or a waiting read).
    replay: AtomicU64,
    /// Bytes of WAL the primary had that the replica had not replayed, at the last check.
    lag_bytes: AtomicU64,
    /// Estimated lag in milliseconds at the last check; `u64::MAX` when unknown.
    lag_millis: AtomicU64,
    error: Mutex<Option<String>>,
    /// Whether the health check last found the replica down: reads in flight on it give up
    /// (`read`). Only the check moves it: one read's failure (a statement timeout, a recovery
    /// conflict) takes the replica out of rotation for new reads, but says nothing of the
    /// reads running beside it.
    down: tokio::sync::watch::Sender<bool>,
}

impl Replica {
    pub fn state(&self) -> ReplicaState {
        ReplicaState::from_u8(self.state.load(Ordering::Relaxed))
    }

    fn set(&self, state: ReplicaState, error: Option<String>) {
        // The state and its error change together under the error's lock, which `health`
        // reads them under: between the two, /readyz showed `promoted` with no reason.
        let mut held = self.error.lock().unwrap_or_else(|p| p.into_inner());
        let before = ReplicaState::from_u8(self.state.swap(state as u8, Ordering::Relaxed));
        if before != state {
            match &error {
                Some(e) => log::warn!(
                    "replica {}: {} -> {} ({e})",
                    self.name,
                    before.as_str(),
                    state.as_str()
                ),
                None => log::info!(
                    "replica {}: {} -> {}",
                    self.name,
                    before.as_str(),
                    state.as_str()
                ),
            }
        }
        *held = error;
    }

    fn replayed(&self) -> Lsn {
        Lsn(self.replay.load(Ordering::Relaxed))
    }

    fn saw_replay(&self, lsn: Lsn) {
        self.replay.fetch_max(lsn.0, Ordering::Relaxed);
    }

    /// The replica's health and lag, for `/readyz` and metrics (gauges).
    pub fn health(&self) -> ReplicaHealth {
        let replay = self.replay.load(Ordering::Relaxed);
        let millis = self.lag_millis.load(Ordering::Relaxed);
        let error = self.error.lock().unwrap_or_else(|p| p.into_inner());
        let state = self.state();
        let known = !matches!(state, ReplicaState::Starting | ReplicaState::Down);
        ReplicaHealth {
            name: self.name.clone(),
            state: state.as_str().to_string(),
            replay_lsn: (replay > 0).then(|| Lsn(replay).to_string()),
            lag_bytes: known.then(|| self.lag_bytes.load(Ordering::Relaxed)),
            lag_seconds: (known && millis != u64::MAX).then(|| millis as f64 / 1000.0),
            error: error.clone(),
        }
    }
}

/// The configured replicas (none: every read uses the primary, and nothing here runs).
#[derive(Default)]
pub struct Replicas {
    list: Vec<Arc<Replica>>,
    next: AtomicUsize,
    pub stats: RoutingStats,
}

impl Replicas {
    /// No replicas.
    pub fn none() -> Self {
        Replicas::default()
    }

    /// Pools for the replicas and a health task for each (started on the current runtime).
    pub fn start(settings: &Settings, primary: DbPool) -> Result<Self, String> {
        let mut list = Vec::new();
        for url in &settings.urls {
            let name = display_name(url);
            let pool = crate::db::pool_with_wait(url, settings.pool_size, REPLICA_WAIT)
                .map_err(|e| format!("replica {name}: {e}"))?;
            let replica = Arc::new(Replica {
                name,
                pool,
                state: AtomicU8::new(ReplicaState::Starting as u8),
                replay: AtomicU64::new(0),
                lag_bytes: AtomicU64::new(0),
                lag_millis: AtomicU64::new(u64::MAX),
                error: Mutex::new(None),
                down: tokio::sync::watch::Sender::new(false),
            });
            tokio::spawn(watch(replica.clone(), primary.clone(), settings.max_lag));
            list.push(replica);
        }
        Ok(Replicas {
            list,
            ..Default::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn list(&self) -> &[Arc<Replica>] {
        &self.list
    }

    /// A connection to a replica in rotation that has replayed `wanted` (waiting for one to
    /// catch up for at most `TOKEN_WAIT`), or None: the primary must answer.
    async fn checkout(&self, wanted: Option<Lsn>) -> Option<(Arc<Replica>, DbConn)> {
        let n = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let in_rotation: Vec<&Arc<Replica>> = (0..n)
            .map(|i| &self.list[(start + i) % n])
            .filter(|r| r.state() == ReplicaState::InRotation)
            .collect();
        if in_rotation.is_empty() {
            self.stats.no_replica.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let caught_up = |r: &&&Arc<Replica>| wanted.is_none_or(|w| r.replayed() >= w);
        for replica in in_rotation.iter().filter(caught_up) {
            if let Some(conn) = connect(replica).await {
                return Some(((*replica).clone(), conn));
            }
        }
        let wanted = wanted?;
        // The cached positions are up to a second old: ask the replicas themselves, until
        // one has replayed the token or the wait is over.
        self.stats.token_waits.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + TOKEN_WAIT;
        for replica in in_rotation {
            let Some(mut conn) = connect(replica).await else {
                continue;
            };
            loop {
                // A replica that stops answering while it is asked would hold the read past
                // the wait: not waited for beyond it, and its connection closed.
                let asked =
                    tokio::time::timeout_at(deadline.into(), replay_position(&mut conn)).await;
                let Ok(asked) = asked else {
                    drop(deadpool::managed::Object::take(conn));
                    self.stats.token_fallbacks.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                match asked {
                    Ok(Some(lsn)) => {
                        replica.saw_replay(lsn);
                        if lsn >= wanted {
                            return Some((replica.clone(), conn));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        replica.set(ReplicaState::Down, Some(e.to_string()));
                        break;
                    }
                }
                if Instant::now() + TOKEN_POLL > deadline {
                    self.stats.token_fallbacks.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                tokio::time::sleep(TOKEN_POLL).await;
            }
        }
        self.stats.token_fallbacks.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// A pooled connection to the replica, or None (and the replica out of rotation until its
/// next check passes, when it could not be reached).
async fn connect(replica: &Replica) -> Option<DbConn> {
    use deadpool::managed::PoolError;
    match replica.pool.get().await {
        Ok(conn) => Some(conn),
        // Every connection busy: this replica is saturated, not broken.
        Err(PoolError::Timeout(deadpool::managed::TimeoutType::Wait)) => None,
        Err(e) => {
            replica.set(ReplicaState::Down, Some(e.to_string()));
            None
        }
    }
}

/// Refuses a `--replica-url` that is not a PostgreSQL connection string, before anything
/// starts: accepted, it was retried every second for as long as the server ran, each time
/// logged as a lost database connection. The value is not repeated (it may hold a password).
pub fn check_urls(urls: &[String]) -> Result<(), String> {
    for (n, url) in urls.iter().enumerate() {
        if let Err(e) = url.parse::<tokio_postgres::Config>() {
            return Err(format!(
                "--replica-url number {} is not a PostgreSQL connection string ({e}); give \
                 one as postgres://user@host:port/database",
                n + 1
            ));
        }
    }
    Ok(())
}

/// `host:port/database` of a URL (every host, for a URL naming several), without
/// credentials.
fn display_name(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "(unparsable URL)".into();
    };
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    };
    format!(
        "{hosts}/{}",
        config.get_dbname().or(config.get_user()).unwrap_or("")
    )
}

mod health;
mod routing;

pub use health::primary_position;
use health::{replay_position, watch};
pub use routing::{middleware, IssueToken};

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE};

    use super::health::{self, Lag};
    use super::routing::token;
    use super::*;

    #[test]
    fn lsn_round_trips_and_refuses_junk() {
        for text in ["0/0", "0/3000148", "16/B374D848", "FFFFFFFF/FFFFFFFF"] {
            assert_eq!(Lsn::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Lsn::parse("0/3000148"), Some(Lsn(0x3000148)));
        assert!(Lsn::parse("1/0") > Lsn::parse("0/FFFFFFFF"));
        for junk in [
            "",
            "/",
            "0/",
            "/0",
            "0/3000148x",
            "x/1",
            "100000000/0",
            "0/-1",
            "0 /1",
        ] {
            assert_eq!(Lsn::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn lag_counts_from_the_first_position_not_replayed() {
        let now = Instant::now();
        let ago = |s: u64| now - Duration::from_secs(s);
        let history: VecDeque<_> = [(ago(5), Lsn(100)), (ago(3), Lsn(200)), (ago(1), Lsn(300))]
            .into_iter()
            .collect();
        let (bytes, lag) = health::lag(&history, Lsn(300));
        assert_eq!((bytes, lag), (0, Some(Lag::Known(Duration::ZERO))));
        let (bytes, lag) = health::lag(&history, Lsn(150));
        assert_eq!(bytes, 150);
        assert!(matches!(lag, Some(Lag::Known(l)) if l >= Duration::from_secs(3)));
        // Behind the oldest position kept: at least that long, not known how much longer.
        let (bytes, lag) = health::lag(&history, Lsn(50));
        assert_eq!(bytes, 250);
        assert!(matches!(lag, Some(Lag::AtLeast(l)) if l >= Duration::from_secs(5)));
        assert_eq!(health::lag(&VecDeque::new(), Lsn(1)), (0, None));
        // An idle primary just past a page header (here a segment's first page, 40 bytes):
        // a replica at the page's start has it all.
        let idle: VecDeque<_> = [(ago(60), Lsn(0x0300_0028))].into_iter().collect();
        let (_, lag) = health::lag(&idle, Lsn(0x0300_0000));
        assert_eq!(lag, Some(Lag::Known(Duration::ZERO)));
        let (_, lag) = health::lag(&idle, Lsn(0x02FF_FFF0));
        assert!(matches!(lag, Some(Lag::AtLeast(_))));
    }

    #[test]
    fn replica_names_leave_out_credentials() {
        assert_eq!(
            display_name("postgres://u:secret@db.internal:6543/riposte"),
            "db.internal:6543/riposte"
        );
        assert_eq!(
            display_name("postgres://u@/riposte?host=/run/pg&port=5433"),
            "/run/pg:5433/riposte"
        );
        assert_eq!(display_name("not a url"), "(unparsable URL)");
    }

    #[test]
    fn two_tokens_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append(CONSISTENCY_HEADER, HeaderValue::from_static("0/10"));
        headers.append(CONSISTENCY_HEADER, HeaderValue::from_static("0/20"));
        assert!(token(&headers).is_err());
    }

    #[test]
    fn the_header_wins_and_bad_cookies_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=b; riposte_consistency=0/10"),
        );
        assert_eq!(token(&headers).unwrap(), Some(Lsn(0x10)));
        headers.insert(COOKIE, HeaderValue::from_static("riposte_consistency=junk"));
        assert_eq!(token(&headers).unwrap(), None);
        headers.insert(CONSISTENCY_HEADER, HeaderValue::from_static("0/20"));
        assert_eq!(token(&headers).unwrap(), Some(Lsn(0x20)));
        headers.insert(CONSISTENCY_HEADER, HeaderValue::from_static("yesterday"));
        assert!(token(&headers).is_err());
    }
}
