//! Two servers on one database (two riposte processes, as far as PostgreSQL can tell): what
//! one server promised, the other keeps. The change feed and SSE across servers are in
//! changes.rs, webhook deliveries in webhooks.rs.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use super::helpers::{action_body, id_of, TestApp};

async fn two_servers() -> (Arc<TestApp>, Arc<TestApp>) {
    let a = TestApp::spawn().await;
    a.with_basics().await;
    let b = a.second_server().await;
    (Arc::new(a), Arc::new(b))
}

/// A retry with the same Idempotency-Key on the other server gets the first answer, and one
/// action exists; an ETag from one server is honoured by the other's If-Match.
#[tokio::test]
async fn idempotency_keys_and_etags_hold_across_servers() {
    let (a, b) = two_servers().await;
    let body = action_body(json!({"title": "Written once, wherever retried"}));
    let key = [("idempotency-key", "two-servers-1")];
    let first = a
        .request(Method::POST, "/v1/actions", Some(&body), &key)
        .await;
    first.assert_status(201);
    let again = b
        .request(Method::POST, "/v1/actions", Some(&body), &key)
        .await;
    again.assert_status(201);
    assert_eq!(again.body, first.body);
    let listed = b.get("/v1/actions?q=wherever&include_total=true").await;
    assert_eq!(listed.body["total"], 1);

    let id = id_of(&first.body);
    let etag = a.get(&format!("/v1/actions/{id}")).await;
    let etag = etag.header("etag").unwrap().to_string();
    let path = format!("/v1/actions/{id}");
    let patch = json!({"severity": -2.5});
    b.request(Method::PATCH, &path, Some(&patch), &[("if-match", &etag)])
        .await
        .assert_status(200);
    // The same (now stale) ETag on the first server: refused.
    a.request(
        Method::PATCH,
        &path,
        Some(&json!({"severity": -3.0})),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(412, None);
}

/// Pairs of actions told to answer each other at the same time, one through each server:
/// never both (that would be a cycle), and the graph facts stay right.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_answers_on_two_servers_never_close_a_cycle() {
    let (a, b) = two_servers().await;
    let mut pairs = Vec::new();
    for i in 0..12 {
        let x = a
            .action(json!({"title": format!("x{i}"), "announced_on": "2021-05-01"}))
            .await;
        let y = a
            .action(json!({"title": format!("y{i}"), "announced_on": "2021-05-01"}))
            .await;
        pairs.push((id_of(&x), id_of(&y)));
    }
    let answer = |app: Arc<TestApp>, from: String, to: String| {
        tokio::spawn(async move {
            let body = json!({"responds_to": [{"action": to, "relation": "retaliates"}]});
            app.patch(&format!("/v1/actions/{from}"), &body)
                .await
                .status
        })
    };
    let mut tasks = Vec::new();
    for (x, y) in &pairs {
        tasks.push(answer(a.clone(), x.clone(), y.clone()));
        tasks.push(answer(b.clone(), y.clone(), x.clone()));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    for (i, pair) in statuses.chunks(2).enumerate() {
        let mut sorted = pair.to_vec();
        sorted.sort();
        assert_eq!(sorted, [200, 422], "pair {i}: exactly one answer stands");
    }
    super::graph_facts::assert_consistent(&a, "answers through two servers").await;
}
