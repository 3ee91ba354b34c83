//! Analysis of the response graph, on hand-computed scenarios.

use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use super::helpers::{id_of, TestApp};

fn node<'a>(chain: &'a Value, id: &str) -> &'a Value {
    chain["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the chain"))
}

#[tokio::test]
async fn chain_collects_the_episode_with_generations_and_sums() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    // a (USA sanctions, 9 July) <- vow (CHN, 10 July) <- implementation (CHN, 13 July)
    //   ^-- demand (CHN, 10 July)                         ^-- escalation (USA, 20 July)
    // plus b (USA visa ban, 9 July) answered by the implementation too, and an unrelated action.
    let a = id_of(
        &app.action(json!({"announced_on": "2020-07-09", "severity": -8.0}))
            .await,
    );
    let b = id_of(
        &app.action(json!({"announced_on": "2020-07-09", "type": "visa_ban"}))
            .await,
    );
    let vow = id_of(
        &app.action(
            json!({"announced_on": "2020-07-10", "initiator": "CHN", "target": "USA",
        "type": "threaten", "status": "threatened",
        "responds_to": [{"action": a, "relation": "retaliates"}]}),
        )
        .await,
    );
    let demand = id_of(
        &app.action(
            json!({"announced_on": "2020-07-10", "initiator": "CHN", "target": "USA",
        "type": "demand_lifting", "status": "announced",
        "responds_to": [{"action": a, "relation": "demands_lifting"}]}),
        )
        .await,
    );
    let implementation = id_of(&app.action(json!({"announced_on": "2020-07-13", "initiator": "CHN", "target": "USA",
        "type": "visa_ban", "severity": -6.0,
        "responds_to": [{"action": vow, "relation": "implements"}, {"action": b, "relation": "reciprocates"}]})).await);
    let escalation = id_of(
        &app.action(json!({"announced_on": "2020-07-20",
        "type": "export_control", "severity": -9.0,
        "responds_to": [{"action": implementation, "relation": "escalates"}]}))
            .await,
    );
    let unrelated = id_of(
        &app.action(json!({"announced_on": "2020-07-15", "initiator": "GBR"}))
            .await,
    );

    for start in [&a, &escalation, &demand, &b] {
        let resp = app.get(&format!("/v1/actions/{start}/chain")).await;
        resp.assert_status(200);
        let chain = &resp.body;
        let ids: Vec<&str> = chain["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 6, "from {start}");
        assert!(!ids.contains(&unrelated.as_str()));
        assert_eq!(node(chain, &a)["generation"], 0);
        assert_eq!(node(chain, &b)["generation"], 0);
        assert_eq!(node(chain, &vow)["generation"], 1);
        assert_eq!(node(chain, &demand)["generation"], 1);
        assert_eq!(node(chain, &implementation)["generation"], 2);
        assert_eq!(node(chain, &escalation)["generation"], 3);
        assert_eq!(chain["edges"].as_array().unwrap().len(), 5);
        assert!(chain["edges"]
            .as_array()
            .unwrap()
            .contains(&json!({"from": implementation, "to": vow, "relation": "implements"})));
        let s = &chain["summary"];
        assert_eq!(s["actions"], 6);
        assert_eq!(s["first_announced_on"], "2020-07-09");
        assert_eq!(s["last_announced_on"], "2020-07-20");
        assert_eq!(s["span_days"], 11);
        // USA->CHN: -8 (a) -5 (visa ban default) -9 = -22; CHN->USA: -4.4 -5 -6 = -15.4
        assert_eq!(
            s["by_direction"],
            json!([
                {"initiator": "CHN", "target": "USA", "count": 3, "severity_sum": -15.4},
                {"initiator": "USA", "target": "CHN", "count": 3, "severity_sum": -22.0}
            ])
        );
        // Nodes are full actions, oldest first.
        assert_eq!(chain["nodes"][0]["announced_on"], "2020-07-09");
        assert_eq!(chain["nodes"][5]["id"], escalation);
        assert!(chain["nodes"][5]["initiator"]["code"].is_string());
    }
    // An action that answers nothing and is answered by nothing is its own episode.
    let alone = app.get(&format!("/v1/actions/{unrelated}/chain")).await;
    assert_eq!(alone.body["summary"]["actions"], 1);
    assert_eq!(alone.body["summary"]["span_days"], 0);
    assert_eq!(alone.body["nodes"][0]["generation"], 0);
    // Deleting a link action splits the episode.
    app.delete(&format!("/v1/actions/{escalation}"))
        .await
        .assert_status(204);
    let smaller = app.get(&format!("/v1/actions/{a}/chain")).await;
    assert_eq!(smaller.body["summary"]["actions"], 5);
    app.get("/v1/actions/00000000-0000-4000-8000-000000000000/chain")
        .await
        .assert_problem(404, None);
    app.get("/v1/actions/nope/chain")
        .await
        .assert_problem(400, Some("id"));
}

