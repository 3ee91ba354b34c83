//! `GET /metrics` (issue #14): the exposition is scraped over HTTP and parsed, and each
//! metric is checked against what the test did.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::helpers::TestApp;
use super::receiver::{Answer, Receiver};
use riposte::state::Config;

/// One sample line of the text exposition.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    pub text: String,
}

impl Scrape {
    /// The value of the sample `name` whose labels include `labels`, if there is one
    /// (several: the test's selection is too loose, and fails).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
        found.first().map(|s| s.value)
    }

    /// Like `get`, for a counter that may not have a series yet (0).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    #[track_caller]
    pub fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in\n{}", self.text))
    }
}

/// Parses the Prometheus text format as written by the server: `name{k="v",...} value`,
/// comments and `# HELP`/`# TYPE` lines skipped.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample line has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                // Label values here hold no `",` (route patterns, methods, numbers).
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").expect("k=\"v\"");
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// Scrapes `/metrics` with `key` (or none), checked against the OpenAPI document.
pub async fn scrape_as(app: &TestApp, key: Option<&str>) -> Scrape {
    let resp = app
        .request_as(key, Method::GET, "/metrics", None, &[])
        .await;
    resp.assert_status(200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Scrape {
        samples: parse(&resp.text),
        text: resp.text,
    }
}

pub async fn scrape(app: &TestApp) -> Scrape {
    scrape_as(app, None).await
}

/// Polls `check` until it gives a value, failing the test after `secs` seconds.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const REQUESTS: &str = "riposte_http_requests_total";
const LATENCY: &str = "riposte_http_request_duration_seconds";

#[tokio::test]
async fn requests_are_counted_by_route_pattern_method_and_status() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let before = scrape(&app).await;

    app.get("/v1/actors").await.assert_status(200);
    app.get("/v1/actors?kind=state").await.assert_status(200);
    app.get("/v1/actors/USA").await.assert_status(200);
    app.get("/v1/actors/NOWHERE").await.assert_status(404);
    app.post(
        "/v1/actors",
        &json!({"code": "FRA", "name": "France", "kind": "planet"}),
    )
    .await
    .assert_problem(422, Some("kind"));
    // Unknown paths all count under one label value, whatever the path.
    app.get("/no/such/thing").await.assert_status(404);
    app.get("/v1/nothing/here/either").await.assert_status(404);
    app.request(Method::PUT, "/v1/actors/USA", None, &[])
        .await
        .assert_status(405);

    let after = scrape(&app).await;
    let delta = |route: &str, method: &str, status: &str| {
        let labels = [("route", route), ("method", method), ("status", status)];
        after.count(REQUESTS, &labels) - before.count(REQUESTS, &labels)
    };
    assert_eq!(delta("/v1/actors", "GET", "200"), 2.0);
    assert_eq!(delta("/v1/actors/{actor}", "GET", "200"), 1.0);
    assert_eq!(delta("/v1/actors/{actor}", "GET", "404"), 1.0);
    assert_eq!(delta("/v1/actors", "POST", "422"), 1.0);
    assert_eq!(delta("unmatched", "GET", "404"), 2.0);
    assert_eq!(delta("/v1/actors/{actor}", "PUT", "405"), 1.0);
    // with_basics' six creations, before the first scrape.
    assert_eq!(
        before.must(REQUESTS, &[("route", "/v1/actors"), ("status", "201")]),
        6.0
    );
    // The first scrape is counted by the second.
    assert_eq!(delta("/metrics", "GET", "200"), 1.0);
    // Never a raw path as a label.
    for s in after.samples.iter().filter(|s| s.name == REQUESTS) {
        let route = &s.labels["route"];
        assert!(
            route == "unmatched" || (route.starts_with('/') && !route.contains("USA")),
            "{route}"
        );
    }

    // The latency histogram of a series: cumulative buckets up to +Inf, its sum and count.
    let series = [
        ("route", "/v1/actors"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let count = after.must(&format!("{LATENCY}_count"), &series);
    assert_eq!(count, 2.0);
    assert!(after.must(&format!("{LATENCY}_sum"), &series) > 0.0);
    let buckets: Vec<(f64, f64)> = after
        .samples
        .iter()
        .filter(|s| {
            s.name == format!("{LATENCY}_bucket") && series.iter().all(|(k, v)| s.labels[*k] == *v)
        })
        .map(|s| {
            let le = match s.labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            (le, s.value)
        })
        .collect();
    assert!(buckets.len() >= 10, "{buckets:?}");
    assert!(buckets
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count));
    assert!(after
        .text
        .contains("# TYPE riposte_http_request_duration_seconds histogram\n"));
    assert!(after
        .text
        .contains("# TYPE riposte_http_requests_total counter\n"));
}

#[tokio::test]
async fn pool_and_import_gauges_are_sane() {
    let app = TestApp::spawn().await;
    // A read opens a connection of the HTTP worker's pool, the one the gauges count.
    app.get("/v1/actors").await.assert_status(200);
    let s = scrape(&app).await;
    let in_use = s.must("riposte_db_pool_connections", &[("state", "in_use")]);
    let idle = s.must("riposte_db_pool_connections", &[("state", "idle")]);
    let max = s.must("riposte_db_pool_max_connections", &[]);
    assert_eq!(max, 8.0, "the test pool's size");
    assert!(
        in_use >= 0.0 && idle >= 0.0 && in_use + idle <= max,
        "{}",
        s.text
    );
    // The read opened at least one connection, and it went back.
    assert!(in_use + idle >= 1.0, "{}", s.text);
    assert_eq!(s.must("riposte_db_pool_waiting", &[]), 0.0);
    assert_eq!(s.must("riposte_import_jobs", &[("state", "running")]), 0.0);
    assert_eq!(s.must("riposte_import_jobs", &[("state", "queued")]), 0.0);
    assert_eq!(s.must("riposte_webhook_backlog_entries", &[]), 0.0);
    assert_eq!(s.must("riposte_events_clients", &[]), 0.0);
}

#[tokio::test]
async fn event_stream_clients_are_counted_while_connected() {
    let app = TestApp::spawn_with(Config {
        rate_limits: Default::default(),
        // Frequent writes: a client that left is noticed at the next one.
        heartbeat: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let clients = |s: Scrape| s.must("riposte_events_clients", &[]);
    assert_eq!(clients(scrape(&app).await), 0.0);
    let stream = app
        .client
        .get(format!("{}/v1/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    eventually(10, "one client counted", || async {
        (clients(scrape(&app).await) == 1.0).then_some(())
    })
    .await;
    drop(stream);
    eventually(30, "the client gone from the gauge", || async {
        (clients(scrape(&app).await) == 0.0).then_some(())
    })
    .await;
}

/// One subscription whose receiver answers 200, one whose receiver fails and is given up
/// on at once: the attempts are counted by outcome, the disabled one by the counter and by
/// state, and the backlog drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_attempts_disabling_and_backlog_are_counted() {
    let app = TestApp::spawn_with(Config {
        rate_limits: Default::default(),
        webhooks: riposte::webhook::Settings {
            allow_private: true,
            timeout: Duration::from_millis(700),
            retry_base: Duration::from_millis(50),
            retry_cap: Duration::from_millis(200),
            give_up_after: Duration::ZERO,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let good = Receiver::start().await;
    good.otherwise(Answer::Status(204));
    let bad = Receiver::start().await;
    bad.otherwise(Answer::Status(500));
    for receiver in [&good, &bad] {
        app.as_admin(
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"url": receiver.url()})),
            &[],
        )
        .await
        .assert_status(201);
    }
    app.actor(json!({"code": "FRA", "name": "France", "kind": "state"}))
        .await;
    // The backlog counts sequenced entries; reading the feed sequences (in `serve`, the
    // worker does every second).
    app.get("/v1/changes").await.assert_status(200);
    let waiting = eventually(10, "the entry in the backlog", || async {
        let s = scrape(&app).await;
        (s.must("riposte_webhook_backlog_entries", &[]) == 2.0).then_some(s)
    })
    .await;
    assert_eq!(
        waiting.must("riposte_webhook_subscriptions", &[("state", "healthy")]),
        2.0
    );
    assert_eq!(
        waiting.must(
            "riposte_webhook_deliveries_total",
            &[("outcome", "failure")]
        ),
        0.0
    );

    let worker = riposte::webhook::worker::Worker::start(
        app.state.pool.clone(),
        app.state.actors.clone(),
        app.state.config.webhooks.clone(),
        app.state.metrics.clone(),
    )
    .unwrap();
    let s = eventually(30, "one delivery and one give-up", || async {
        let s = scrape(&app).await;
        let disabled = s.must("riposte_webhook_subscriptions", &[("state", "disabled")]);
        let backlog = s.must("riposte_webhook_backlog_entries", &[]);
        (disabled == 1.0 && backlog == 0.0).then_some(s)
    })
    .await;
    worker.stop().await;
    assert_eq!(
        s.must(
            "riposte_webhook_deliveries_total",
            &[("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        s.must(
            "riposte_webhook_deliveries_total",
            &[("outcome", "failure")]
        ),
        1.0
    );
    assert_eq!(
        s.must("riposte_webhook_subscriptions_disabled_total", &[]),
        1.0
    );
    assert_eq!(
        s.must("riposte_webhook_subscriptions", &[("state", "healthy")]),
        1.0
    );
    assert_eq!(
        s.must("riposte_webhook_subscriptions", &[("state", "failing")]),
        0.0
    );
    assert_eq!(good.received().len(), 1);
    assert_eq!(bad.received().len(), 1);
}

#[tokio::test]
async fn metrics_need_a_read_key_when_reads_do() {
    let app = TestApp::spawn_with(Config {
        rate_limits: Default::default(),
        public_read: false,
        ..Config::default()
    })
    .await;
    let refused = app
        .request_as(None, Method::GET, "/metrics", None, &[])
        .await;
    refused.assert_problem(401, None);
    assert!(refused.header("www-authenticate").is_some());
    app.request_as(Some("rsk_not-a-key"), Method::GET, "/metrics", None, &[])
        .await
        .assert_problem(401, None);
    let read = app.keys.read.clone();
    let s = scrape_as(&app, Some(&read)).await;
    assert!(s.get("riposte_events_clients", &[]).is_some());
    // Outside /v1: no rate-limit headers, like /healthz.
    let resp = app
        .request_as(Some(&read), Method::GET, "/metrics", None, &[])
        .await;
    assert!(resp.header("ratelimit-limit").is_none());
}
