//! What operators watch (`GET /metrics`, issue #14): the counters and histograms the code
//! updates as it works, and the figures read only when Prometheus scrapes (the pool's state,
//! import jobs, the webhook backlog from the database). Every metric and its labels are
//! listed in docs/OPERATIONS.md.
//!
//! One `Metrics` per `AppState`, not a process-wide registry: tests run many servers in one
//! process, and each must count only its own requests.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The `Content-Type` of the Prometheus text exposition format, version 0.0.4.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// All metric names start with this (and `_`).
const PREFIX: &str = "riposte";

/// The route label of requests no route matched: one value, however many paths are tried.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds: from a cached read (a few ms) to the
/// request deadline (20 s), after which every request is a 503.
const LATENCY_BUCKETS: [f64; 12] = [
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 20.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// The route's pattern (`/v1/actions/{id}`), never the path: bounded cardinality.
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    /// Host, port and database (no credentials), as `/readyz` names it.
    replica: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
}

type LatencyFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The metrics of one server process.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: LatencyFamily,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhooks_disabled: Counter,
    event_clients: Gauge,
    events_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's head, by route pattern, method and \
             status",
            http_duration.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        // Both series from the start, so that a rate over them never begins with a gap.
        for outcome in ["success", "failure"] {
            drop(webhook_deliveries.get_or_create(&OutcomeLabels { outcome }));
        }
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts made by this process, by outcome (success: a 2xx answer)",
            webhook_deliveries.clone(),
        );
        let webhooks_disabled = Counter::default();
        registry.register(
            "webhook_subscriptions_disabled",
            "Webhook subscriptions this process disabled after failing for the give-up period",
            webhooks_disabled.clone(),
        );
        let event_clients = Gauge::default();
        registry.register(
            "events_clients",
            "Clients connected to GET /v1/events",
            event_clients.clone(),
        );
        let events_dropped = Counter::default();
        registry.register(
            "events_dropped",
            "GET /v1/events clients dropped for falling behind the live stream",
            events_dropped.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_duration,
            webhook_deliveries,
            webhooks_disabled,
            event_clients,
            events_dropped,
        }
    }

    fn observe_request(&self, route: String, method: &Method, status: u16, took: Duration) {
        let labels = HttpLabels {
            route,
            method: method_label(method),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A webhook delivery attempt ended, delivered (2xx) or not.
    pub fn webhook_attempt(&self, delivered: bool) {
        let outcome = if delivered { "success" } else { "failure" };
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The worker gave up on a subscription and disabled it.
    pub fn webhook_disabled(&self) {
        self.webhooks_disabled.inc();
    }

    /// A client of `GET /v1/events` is connected until the returned guard is dropped.
    pub fn event_client(self: &Arc<Self>) -> EventClient {
        self.event_clients.inc();
        EventClient(self.clone())
    }

    /// A client of `GET /v1/events` fell too far behind and was sent `event: dropped`.
    pub fn event_client_dropped(&self) {
        self.events_dropped.inc();
    }

    /// The exposition: what was counted, then what `scraped` read just now.
    pub fn render(&self, scraped: &Scraped) -> Result<String, std::fmt::Error> {
        use prometheus_client::encoding::prometheus_text::encode;
        let mut text = String::with_capacity(16 * 1024);
        encode(&mut text, &self.registry)?;
        encode(&mut text, &scraped.registry())?;
        Ok(text)
    }
}

/// Counts a connected `/v1/events` client for as long as it lives (the response stream holds
/// it, so it goes whichever way the stream ends: the client leaves, is dropped, shutdown).
pub struct EventClient(Arc<Metrics>);

impl Drop for EventClient {
    fn drop(&mut self) {
        self.0.event_clients.dec();
    }
}

/// Methods outside this list share one label value, so made-up methods cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every request and its latency by route pattern, method and status. The pattern
/// is looked up before the call: routing needs the request unshared, and an inner layer
/// that answers with an error (the deadline's 503) gives no request back.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    // API paths by the document's templates; actix's own lookup runs a regular expression
    // per route pattern, which cost a by-id read about 5% of its CPU.
    let documented = req
        .app_data::<web::Data<crate::app::Allowed>>()
        .and_then(|a| a.template(req.path()).map(str::to_string));
    let route = documented
        .or_else(|| req.match_pattern())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    state
        .metrics
        .observe_request(route, &method, status.as_u16(), started.elapsed());
    result
}

/// Figures read when Prometheus scrapes, not kept between scrapes.
#[derive(Debug, Default)]
pub struct Scraped {
    pub pool: Option<deadpool::Status>,
    /// Import jobs of this process: (running, queued).
    pub imports: Option<(usize, usize)>,
    /// From the database; None when it could not be read (the series are then absent
    /// rather than wrong).
    pub webhooks: Option<crate::models::webhook::WebhookFigures>,
    /// Each replica's health as its task last saw it (empty without replicas).
    pub replicas: Vec<crate::views::ReplicaHealth>,
    /// The routing counters of this process: (decision, count).
    pub routing: Vec<(&'static str, u64)>,
}

/// The HTTP workers' pools together (the server's own when none was opened yet).
fn pool_status(state: &AppState) -> deadpool::Status {
    let pools: Vec<_> = match state.worker_pools.lock() {
        Ok(pools) => pools.iter().filter_map(|p| p.upgrade()).collect(),
        Err(_) => Vec::new(),
    };
    if pools.is_empty() {
        return state.pool.status();
    }
    let mut sum = deadpool::Status {
        max_size: 0,
        size: 0,
        available: 0,
        waiting: 0,
    };
    for status in pools.iter().map(|p| p.status()) {
        sum.max_size += status.max_size;
        sum.size += status.size;
        sum.available += status.available;
        sum.waiting += status.waiting;
    }
    sum
}

impl Scraped {
    /// The process-local figures, read now.
    pub fn local(state: &AppState) -> Scraped {
        Scraped {
            pool: Some(pool_status(state)),
            imports: Some(state.imports.counts()),
            webhooks: None,
            replicas: state.replicas.list().iter().map(|r| r.health()).collect(),
            routing: state.replicas.stats.snapshot(),
        }
    }

    fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix(PREFIX);
        let gauge = |value: i64| {
            let g = Gauge::<i64>::default();
            g.set(value);
            g
        };
        let by_state = |pairs: &[(&'static str, i64)]| {
            let family = Family::<StateLabels, Gauge>::default();
            for (state, value) in pairs {
                family.get_or_create(&StateLabels { state }).set(*value);
            }
            family
        };
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        if let Some(pool) = self.pool {
            let idle = count(pool.available);
            let in_use = count(pool.size.saturating_sub(pool.available));
            registry.register(
                "db_pool_connections",
                "Database connections of the pool, by state (in_use: lent to a request or task; \
                 idle: open and free)",
                by_state(&[("in_use", in_use), ("idle", idle)]),
            );
            registry.register(
                "db_pool_max_connections",
                "The pool's maximum size (--pool-size)",
                gauge(count(pool.max_size)),
            );
            registry.register(
                "db_pool_waiting",
                "Requests and tasks waiting for a database connection",
                gauge(count(pool.waiting)),
            );
        }
        if let Some((running, queued)) = self.imports {
            registry.register(
                "import_jobs",
                "Import jobs of this process, by state (running, queued)",
                by_state(&[("running", count(running)), ("queued", count(queued))]),
            );
        }
        if !self.replicas.is_empty() {
            let in_rotation = Family::<ReplicaLabels, Gauge>::default();
            let lag_bytes = Family::<ReplicaLabels, Gauge>::default();
            let lag_seconds =
                Family::<ReplicaLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
            for r in &self.replicas {
                let labels = ReplicaLabels {
                    replica: r.name.clone(),
                };
                in_rotation
                    .get_or_create(&labels)
                    .set(i64::from(r.state == "in_rotation"));
                // Unknown while a replica is down or not checked yet: no sample then.
                if let Some(bytes) = r.lag_bytes {
                    lag_bytes
                        .get_or_create(&labels)
                        .set(i64::try_from(bytes).unwrap_or(i64::MAX));
                }
                if let Some(seconds) = r.lag_seconds {
                    lag_seconds.get_or_create(&labels).set(seconds);
                }
            }
            registry.register(
                "replica_in_rotation",
                "1 when the replica serves reads; 0 when it is starting, down, lagging past \
                 --replica-max-lag or promoted",
                in_rotation,
            );
            registry.register(
                "replica_lag_bytes",
                "Bytes of WAL the primary had that the replica had not replayed, at its last check",
                lag_bytes,
            );
            registry.register(
                "replica_lag_seconds",
                "How long ago the primary first had WAL the replica has not replayed",
                lag_seconds,
            );
            let decisions = Family::<DecisionLabels, Counter>::default();
            for (decision, n) in &self.routing {
                decisions
                    .get_or_create(&DecisionLabels { decision })
                    .inc_by(*n);
            }
            registry.register(
                "replica_routing",
                "Reads that may go to a replica, by decision: replica (served by one), primary \
                 (served by the primary, any reason), no_replica (none in rotation), token_wait \
                 (no replica had the client's write yet, so the read waited), token_fallback \
                 (none caught up in time), retried_on_primary (failed on a replica, run again)",
                decisions,
            );
        }
        if let Some(w) = self.webhooks {
            registry.register(
                "webhook_subscriptions",
                "Webhook subscriptions in the database, by state (healthy, failing: retrying, \
                 disabled)",
                by_state(&[
                    ("healthy", w.healthy),
                    ("failing", w.failing),
                    ("disabled", w.disabled),
                ]),
            );
            registry.register(
                "webhook_backlog_entries",
                "Change-feed entries past the cursors of enabled webhook subscriptions, summed",
                gauge(w.backlog),
            );
        }
        registry
    }
}