/// Builds a line of `n` actions, each answering the one before, straight in SQL, on a
/// connection of its own: the pool's carry the server's statement timeout, which a bulk
/// load on a busy test machine can exceed.
async fn line(app: &TestApp, n: i64) -> String {
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.db_url)
            .await
            .unwrap();
    let id = |g: &str| format!("('00000000-0000-4000-8000-' || lpad(({g})::text, 12, '0'))::uuid");
    diesel::sql_query(format!(
        "INSERT INTO actions (id, title, initiator_id, initiator_kind, target_id, target_kind,
                              type_code, status, announced_on, severity)
         SELECT {}, 'step ' || g,
                CASE WHEN g % 2 = 0 THEN u.id ELSE c.id END, 'state',
                CASE WHEN g % 2 = 0 THEN c.id ELSE u.id END, 'state',
                'asset_freeze', 'in_force', date '1990-01-01' + (g / 3)::int, -1
         FROM generate_series(1, {n}) g,
              (SELECT id FROM actors WHERE code = 'USA') u,
              (SELECT id FROM actors WHERE code = 'CHN') c",
        id("g")
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    // One statement for all the edges, on statistics from the empty table: the graph
    // triggers' plans must not depend on them (migration 000009; before it, this took ten
    // minutes).
    diesel::sql_query(format!(
        "INSERT INTO responses (action_id, responds_to_id, relation)
         SELECT {}, {}, 'retaliates' FROM generate_series(2, {n}) g",
        id("g"),
        id("g - 1")
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    format!("00000000-0000-4000-8000-{:012}", n / 2)
}

#[tokio::test]
async fn a_chain_of_ten_thousand_comes_back_whole_and_one_more_is_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let middle = line(&app, 10_000).await;
    let resp = app.get(&format!("/v1/actions/{middle}/chain")).await;
    resp.assert_status(200);
    let nodes = resp.body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 10_000);
    assert_eq!(resp.body["edges"].as_array().unwrap().len(), 9_999);
    let last = nodes
        .iter()
        .find(|n| n["id"] == "00000000-0000-4000-8000-000000010000")
        .unwrap();
    assert_eq!(last["generation"], 9_999);
    assert_eq!(resp.body["summary"]["actions"], 10_000);
    let sums = resp.body["summary"]["by_direction"].as_array().unwrap();
    assert_eq!(sums[0]["count"], 5_000);
    assert_eq!(sums[1]["severity_sum"], -5000.0);

    // One more action joins the episode: now over the limit.
    let first = "00000000-0000-4000-8000-000000000001";
    app.action(json!({"announced_on": "1990-01-01", "initiator": "CHN", "target": "USA"}))
        .await;
    let extra = app
        .action(
            json!({"announced_on": "1990-01-01", "initiator": "CHN", "target": "USA",
            "responds_to": [{"action": first, "relation": "retaliates"}]}),
        )
        .await;
    let resp = app
        .get(&format!("/v1/actions/{}/chain", id_of(&extra)))
        .await;
    resp.assert_problem(400, Some("id"));
    assert!(resp.body["detail"].as_str().unwrap().contains("10000"));
}

