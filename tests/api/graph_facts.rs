//! What the graph triggers keep on each action (episode, earliest answer and implementation,
//! answer classes; migration 000008) follows every kind of graph write, as seen through the
//! chain and dyad endpoints and against a recomputation from scratch.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{assert_no_problems, id_of, TestApp};

/// Fails with what disagrees when the stored facts differ from a recomputation.
pub(crate) async fn assert_consistent(app: &TestApp, step: &str) {
    let check = "SELECT id::text AS key, problem FROM check_graph_facts()";
    assert_no_problems(app, check, step).await;
    super::documents::assert_documents(app, step).await;
}

/// The ids of the chain of `id` through the API, after checking that computing it directly
/// gives the same as the API.
pub(crate) async fn chain_ids(app: &TestApp, id: &str) -> BTreeSet<String> {
    let resp = app.get(&format!("/v1/actions/{id}/chain")).await;
    resp.assert_status(200);
    let uuid: uuid::Uuid = id.parse().unwrap();
    let mut conn = app.state.pool.get().await.unwrap();
    let chain = riposte::analysis::chain::chain(&mut conn, &app.state.actors, uuid)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(chain).unwrap(), resp.body);
    resp.body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// USA-CHN through the API, after checking that computing it without a spare connection
/// (both directions one after the other on one connection) gives the same.
async fn dyad(app: &TestApp) -> Value {
    let resp = app.get("/v1/dyads/USA/CHN").await;
    resp.assert_status(200);
    let mut conn = app.state.pool.get().await.unwrap();
    let mut member = async |code: &str| {
        use riposte::schema::actors;
        let id: uuid::Uuid = actors::table
            .filter(actors::code.eq(code))
            .select(actors::id)
            .first(&mut conn)
            .await
            .unwrap();
        (id, code.to_string())
    };
    let (a, b) = (member("USA").await, member("CHN").await);
    let today = chrono::Utc::now().date_naive();
    let one_connection =
        riposte::analysis::dyad::summary(&mut conn, Vec::new(), a, b, None, None, today)
            .await
            .unwrap();
    assert_eq!(serde_json::to_value(one_connection).unwrap(), resp.body);
    resp.body
}

#[tokio::test]
async fn graph_facts_follow_every_graph_write() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let t1 = id_of(
        &app.action(json!({"announced_on": "2020-01-01", "severity": -5.0}))
            .await,
    );
    let t2 = id_of(
        &app.action(json!({"type": "threaten", "status": "threatened",
                           "announced_on": "2020-01-02", "severity": -2.0}))
            .await,
    );
    // x answers both: it is what joins them into one episode.
    let x = id_of(
        &app.action(
            json!({"initiator": "CHN", "target": "USA", "announced_on": "2020-01-10",
                           "severity": -8.0,
                           "responds_to": [{"action": t1, "relation": "retaliates"},
                                           {"action": t2, "relation": "retaliates"}]}),
        )
        .await,
    );
    let i = id_of(
        &app.action(json!({"announced_on": "2020-01-20",
                           "responds_to": [{"action": t2, "relation": "implements"}]}))
            .await,
    );
    assert_consistent(&app, "creation").await;
    assert_eq!(chain_ids(&app, &t1).await, set(&[&t1, &t2, &x, &i]));
    let d = dyad(&app).await;
    assert_eq!(d["a_to_b"]["answered"], 2);
    assert_eq!(d["a_to_b"]["median_response_days"], 8.5);
    // -8 against -5 escalates; against -2 too.
    assert_eq!(
        d["b_to_a"]["proportionality"],
        json!({"mirror": 0, "escalate": 2, "de_escalate": 0})
    );
    assert_eq!(d["a_to_b"]["threats_implemented"], 1);

    // Deleting the only link splits the episode; restoring it joins it again.
    app.delete(&format!("/v1/actions/{x}"))
        .await
        .assert_status(204);
    assert_consistent(&app, "deleting the link").await;
    assert_eq!(chain_ids(&app, &t1).await, set(&[&t1]));
    assert_eq!(chain_ids(&app, &i).await, set(&[&t2, &i]));
    app.get(&format!("/v1/actions/{x}/chain"))
        .await
        .assert_problem(404, None);
    let d = dyad(&app).await;
    assert_eq!(d["a_to_b"]["answered"], 0);
    assert_eq!(d["a_to_b"]["median_response_days"], Value::Null);
    assert_eq!(
        d["b_to_a"]["proportionality"],
        json!({"mirror": 0, "escalate": 0, "de_escalate": 0})
    );
    app.post(&format!("/v1/actions/{x}/restore"), &json!({}))
        .await
        .assert_status(200);
    assert_consistent(&app, "restoring the link").await;
    assert_eq!(chain_ids(&app, &i).await, set(&[&t1, &t2, &x, &i]));

    // Re-pointing the answer moves it between episodes.
    app.patch(
        &format!("/v1/actions/{x}"),
        &json!({"responds_to": [{"action": t1, "relation": "retaliates"}]}),
    )
    .await
    .assert_status(200);
    assert_consistent(&app, "re-pointing").await;
    assert_eq!(chain_ids(&app, &x).await, set(&[&t1, &x]));
    assert_eq!(chain_ids(&app, &t2).await, set(&[&t2, &i]));

    // A trigger's severity and date change how its answers compare and how fast they came.
    app.patch(
        &format!("/v1/actions/{t1}"),
        &json!({"severity": -7.5, "announced_on": "2020-01-04"}),
    )
    .await
    .assert_status(200);
    assert_consistent(&app, "patching the trigger").await;
    let d = dyad(&app).await;
    assert_eq!(d["a_to_b"]["answered"], 1);
    assert_eq!(d["a_to_b"]["median_response_days"], 6.0);
    assert_eq!(
        d["b_to_a"]["proportionality"],
        json!({"mirror": 1, "escalate": 0, "de_escalate": 0})
    );
    // An answer that changes sides no longer answers from the other side.
    app.patch(
        &format!("/v1/actions/{x}"),
        &json!({"initiator": "GBR", "target": "USA"}),
    )
    .await
    .assert_status(200);
    assert_consistent(&app, "changing the answer's dyad").await;
    assert_eq!(dyad(&app).await["a_to_b"]["answered"], 0);

    // Purging the implementation leaves the threat pending.
    app.delete(&format!("/v1/actions/{i}"))
        .await
        .assert_status(204);
    app.as_admin(
        Method::DELETE,
        &format!("/v1/actions/{i}?purge=true"),
        None,
        &[],
    )
    .await
    .assert_status(204);
    assert_consistent(&app, "purging the implementation").await;
    let d = dyad(&app).await;
    assert_eq!(d["a_to_b"]["threats_implemented"], 0);
    assert_eq!(d["a_to_b"]["pending_threats"], json!([t2]));
    assert_eq!(chain_ids(&app, &t2).await, set(&[&t2]));
}

