//! Webhook deliveries survive the real process being killed mid-delivery (issue #12,
//! section 4): `riposte serve` is SIGKILLed while the receiver holds a delivery open and
//! changes keep coming; after a restart, with the receiver gone for a while and back, every
//! change is delivered at least once, signed, none lost.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/process.rs"]
mod process;
#[path = "support/receiver.rs"]
mod receiver;
use process::{free_port, key, serve_with, wait_ready, Server};
use receiver::{message_id, Answer, Receiver};

const FLAGS: &[&str] = &[
    "--webhook-allow-private",
    "--webhook-timeout",
    "3s",
    "--webhook-retry-base",
    "100ms",
    "--webhook-retry-cap",
    "500ms",
];

async fn post(client: &reqwest::Client, url: &str, key: &str, body: &Value) -> Value {
    let resp = client
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let value: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{status}: {value}");
    value
}

async fn actors(client: &reqwest::Client, base: &str, key: &str, from: usize, to: usize) {
    for i in from..to {
        post(
            client,
            &format!("{base}/v1/actors"),
            key,
            &json!({"code": format!("org-{i}"), "name": format!("Org {i}"), "kind": "igo"}),
        )
        .await;
    }
}

/// Waits until riposte's PostgreSQL, killed with it, is gone.
async fn wait_database_gone(data: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pid = std::fs::read_to_string(data.join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
        let alive = pid.is_some_and(|p| unsafe { libc::kill(p, 0) } == 0);
        if !alive {
            return;
        }
        assert!(Instant::now() < deadline, "PostgreSQL outlived its server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_delivered_after_sigkill_mid_delivery() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-whk")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let admin = key(&data, "admin");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server: Server = serve_with(&data, port, FLAGS);
    wait_ready(&client, &base, &mut server).await;

    let mut receiver = Receiver::start().await;
    // The first delivery is held open: riposte is killed while it waits for the answer.
    receiver.script([Answer::Hold]);
    let created = post(
        &client,
        &format!("{base}/v1/webhooks"),
        &admin,
        &json!({"url": receiver.url()}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let start = created["delivered_cursor"].as_str().unwrap().to_string();

    actors(&client, &base, &admin, 0, 5).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    actors(&client, &base, &admin, 5, 10).await;
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGKILL);
    }
    let _ = server.0.wait();
    wait_database_gone(&data).await;

    // The receiver goes away for a while; riposte comes back and changes keep coming.
    receiver.go_away();
    server = serve_with(&data, port, FLAGS);
    wait_ready(&client, &base, &mut server).await;
    actors(&client, &base, &admin, 10, 15).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.come_back().await;
    actors(&client, &base, &admin, 15, 20).await;

    // An entry is in the feed once the sequencer has run after its commit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let feed = loop {
        let page: Value = client
            .get(format!("{base}/v1/changes?after={start}&limit=200"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= 20 {
            break items;
        }
        assert!(
            Instant::now() < deadline,
            "{} entries in the feed",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(feed.len(), 20);
    let wanted: BTreeMap<String, &Value> = feed.iter().map(|e| (message_id(e), e)).collect();
    // The held attempt's claim runs out (2 x timeout + 10 s) before it is retried.
    let deadline = Instant::now() + Duration::from_secs(90);
    let got = loop {
        let got = receiver.received();
        let delivered: HashMap<String, usize> =
            got.iter()
                .filter(|r| r.delivered())
                .fold(HashMap::new(), |mut m, r| {
                    *m.entry(r.id().to_string()).or_default() += 1;
                    m
                });
        if wanted.keys().all(|id| delivered.contains_key(id)) {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            wanted
                .keys()
                .filter(|id| !delivered.contains_key(*id))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Every request is signed, and carries the feed's entry for its id (duplicates, made by
    // the crash, carry the same).
    for r in &got {
        assert!(r.signed_with(&secret), "signature of {}", r.id());
        assert_eq!(
            &&r.entry(),
            wanted.get(r.id()).expect("a change of the feed")
        );
    }
    // In order: each entry was first delivered after the one before it.
    let first: Vec<i64> =
        got.iter()
            .filter(|r| r.delivered())
            .map(|r| r.seq())
            .fold(Vec::new(), |mut seen, s| {
                if !seen.contains(&s) {
                    seen.push(s);
                }
                seen
            });
    assert!(first.windows(2).all(|w| w[0] < w[1]), "{first:?}");
    let held = &got[0];
    assert!(matches!(held.answer, Answer::Hold));
    assert!(
        got.iter().any(|r| r.id() == held.id() && r.delivered()),
        "the entry held when riposte was killed was sent again"
    );
}

/// `serve --webhook-deliveries false` serves the API but sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_deliveries_sends_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("riposte-whn")
        .tempdir_in("/tmp")
        .unwrap();
    let data = dir.path().join("data");
    let admin = key(&data, "admin");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let flags = ["--webhook-allow-private", "--webhook-deliveries", "false"];
    let mut server: Server = serve_with(&data, port, &flags);
    wait_ready(&client, &base, &mut server).await;
    let receiver = Receiver::start().await;
    post(
        &client,
        &format!("{base}/v1/webhooks"),
        &admin,
        &json!({"url": receiver.url()}),
    )
    .await;
    actors(&client, &base, &admin, 0, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty());
}