#[tokio::test]
async fn as_of_reads_the_status_history_with_exact_boundaries() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let sanction = id_of(
        &app.action(json!({
        "announced_on": "2020-07-09", "status": "lifted",
        "designations": [{"actor": "chen-quanguo", "listed_on": "2020-07-09"}],
        "status_history": [
            {"status": "announced", "on": "2020-07-09"},
            {"status": "in_force", "on": "2020-07-13"},
            {"status": "lifted", "on": "2021-01-10"}
        ]}))
        .await,
    );
    let bounded = id_of(
        &app.action(json!({
        "announced_on": "2020-07-20", "type": "visa_ban", "status": "in_force",
        "effective_from": "2020-08-01", "effective_to": "2020-08-31",
        "designations": [{"actor": "chen-quanguo"}]}))
            .await,
    );
    let in_force = |day: &'static str| {
        let app = &app;
        async move {
            let resp = app.get(&format!("/v1/actions?as_of={day}")).await;
            resp.assert_status(200);
            let mut ids: Vec<String> = resp.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect();
            ids.sort();
            ids
        }
    };
    let both = {
        let mut v = vec![sanction.clone(), bounded.clone()];
        v.sort();
        v
    };
    assert_eq!(
        in_force("2020-07-12").await,
        Vec::<String>::new(),
        "announced, not yet in force"
    );
    assert_eq!(
        in_force("2020-07-13").await,
        vec![sanction.clone()],
        "in force the day it takes effect"
    );
    assert_eq!(
        in_force("2020-07-31").await,
        vec![sanction.clone()],
        "the visa ban starts on 1 August"
    );
    assert_eq!(in_force("2020-08-01").await, both);
    assert_eq!(
        in_force("2020-08-31").await,
        both,
        "effective_to is inclusive"
    );
    assert_eq!(in_force("2020-09-01").await, vec![sanction.clone()]);
    assert_eq!(in_force("2021-01-09").await, vec![sanction.clone()]);
    assert_eq!(
        in_force("2021-01-10").await,
        Vec::<String>::new(),
        "lifted that day"
    );
    app.get("/v1/actions?as_of=2020-02-30")
        .await
        .assert_problem(400, Some("as_of"));

    // Was Chen Quanguo under US sanctions on 1 August 2020?
    let resp = app
        .get("/v1/actors/chen-quanguo/designations?as_of=2020-08-01")
        .await;
    resp.assert_status(200);
    let items = resp.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"]["id"], sanction);
    assert_eq!(items[0]["listed_on"], "2020-07-09");
    assert_eq!(items[0]["status_on"], "in_force");
    assert_eq!(items[0]["in_force"], true);
    assert_eq!(items[1]["action"]["id"], bounded);
    assert_eq!(items[1]["in_force"], true);
    // Before either took effect: announced, and not yet recorded.
    let early = app
        .get("/v1/actors/chen-quanguo/designations?as_of=2020-07-10")
        .await;
    let items = early.body["items"].as_array().unwrap();
    assert_eq!(items[0]["status_on"], "announced");
    assert_eq!(items[0]["in_force"], false);
    assert!(items[1]["status_on"].is_null());
    assert_eq!(items[1]["in_force"], false);
    let late = app
        .get("/v1/actors/chen-quanguo/designations?as_of=2021-02-01")
        .await;
    let items = late.body["items"].as_array().unwrap();
    assert_eq!(items[0]["status_on"], "lifted");
    assert_eq!(items[1]["status_on"], "in_force");
    assert_eq!(items[1]["in_force"], false, "after effective_to");
    // Paged, and 404 for unknown actors.
    let page = app
        .get("/v1/actors/chen-quanguo/designations?as_of=2020-08-01&limit=1")
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    let token = page.body["next_page_token"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/v1/actors/chen-quanguo/designations?as_of=2020-08-01&limit=1&page_token={token}"
        ))
        .await;
    assert_eq!(second.body["items"][0]["action"]["id"], bounded);
    app.get("/v1/actors/nobody/designations")
        .await
        .assert_problem(404, None);
    let none = app.get("/v1/actors/xinjiang-psb/designations").await;
    assert_eq!(none.body["items"], json!([]));
}