/// Answers created while their trigger's severity changes: each side recomputes the other's
/// facts from its own snapshot, so without serialisation an answer keeps the class of a
/// severity that is no longer there.
#[tokio::test]
async fn graph_facts_survive_concurrent_answers_and_patches() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let trigger = id_of(
        &app.action(json!({"announced_on": "2020-01-01", "severity": -5.0}))
            .await,
    );
    for round in 0..12 {
        let severity = if round % 2 == 0 { -9.0 } else { -2.0 };
        let path = format!("/v1/actions/{trigger}");
        let patch_body = json!({"severity": severity});
        let answer_body = super::helpers::action_body(json!({
            "initiator": "CHN", "target": "USA", "announced_on": "2020-02-01",
            "severity": -5.0,
            "responds_to": [{"action": trigger, "relation": "retaliates"}]}));
        let patch = app.patch(&path, &patch_body);
        let answer = app.post("/v1/actions", &answer_body);
        let (patched, answered) = tokio::join!(patch, answer);
        patched.assert_status(200);
        answered.assert_status(201);
    }
    assert_consistent(&app, "concurrent answers and patches").await;
    // The last severity was -2: every answer at -5 escalates by 3.
    let d = dyad(&app).await;
    assert_eq!(
        d["b_to_a"]["proportionality"],
        json!({"mirror": 0, "escalate": 12, "de_escalate": 0})
    );
}

/// The chain reads its rows and their embeds with several statements, over up to three
/// connections; while an action's designation and source are replaced together, every
/// chain must show one version or the other, never the designation of one with the source
/// of the other.
#[tokio::test]
async fn a_chain_read_during_writes_shows_one_version_of_each_action() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let version = |n: usize| {
        let (actor, url) = if n.is_multiple_of(2) {
            ("chen-quanguo", "https://example.org/version-a")
        } else {
            ("xinjiang-psb", "https://example.org/version-b")
        };
        json!({"designations": [{"actor": actor}], "sources": [{"url": url}]})
    };
    let mut first = version(0);
    first["announced_on"] = json!("2020-01-01");
    let trigger = id_of(&app.action(first).await);
    app.action(
        json!({"initiator": "CHN", "target": "USA", "announced_on": "2020-02-01",
                      "responds_to": [{"action": trigger, "relation": "retaliates"}]}),
    )
    .await;
    let path = format!("/v1/actions/{trigger}");
    let writes = async {
        for n in 1..=150 {
            app.patch(&path, &version(n)).await.assert_status(200);
        }
    };
    let reads = async {
        for _ in 0..150 {
            let resp = app.get(&format!("{path}/chain")).await;
            resp.assert_status(200);
            let node = resp.body["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["id"] == trigger.as_str())
                .unwrap()
                .clone();
            let pair = (
                node["designations"][0]["actor"]["code"].clone(),
                node["sources"][0]["url"].clone(),
            );
            assert!(
                pair == (
                    json!("chen-quanguo"),
                    json!("https://example.org/version-a")
                ) || pair
                    == (
                        json!("xinjiang-psb"),
                        json!("https://example.org/version-b")
                    ),
                "a chain mixed two versions of one action: {pair:?}"
            );
        }
    };
    tokio::join!(writes, reads);
}