#[tokio::test]
async fn dyad_summary_matches_hand_computed_figures() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let act = |o: serde_json::Value| {
        let app = &app;
        async move { id_of(&app.action(o).await) }
    };
    // USA -> CHN
    let u1 = act(json!({"announced_on": "2020-07-09", "severity": -8.0})).await;
    let u2 = act(json!({"announced_on": "2020-07-09", "type": "visa_ban"})).await;
    let u3 = act(
        json!({"announced_on": "2020-08-01", "type": "threaten_sanctions", "status": "threatened"}),
    )
    .await;
    // CHN -> USA
    let chn = |mut o: serde_json::Value| {
        o["initiator"] = json!("CHN");
        o["target"] = json!("USA");
        o
    };
    let c1 = act(chn(
        json!({"announced_on": "2020-07-10", "type": "threaten", "status": "threatened",
        "responds_to": [{"action": u1, "relation": "retaliates"}]}),
    ))
    .await;
    let _c2 = act(chn(
        json!({"announced_on": "2020-07-10", "type": "demand_lifting", "status": "announced",
        "responds_to": [{"action": u1, "relation": "demands_lifting"}]}),
    ))
    .await;
    let c3 = act(chn(json!({"announced_on": "2020-07-13", "type": "visa_ban", "severity": -6.0,
        "responds_to": [{"action": c1, "relation": "implements"}, {"action": u2, "relation": "reciprocates"}]}))).await;
    let c4 = act(chn(
        json!({"announced_on": "2020-07-20", "type": "threaten", "status": "threatened"}),
    ))
    .await;
    let _c5 = act(chn(
        json!({"announced_on": "2020-07-25", "type": "asset_freeze", "severity": -9.0,
        "responds_to": [{"action": u2, "relation": "escalates"}]}),
    ))
    .await;
    let _u4 = act(
        json!({"announced_on": "2020-08-10", "type": "criticize", "status": "announced",
        "responds_to": [{"action": c3, "relation": "retaliates"}]}),
    )
    .await;
    // Noise: another dyad, and a deleted action.
    act(json!({"announced_on": "2020-07-11", "initiator": "GBR"})).await;
    let gone = act(json!({"announced_on": "2020-07-12"})).await;
    app.delete(&format!("/v1/actions/{gone}"))
        .await
        .assert_status(204);

    let resp = app.get("/v1/dyads/USA/CHN?to=2020-12-31").await;
    resp.assert_status(200);
    let d = &resp.body;
    assert_eq!(d["a"], "USA");
    assert_eq!(d["b"], "CHN");
    assert_eq!(d["to"], "2020-12-31");
    assert!(d["from"].is_null());
    let ab = &d["a_to_b"];
    assert_eq!(ab["count"], 4);
    assert_eq!(
        ab["by_category"],
        json!({"sanction": 2, "threat": 1, "criticism": 1})
    );
    assert_eq!(
        ab["by_status"],
        json!({"in_force": 2, "threatened": 1, "announced": 1})
    );
    assert_eq!(ab["severity_sum"], -20.8);
    assert_eq!(ab["severity_mean"], -5.2);
    assert_eq!(ab["answered"], 2);
    assert_eq!(ab["reciprocity_rate"], 0.5);
    assert_eq!(
        ab["median_response_days"], 2.5,
        "even count: mean of 1 and 4"
    );
    assert_eq!(
        ab["proportionality"],
        json!({"mirror": 0, "escalate": 0, "de_escalate": 1})
    );
    assert_eq!(ab["threats"], 1);
    assert_eq!(ab["threats_implemented"], 0);
    assert!(ab["median_days_to_implement"].is_null());
    assert_eq!(ab["pending_threats"], json!([u3]));
    assert_eq!(ab["in_force"], 2);

    let ba = &d["b_to_a"];
    assert_eq!(ba["count"], 5);
    assert_eq!(
        ba["by_category"],
        json!({"threat": 2, "demand": 1, "sanction": 2})
    );
    assert_eq!(ba["severity_sum"], -28.8);
    assert_eq!(ba["severity_mean"], -5.76);
    assert_eq!(ba["answered"], 1);
    assert_eq!(ba["reciprocity_rate"], 0.2);
    assert_eq!(ba["median_response_days"], 28.0, "odd count");
    // c1->u1 +3.6 and c2->u1 +3.0 de-escalate, c3->u2 -1.0 mirrors, c5->u2 -4.0 escalates;
    // c3->c1 stays inside one direction and does not count.
    assert_eq!(
        ba["proportionality"],
        json!({"mirror": 1, "escalate": 1, "de_escalate": 2})
    );
    assert_eq!(ba["threats"], 2);
    assert_eq!(ba["threats_implemented"], 1);
    assert_eq!(ba["median_days_to_implement"], 3.0);
    assert_eq!(ba["pending_threats"], json!([c4]));
    assert_eq!(ba["in_force"], 2);
    assert_eq!(d["balance"], 8.0);

    // The other way round swaps the directions.
    let swapped = app.get("/v1/dyads/CHN/USA?to=2020-12-31").await;
    assert_eq!(swapped.body["a_to_b"], d["b_to_a"]);
    assert_eq!(swapped.body["balance"], -8.0);

    // A window: only what was announced from 15 July on.
    let late = app
        .get("/v1/dyads/USA/CHN?from=2020-07-15&to=2020-12-31")
        .await;
    assert_eq!(late.body["a_to_b"]["count"], 2);
    assert_eq!(late.body["b_to_a"]["count"], 2);
    // In force on the window's end: before c3 took effect, nothing of China's was.
    let early = app.get("/v1/dyads/USA/CHN?to=2020-07-12").await;
    assert_eq!(early.body["b_to_a"]["in_force"], 0);
    assert_eq!(early.body["a_to_b"]["in_force"], 2);
    // An empty dyad.
    let empty = app.get("/v1/dyads/USA/GBR").await;
    assert_eq!(empty.body["a_to_b"]["count"], 0);
    assert!(empty.body["a_to_b"]["severity_mean"].is_null());
    assert!(empty.body["a_to_b"]["reciprocity_rate"].is_null());
    assert_eq!(empty.body["balance"], 0.0);
    app.get("/v1/dyads/USA/XXX").await.assert_problem(404, None);
    app.get("/v1/dyads/USA/CHN?from=2021-01-01&to=2020-01-01")
        .await
        .assert_problem(400, Some("from"));
}

/// An answer dated by month stands on the month's first day, which may come before what it
/// answers (15 August, answered in "2020-08"): the lag counts 0 days, not -14; a threat
/// carried out in "2020" likewise.
#[tokio::test]
async fn lags_of_answers_dated_by_month_or_year_are_never_negative() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let trigger = id_of(&app.action(json!({"announced_on": "2020-08-15"})).await);
    app.action(
        json!({"announced_on": "2020-08", "initiator": "CHN", "target": "USA",
        "responds_to": [{"action": trigger, "relation": "retaliates"}]}),
    )
    .await;
    let threat = id_of(
        &app.action(json!({"announced_on": "2020-06-15", "type": "threaten",
            "status": "threatened"}))
            .await,
    );
    app.action(json!({"announced_on": "2020", "authority": "us-treasury",
        "responds_to": [{"action": threat, "relation": "implements"}]}))
        .await;
    let d = app.get("/v1/dyads/USA/CHN").await;
    d.assert_status(200);
    assert_eq!(d.body["a_to_b"]["median_response_days"], 0.0, "{}", d.text);
    assert_eq!(
        d.body["a_to_b"]["median_days_to_implement"], 0.0,
        "{}",
        d.text
    );
}

#[tokio::test]
async fn timeline_fills_empty_buckets_and_accumulates_the_balance() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.action(json!({"announced_on": "2020-07-09", "severity": -8.0}))
        .await;
    app.action(json!({"announced_on": "2020-07-09", "type": "visa_ban"}))
        .await;
    app.action(json!({"announced_on": "2020-07-10", "initiator": "CHN", "target": "USA", "type": "threaten", "status": "threatened"})).await;
    app.action(json!({"announced_on": "2020-09-15", "initiator": "CHN", "target": "USA", "severity": -6.0})).await;
    app.action(json!({"announced_on": "2020-08-15", "initiator": "GBR", "target": "CHN"}))
        .await;

    let resp = app
        .get("/v1/dyads/USA/CHN/timeline?interval=month&from=2020-06-01&to=2020-10-31")
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["interval"], "month");
    let side = |c: i64, s: f64| json!({"count": c, "severity_sum": s});
    assert_eq!(
        resp.body["buckets"],
        json!([
            {"start": "2020-06-01", "a_to_b": side(0, 0.0), "b_to_a": side(0, 0.0), "balance": 0.0},
            {"start": "2020-07-01", "a_to_b": side(2, -13.0), "b_to_a": side(1, -4.4), "balance": -8.6},
            {"start": "2020-08-01", "a_to_b": side(0, 0.0), "b_to_a": side(0, 0.0), "balance": -8.6},
            {"start": "2020-09-01", "a_to_b": side(0, 0.0), "b_to_a": side(1, -6.0), "balance": -2.6},
            {"start": "2020-10-01", "a_to_b": side(0, 0.0), "b_to_a": side(0, 0.0), "balance": -2.6}
        ])
    );
    // Weeks start on Monday; the window's first bucket holds `from`.
    let weeks = app
        .get("/v1/dyads/USA/CHN/timeline?interval=week&from=2020-07-08&to=2020-07-20")
        .await;
    let starts: Vec<&str> = weeks.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(starts, vec!["2020-07-06", "2020-07-13", "2020-07-20"]);
    assert_eq!(weeks.body["buckets"][0]["a_to_b"]["count"], 2);
    // Quarters and years.
    let quarters = app
        .get("/v1/dyads/CHN/USA/timeline?interval=quarter&from=2020-01-01&to=2020-12-31")
        .await;
    let q: Vec<i64> = quarters.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["a_to_b"]["count"].as_i64().unwrap())
        .collect();
    assert_eq!(q, vec![0, 0, 2, 0]);
    assert_eq!(quarters.body["buckets"][3]["balance"], 2.6);
    // By default from the dyad's first action to today.
    let all = app.get("/v1/dyads/USA/CHN/timeline?interval=year").await;
    assert_eq!(all.body["buckets"][0]["start"], "2020-01-01");
    assert!(all.body["buckets"].as_array().unwrap().len() >= 6);
    // The answer says the window used: from the first action (it echoed null).
    let first = app
        .get("/v1/actions?dyad=USA,CHN&sort=announced_on&limit=1")
        .await;
    assert_eq!(all.body["from"], first.body["items"][0]["announced_on"]);
    // An empty dyad without `from` has no buckets.
    let empty = app.get("/v1/dyads/USA/GBR/timeline").await;
    assert_eq!(empty.body["buckets"], json!([]));
    assert!(empty.body["from"].is_null(), "{}", empty.text);
    app.get("/v1/dyads/USA/CHN/timeline?interval=fortnight")
        .await
        .assert_problem(400, Some("interval"));
    app.get("/v1/dyads/USA/CHN/timeline?interval=day&from=1900-01-01&to=2020-01-01")
        .await
        .assert_problem(400, Some("interval"));
    app.get("/v1/dyads/USA/CHN/timeline?from=2021-01-01&to=2020-01-01")
        .await
        .assert_problem(400, Some("from"));
    app.get("/v1/dyads/XXX/CHN/timeline")
        .await
        .assert_problem(404, None);
    // Without `to`: today, or later where the dyad or `from` goes later (the summary counts
    // an action dated ahead; the chart used to leave it out, and a future `from` was a 400
    // about a `to` never sent).
    app.action(json!({"announced_on": "2999-05-01"})).await;
    let ahead = app
        .get("/v1/dyads/USA/CHN/timeline?interval=year&from=2998-01-01")
        .await;
    ahead.assert_status(200);
    assert_eq!(ahead.body["to"], "2999-05-01");
    let years: Vec<i64> = ahead.body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["a_to_b"]["count"].as_i64().unwrap())
        .collect();
    assert_eq!(years, [0, 1]);
    let summary = app.get("/v1/dyads/USA/CHN?from=2998-01-01").await;
    assert_eq!(summary.body["a_to_b"]["count"], 1);
    let later = app.get("/v1/dyads/USA/GBR/timeline?from=3100-01-01").await;
    later.assert_status(200);
    assert_eq!(later.body["to"], "3100-01-01");
    assert_eq!(later.body["buckets"].as_array().unwrap().len(), 1);
}

/// At most 10,000 buckets, counted exactly: 10,000 days, months or years are answered, one
/// more is a 400. (The bound was days over a fixed length: 10,001 days were answered, 9,200
/// months refused, and the 9,999 years of the calendar too.) A request that names no interval
/// is never refused for it: a dyad whose first action is in year 50 gets quarters.
#[tokio::test]
async fn a_timeline_holds_exactly_ten_thousand_buckets() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let timeline = async |query: &str| {
        app.get(&format!("/v1/dyads/USA/CHN/timeline?{query}"))
            .await
    };
    for (query, buckets) in [
        ("interval=day&from=2020-01-01&to=2047-05-18", 10_000),
        ("interval=month&from=2020-01-01&to=2853-04-30", 10_000),
        ("interval=quarter&from=2020-01-01&to=4519-12-31", 10_000),
        ("interval=week&from=2020-01-06&to=2211-09-01", 10_000),
        ("interval=year&from=0001-01-01&to=9999-12-31", 9_999),
    ] {
        let resp = timeline(query).await;
        resp.assert_status(200);
        assert_eq!(
            resp.body["buckets"].as_array().unwrap().len(),
            buckets,
            "{query}"
        );
    }
    for query in [
        "interval=day&from=2020-01-01&to=2047-05-19",
        "interval=month&from=2020-01-01&to=2853-05-01",
        "interval=quarter&from=2020-01-01&to=4520-01-01",
        "interval=week&from=2020-01-06&to=2211-09-02",
    ] {
        timeline(query).await.assert_problem(400, Some("interval"));
    }
    app.action(json!({"announced_on": "0050-06-01"})).await;
    let resp = timeline("to=2020-12-31").await;
    resp.assert_status(200);
    assert_eq!(resp.body["interval"], "quarter");
    let buckets = resp.body["buckets"].as_array().unwrap();
    assert_eq!(buckets[0]["start"], "0050-04-01");
    assert_eq!(buckets[0]["a_to_b"]["count"], 1);
    assert_eq!(buckets.len(), (2020 - 50) * 4 + 3, "0050 Q2 to 2020 Q4");
    // Days over that span are refused, and the refusal says where the bounds it quotes
    // came from: the client sent neither.
    let refused = timeline("interval=day").await;
    refused.assert_problem(400, Some("interval"));
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("0050-06-01 (the dyad's first action; `from` was not given)")
            && detail.contains("(`to` was not given: today"),
        "{detail}"
    );
    let half = timeline("interval=day&to=2020-12-31").await;
    half.assert_problem(400, Some("interval"));
    let detail = half.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("`from` was not given") && !detail.contains("`to` was not given"),
        "{detail}"
    );
    let sent = timeline("interval=day&from=0050-06-01&to=2020-12-31").await;
    sent.assert_problem(400, Some("interval"));
    let detail = sent.body["detail"].as_str().unwrap();
    assert!(!detail.contains("not given"), "{detail}");
}

#[tokio::test]
async fn most_active_dyads_come_first() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for day in ["2020-01-01", "2020-02-01", "2020-03-01"] {
        app.action(json!({"announced_on": day, "severity": -2.0}))
            .await;
    }
    app.action(json!({"announced_on": "2020-04-01", "initiator": "CHN", "target": "USA", "severity": -3.0})).await;
    app.action(json!({"announced_on": "2020-05-01", "initiator": "GBR", "target": "CHN", "severity": -1.0})).await;
    let resp = app.get("/v1/dyads").await;
    resp.assert_status(200);
    assert_eq!(
        resp.body["items"],
        json!([
            {"a": "CHN", "b": "USA", "count": 4, "a_to_b": {"count": 1, "severity_sum": -3.0},
             "b_to_a": {"count": 3, "severity_sum": -6.0}, "last_announced_on": "2020-04-01"},
            {"a": "CHN", "b": "GBR", "count": 1, "a_to_b": {"count": 0, "severity_sum": 0.0},
             "b_to_a": {"count": 1, "severity_sum": -1.0}, "last_announced_on": "2020-05-01"}
        ])
    );
    let usa = app.get("/v1/dyads?actor=USA").await;
    assert_eq!(usa.body["items"][0]["a"], "USA");
    assert_eq!(usa.body["items"][0]["a_to_b"]["count"], 3);
    assert_eq!(usa.body["items"].as_array().unwrap().len(), 1);
    let windowed = app.get("/v1/dyads?from=2020-03-15").await;
    assert_eq!(windowed.body["items"][0]["count"], 1);
    assert_eq!(resp.body["total"], 2, "{}", resp.text);
    assert_eq!(usa.body["total"], 1, "{}", usa.text);
    // The top one of two: a client can tell it does not hold them all.
    let top = app.get("/v1/dyads?limit=1").await;
    assert_eq!(top.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(top.body["total"], 2, "{}", top.text);
    assert!(top.body.get("next_page_token").is_none(), "{}", top.text);
    let empty = app.get("/v1/dyads?from=2021-01-01").await;
    assert_eq!(empty.body, json!({"items": [], "total": 0}));
    app.get("/v1/dyads?limit=201")
        .await
        .assert_problem(400, Some("limit"));
    // An unknown code in a query is a bad parameter, as in every list's filters.
    app.get("/v1/dyads?actor=XXX")
        .await
        .assert_problem(400, Some("actor"));
}

/// A chain's edges count towards its bound too: each repeats an answer its documents hold.
/// 1,900 actions of one day answering up to 100 others each make 15 MB of documents and
/// 185,000 edges: 35 MB in all, answered whole before (the review's 10,000 actions with 33
/// answers each made 70 MB of a 32 MiB bound, and took seconds of a worker).
#[tokio::test]
async fn a_chain_of_many_edges_is_refused_by_its_size() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let n = 1_900;
    let id = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    let mut file = String::new();
    for i in 1..=n {
        let answers: Vec<Value> = (i + 1..=n.min(i + 100))
            .map(|j| json!({"action": id(j), "relation": "retaliates"}))
            .collect();
        let (initiator, target) = if i % 2 == 0 {
            ("USA", "CHN")
        } else {
            ("CHN", "USA")
        };
        file.push_str(
            &json!({"id": id(i), "title": format!("Dense {i}"), "initiator": initiator,
                    "target": target, "type": "criticize", "status": "announced",
                    "announced_on": "2020-01-01", "responds_to": answers})
            .to_string(),
        );
        file.push('\n');
    }
    let resp = app.post_raw("/v1/imports", file.into_bytes()).await;
    resp.assert_status(202);
    let location = resp.header("location").unwrap().to_string();
    let mut job = Value::Null;
    for _ in 0..1200 {
        job = app.get(&location).await.body;
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(job["state"], "succeeded", "{job}");

    let resp = app.get(&format!("/v1/actions/{}/chain", id(1))).await;
    resp.assert_problem(400, Some("id"));
    assert!(
        resp.text.contains("documents and edges") && resp.text.contains("more than the 32 MiB"),
        "{}",
        resp.text
    );
}

/// A chain returns its actions whole: an episode whose documents pass 32 MiB
/// (`MAX_CHAIN_BYTES`) is a 400 saying how large they are, not an answer of hundreds of MB
/// built in memory (150 actions of ~1 MB made 157 MB).
#[tokio::test]
async fn a_chain_of_large_documents_is_refused_by_its_size() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let quote = "q".repeat(9_000);
    let mut last: Option<String> = None;
    for i in 0..38 {
        let sources: Vec<serde_json::Value> = (0..100)
            .map(|s| json!({"url": format!("https://example.org/{i}/{s}"), "quote": quote}))
            .collect();
        let (initiator, target) = if i % 2 == 0 {
            ("USA", "CHN")
        } else {
            ("CHN", "USA")
        };
        let mut body = json!({"title": format!("Large {i}"), "initiator": initiator,
                              "target": target, "sources": sources,
                              "announced_on": format!("2020-02-{:02}", i % 28 + 1)});
        if i >= 28 {
            body["announced_on"] = json!(format!("2020-03-{:02}", i - 27));
        }
        if let Some(previous) = &last {
            body["responds_to"] = json!([{"action": previous, "relation": "retaliates"}]);
        }
        last = Some(id_of(&app.action(body).await));
        if i == 30 {
            // 31 documents of ~0.9 MB: under the bound, answered whole.
            let chain = app
                .get(&format!("/v1/actions/{}/chain", last.as_ref().unwrap()))
                .await;
            chain.assert_status(200);
            assert_eq!(chain.body["nodes"].as_array().unwrap().len(), 31);
        }
    }
    let resp = app
        .get(&format!("/v1/actions/{}/chain", last.unwrap()))
        .await;
    resp.assert_problem(400, Some("id"));
    assert!(
        resp.text.contains("MiB, more than the 32 MiB"),
        "{}",
        resp.text
    );
}
