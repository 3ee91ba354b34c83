//! Bulk import through `POST /v1/imports`: upserts by id and external id, answers between
//! lines in any order, the API's rules and messages per line, all-or-nothing and partial,
//! exports re-imported as they are.

use reqwest::Method;
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::changes::drain;
use super::graph_facts::{assert_consistent, chain_ids};
use super::helpers::{action_body, id_of, TestApp};

fn ndjson(lines: &[Value]) -> Vec<u8> {
    let mut out = String::new();
    for l in lines {
        out.push_str(&l.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// Posts a file and waits for its job to end; returns the finished job.
pub async fn import(app: &TestApp, query: &str, body: Vec<u8>) -> Value {
    let resp = app.post_raw(&format!("/v1/imports{query}"), body).await;
    resp.assert_status(202);
    let location = resp.header("location").expect("a Location").to_string();
    assert_eq!(location, format!("/v1/imports/{}", id_of(&resp.body)));
    finished(app, &location).await
}

/// Waits for the job at `location` to end; the job.
async fn finished(app: &TestApp, location: &str) -> Value {
    for _ in 0..600 {
        let job = app.get(location).await;
        job.assert_status(200);
        match job.body["state"].as_str().unwrap() {
            "queued" | "running" => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return job.body,
        }
    }
    panic!("the import did not finish in 30 s");
}

/// Waits until a backend of `watch`'s database waits for a lock of kind `event`
/// (`advisory`, `transactionid`). `watch` must be outside any transaction: in one, every read
/// of pg_stat_activity sees the first one's snapshot.
async fn wait_for_lock(watch: &tokio_postgres::Client, event: &str, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let waiting = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND wait_event = $1 AND datname = current_database()",
                &[&event],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if waiting > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn action(title: &str, external_id: &str, announced_on: &str, responds_to: Value) -> Value {
    json!({"title": title, "initiator": "USA", "target": "CHN", "type": "asset_freeze",
           "status": "in_force", "announced_on": announced_on, "external_id": external_id,
           "source_dataset": "test", "responds_to": responds_to})
}

fn counts(job: &Value) -> [i64; 5] {
    let c = &job["counts"];
    ["read", "created", "updated", "unchanged", "rejected"].map(|k| c[k].as_i64().unwrap())
}

async fn total_actions(app: &TestApp) -> i64 {
    app.get("/v1/actions?include_total=true&limit=1").await.body["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_file_of_actors_and_actions_answering_each_other_in_any_order_imports_once() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let stored = app
        .action(json!({"title": "Stored", "announced_on": "2020-01-01"}))
        .await;
    let file = ndjson(&[
        json!({"actor": {"code": "marco-rubio", "name": "Marco Rubio", "kind": "person",
                         "country": "USA"}}),
        // Answers a line further down, by external id, and a stored action by id.
        json!({"title": "China sanctions Marco Rubio", "initiator": "CHN", "target": "USA",
               "type": "asset_freeze", "status": "announced", "announced_on": "2020-07-13",
               "designations": [{"actor": "marco-rubio"}], "external_id": "cn-1",
               "source_dataset": "test",
               "responds_to": [{"action": "us-1", "relation": "retaliates"},
                               {"action": id_of(&stored), "relation": "reciprocates"}]}),
        json!({"actor": {"code": "CAN", "name": "Canada", "kind": "state"}}),
        action("US freezes assets", "us-1", "2020-07-09", json!([])),
    ]);
    let job = import(&app, "", file.clone()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [4, 2, 0, 0, 0]);
    assert_eq!(job["counts"]["actors_created"], 2);
    assert_eq!(job["format"], "ndjson");
    assert_eq!(job["rejected_lines"], json!([]));

    let listed = app.get("/v1/actions?q=rubio").await;
    let answer = &listed.body["items"][0];
    assert_eq!(answer["external_id"], "cn-1");
    assert_eq!(answer["source_dataset"], "test");
    assert_eq!(answer["designations"][0]["actor"]["code"], "marco-rubio");
    let answered: Vec<&str> = answer["responds_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["relation"].as_str().unwrap())
        .collect();
    assert_eq!(answered.len(), 2, "{answer}");
    let chain = app
        .get(&format!("/v1/actions/{}/chain", id_of(answer)))
        .await;
    chain.assert_status(200);
    assert_consistent(&app, "the import").await;
    app.get("/v1/actors/CAN").await.assert_status(200);

    // The same file again: nothing changes, not even the change feed.
    let changes_before = app.get("/v1/changes?limit=200").await.body["items"]
        .as_array()
        .unwrap()
        .len();
    let again = import(&app, "", file).await;
    assert_eq!(counts(&again), [4, 0, 0, 2, 0]);
    assert_eq!(again["counts"]["actors_created"], 0);
    let changes_after = app.get("/v1/changes?limit=200").await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(changes_before, changes_after);
    assert_eq!(total_actions(&app).await, 3);

    // One changed line updates its action, found by its external id.
    let changed = ndjson(&[action(
        "US freezes more assets",
        "us-1",
        "2020-07-09",
        json!([]),
    )]);
    let job = import(&app, "", changed).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0]);
    let us = app.get("/v1/actions?q=%22more%20assets%22").await;
    assert_eq!(us.body["items"][0]["version"], 2);
    assert_eq!(total_actions(&app).await, 3);
}

#[tokio::test]
async fn one_bad_line_stores_nothing_unless_partial_and_every_fault_is_named_by_line() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let file = ndjson(&[
        action("Good", "g-1", "2020-07-09", json!([])),
        json!({"title": "", "initiator": "XXX", "target": "CHN", "type": "no_such_type",
               "status": "announced", "announced_on": "2020-13-01"}),
        // Answers a line that is rejected for answering a later action.
        action(
            "Depends",
            "g-3",
            "2020-08-01",
            json!([{"action": "g-4", "relation": "escalates"}]),
        ),
        action(
            "Too early",
            "g-4",
            "2020-07-01",
            json!([{"action": "g-1", "relation": "retaliates"}]),
        ),
        action(
            "Unknown target",
            "g-5",
            "2020-09-01",
            json!([{"action": "nope", "relation": "retaliates"}]),
        ),
    ]);
    let mut lines = file.clone();
    lines.extend_from_slice(b"{not json\n\n   \n");

    let job = import(&app, "", lines.clone()).await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("nothing was stored"),
        "{job}"
    );
    assert_eq!(total_actions(&app).await, 0);
    let rejected = job["rejected_lines"].as_array().unwrap();
    let by_line = |n: i64| {
        rejected
            .iter()
            .find(|r| r["line"] == n)
            .map(|r| {
                r["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["field"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let line2 = by_line(2);
    assert!(line2.contains(&"announced_on".to_string()), "{line2:?}");
    assert!(line2.contains(&"title".to_string()), "{line2:?}");
    let line4 = rejected.iter().find(|r| r["line"] == 4).unwrap();
    assert!(
        line4["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("can only respond to earlier ones"),
        "{line4}"
    );
    assert_eq!(by_line(5), vec!["responds_to[0].action"]);
    assert_eq!(by_line(6), vec!["line"]);

    // With partial: the good line is stored, the one answering a rejected line is not.
    let job = import(&app, "?partial=true", lines).await;
    assert_eq!(job["state"], "succeeded");
    assert_eq!(counts(&job), [6, 1, 0, 0, 5]);
    let line3 = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == 3)
        .unwrap()
        .clone();
    assert!(
        line3["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 4"),
        "{line3}"
    );
    assert_eq!(total_actions(&app).await, 1);
    let jobs = app.get("/v1/imports").await;
    jobs.assert_status(200);
    assert_eq!(jobs.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(jobs.body["items"][0]["id"], job["id"]);
    // Paged, newest first: every job is reachable (the list stopped at its first page).
    let first = app.get("/v1/imports?limit=1").await;
    assert_eq!(first.body["items"][0]["id"], job["id"]);
    let token = first.body["next_page_token"].as_str().expect("a next page");
    let second = app
        .get(&format!("/v1/imports?limit=1&page_token={token}"))
        .await;
    second.assert_status(200);
    assert_eq!(second.body["items"][0]["id"], jobs.body["items"][1]["id"]);
    assert!(second.body["next_page_token"].is_null(), "{}", second.text);
}

#[tokio::test]
async fn an_authority_that_does_not_act_for_the_initiator_is_refused_on_each_of_its_lines() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let with_authority = |title: &str, external_id: &str, authority: &str| {
        let mut line = action(title, external_id, "2020-07-09", json!([]));
        line["authority"] = json!(authority);
        line
    };
    // Pairs repeat: the rule is checked once per distinct (authority, initiator) pair, and
    // its verdict must reach every line of the pair.
    let file = ndjson(&[
        with_authority("Treasury one", "a-1", "us-treasury"),
        with_authority("Bureau one", "a-2", "xinjiang-psb"),
        with_authority("Treasury two", "a-3", "us-treasury"),
        with_authority("Bureau two", "a-4", "xinjiang-psb"),
    ]);
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [4, 2, 0, 0, 2]);
    let rejected = job["rejected_lines"].as_array().unwrap();
    let lines: Vec<i64> = rejected
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4]);
    for r in rejected {
        assert_eq!(r["errors"][0]["field"], "authority", "{r}");
        let message = r["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("`xinjiang-psb` does not act for the initiator `USA`"),
            "{message}"
        );
    }
    let stored = app.get("/v1/actions").await;
    stored.assert_status(200);
    let mut titles: Vec<&str> = stored.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Treasury one", "Treasury two"]);
}

#[tokio::test]
async fn lines_answering_each_other_in_a_circle_are_rejected() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let file = ndjson(&[
        action(
            "A",
            "c-a",
            "2020-07-09",
            json!([{"action": "c-b", "relation": "retaliates"}]),
        ),
        action(
            "B",
            "c-b",
            "2020-07-09",
            json!([{"action": "c-a", "relation": "retaliates"}]),
        ),
        action(
            "C answers A",
            "c-c",
            "2020-07-10",
            json!([{"action": "c-a", "relation": "escalates"}]),
        ),
        action("D", "c-d", "2020-07-10", json!([])),
        action("D again", "c-d", "2020-07-11", json!([])),
    ]);
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(counts(&job), [5, 1, 0, 0, 4], "{job}");
    let fields: Vec<(i64, String)> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["errors"][0]["field"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            (1, "responds_to".into()),
            (2, "responds_to".into()),
            (3, "responds_to".into()),
            (5, "external_id".into())
        ]
    );
    assert_consistent(&app, "a partial import").await;
}

#[tokio::test]
async fn an_export_imports_into_an_empty_database_as_the_same_documents() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = app
        .action(json!({"title": "First", "announced_on": "2020-07-09",
        "designations": [{"actor": "chen-quanguo"}],
        "sources": [{"url": "https://example.org/a", "publisher": "Example"}]}))
        .await;
    app.action(
        json!({"title": "Answer", "initiator": "CHN", "target": "USA",
        "announced_on": "2020-07-13", "authority": null,
        "responds_to": [{"action": id_of(&first), "relation": "retaliates"}]}),
    )
    .await;
    let export = exported(&app, "").await;

    let other = TestApp::spawn().await;
    other.with_basics().await;
    let job = import(&other, "", export).await;
    assert_eq!(counts(&job), [2, 2, 0, 0, 0], "{job}");
    let strip = |mut v: Value| {
        for item in v["items"].as_array_mut().unwrap() {
            let o = item.as_object_mut().unwrap();
            for k in ["created_at", "updated_at"] {
                o.remove(k);
            }
            for actor in ["initiator", "target"] {
                o[actor].as_object_mut().unwrap().remove("id");
            }
            for d in o["designations"].as_array_mut().unwrap() {
                d["actor"].as_object_mut().unwrap().remove("id");
            }
        }
        v
    };
    let here = strip(app.get("/v1/actions").await.body);
    let there = strip(other.get("/v1/actions").await.body);
    assert_eq!(here["items"], there["items"]);
    assert_consistent(&other, "importing an export").await;
}

/// `include_actors=true`: the export carries the actors its actions name and all they belong
/// to (parents, countries), each after what it belongs to and before the first action naming
/// it, as their documents; imported where no actor is stored, it rebuilds the actions, and
/// actors unrelated to them stay out.
#[tokio::test]
async fn an_export_with_its_actors_rebuilds_its_actions_where_no_actor_is_stored() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for body in [
        json!({"code": "ofac", "name": "OFAC", "kind": "government_body", "country": "USA",
               "parent": "us-treasury", "aliases": ["Office of Foreign Assets Control"],
               "wikidata_id": "Q1143207", "description": "Treasury's sanctions office"}),
        json!({"code": "wang-mingshan", "name": "Wang Mingshan", "kind": "person",
               "country": "CHN", "parent": "xinjiang-psb"}),
        json!({"code": "us-senator", "name": "A Senator", "kind": "person", "country": "USA"}),
        json!({"code": "uk-fcdo", "name": "FCDO", "kind": "government_body", "country": "GBR"}),
    ] {
        app.actor(body).await;
    }
    let first = app
        .action(
            json!({"title": "First", "announced_on": "2020-07-09", "authority": "ofac",
                       "designations": [{"actor": "wang-mingshan"}, {"actor": "chen-quanguo"}],
                       "sources": [{"url": "https://example.org/a"}]}),
        )
        .await;
    app.action(
        json!({"title": "Answer", "initiator": "CHN", "target": "USA",
                      "announced_on": "2020-07-13", "authority": null,
                      "designations": [{"actor": "us-senator"}],
                      "responds_to": [{"action": id_of(&first), "relation": "retaliates"}]}),
    )
    .await;
    let file = exported(&app, "?include_actors=true").await;
    let lines: Vec<Value> = std::str::from_utf8(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // Each actor once, as its document, after what it belongs to; each action after its
    // actors. GBR and uk-fcdo are named by no action.
    let mut seen: Vec<String> = Vec::new();
    for line in &lines {
        if let Some(actor) = line.get("actor") {
            let code = actor["code"].as_str().unwrap().to_string();
            for above in ["country", "parent"] {
                if let Some(up) = actor[above].as_str() {
                    assert!(
                        seen.iter().any(|c| c == up),
                        "{code} before its {above} {up}"
                    );
                }
            }
            assert_eq!(actor, &app.get(&format!("/v1/actors/{code}")).await.body);
            assert!(!seen.contains(&code), "{code} twice");
            seen.push(code);
        } else {
            let mut named = vec![&line["initiator"], &line["target"], &line["authority"]];
            named.extend(
                line["designations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| &d["actor"]),
            );
            for actor in named.into_iter().filter(|a| !a.is_null()) {
                let code = actor["code"].as_str().unwrap();
                assert!(
                    seen.iter().any(|c| c == code),
                    "{code} after an action naming it"
                );
            }
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "CHN",
            "USA",
            "chen-quanguo",
            "ofac",
            "us-senator",
            "us-treasury",
            "wang-mingshan",
            "xinjiang-psb"
        ]
    );

    // Into a database without a single actor.
    let other = TestApp::spawn().await;
    let job = import(&other, "", file.clone()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [10, 2, 0, 0, 0], "{job}");
    assert_eq!(job["counts"]["actors_created"], 8);
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        for k in ["id", "created_at", "updated_at"] {
            o.remove(k);
        }
        v
    };
    let strip_action = |mut v: Value| {
        v = strip(v);
        for actor in ["initiator", "target", "authority"] {
            if let Some(o) = v[actor].as_object_mut() {
                o.remove("id");
            }
        }
        // In the order of each database's actor ids.
        let designations = v["designations"].as_array_mut().unwrap();
        for d in designations.iter_mut() {
            d["actor"].as_object_mut().unwrap().remove("id");
        }
        designations.sort_by_key(|d| d["actor"]["code"].as_str().unwrap().to_string());
        v
    };
    for line in &lines {
        match line.get("actor") {
            Some(actor) => {
                let code = actor["code"].as_str().unwrap();
                let there = other.get(&format!("/v1/actors/{code}")).await;
                there.assert_status(200);
                assert_eq!(strip(there.body), strip(actor.clone()));
            }
            None => {
                let there = other.get(&format!("/v1/actions/{}", id_of(line))).await;
                there.assert_status(200);
                assert_eq!(strip_action(there.body), strip_action(line.clone()));
            }
        }
    }
    other.get("/v1/actors/uk-fcdo").await.assert_status(404);
    assert_consistent(&other, "importing an export with its actors").await;

    // Again: the actors are found as they are, the actions unchanged.
    let again = import(&other, "", file).await;
    assert_eq!(counts(&again), [10, 0, 0, 2, 0], "{again}");
    assert_eq!(again["counts"]["actors_created"], 0);

    // A deleted actor's document is no actor line.
    let mut gone = app.get("/v1/actors/uk-fcdo").await.body;
    gone["deleted_at"] = json!("2020-01-01T00:00:00Z");
    let job = import(&other, "", ndjson(&[json!({"actor": gone})])).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["field"],
        "actor.deleted_at"
    );

    // Only NDJSON carries actors; the flag is a boolean, given once.
    for query in [
        "include_actors=true&format=csv",
        "include_actors=yes",
        "include_actors=true&include_actors=false",
    ] {
        app.get(&format!("/v1/actions/export?{query}"))
            .await
            .assert_problem(400, Some("include_actors"));
    }
}

/// `include_history=true`: each action's line carries its whole status history, and an import
/// of the file into another database records the same history, so `as_of` answers there as
/// here (without it, the history starts again with one entry and they differ). Into the same
/// database the file changes nothing.
#[tokio::test]
async fn an_export_with_histories_gives_the_same_as_of_answers_elsewhere() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let vow = app
        .action(
            json!({"title": "Vow", "initiator": "CHN", "target": "USA", "type": "threaten",
                       "status": "threatened", "announced_on": "2020-07-10"}),
        )
        .await;
    let id = id_of(&vow);
    for change in [
        json!({"status": "in_force", "status_changed_on": "2020-07-13", "effective_from": "2020-07-13",
               "status_source_url": "https://example.org/13-july", "status_note": "In force"}),
        json!({"status": "suspended", "status_changed_on": "2020-09-01"}),
        json!({"status": "in_force", "status_changed_on": "2020-09-01"}),
        json!({"status": "lifted", "status_changed_on": "2021-03-01", "effective_to": "2021-03-01"}),
    ] {
        app.patch(&format!("/v1/actions/{id}"), &change)
            .await
            .assert_status(200);
    }
    // One action whose history is its one first entry.
    app.action(json!({"title": "Freeze", "announced_on": "2020-07-09"}))
        .await;
    async fn in_force(app: &TestApp, day: &str) -> Vec<String> {
        let list = app.get(&format!("/v1/actions?as_of={day}")).await.body;
        let mut titles: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect();
        titles.sort();
        titles
    }
    let here = history(&app, &id).await;
    assert_eq!(here.as_array().unwrap().len(), 5, "{here}");

    let file = exported(&app, "?include_actors=true&include_history=true").await;
    let lines: Vec<Value> = std::str::from_utf8(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l.get("actor").is_none())
        .collect();
    assert_eq!(lines.len(), 2);
    let line = lines.iter().find(|l| l["id"] == json!(id)).unwrap();
    // The history endpoint's entries, oldest first, less recorded_at and absent values.
    let mut expected = here.clone();
    for item in expected.as_array_mut().unwrap() {
        item.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    }
    assert_eq!(line["status_history"], expected);
    let mut document = line.clone();
    document.as_object_mut().unwrap().remove("status_history");
    assert_eq!(document, app.get(&format!("/v1/actions/{id}")).await.body);

    let other = TestApp::spawn().await;
    let job = import(&other, "", file.clone()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(history(&other, &id).await, here);
    for day in [
        "2020-07-09",
        "2020-07-12",
        "2020-07-14",
        "2020-09-01",
        "2021-02-28",
        "2021-03-02",
    ] {
        assert_eq!(
            in_force(&other, day).await,
            in_force(&app, day).await,
            "as_of={day}"
        );
    }
    assert_eq!(in_force(&other, "2020-07-14").await, ["Freeze", "Vow"]);

    // Without the histories, another database knows only the last status.
    let without = TestApp::spawn().await;
    let job = import(&without, "", exported(&app, "?include_actors=true").await).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(history(&without, &id).await.as_array().unwrap().len(), 1);
    assert_eq!(in_force(&without, "2020-07-14").await, ["Freeze"]);

    // Into the database it came from: nothing changes.
    let again = import(&app, "", file).await;
    assert_eq!(counts(&again), [4, 0, 0, 2, 0], "{again}");
    assert_eq!(history(&app, &id).await, here);

    // Only NDJSON carries histories; the flag is a boolean, given once.
    for query in [
        "include_history=true&format=csv",
        "include_history=1",
        "include_history=true&include_history=true",
    ] {
        app.get(&format!("/v1/actions/export?{query}"))
            .await
            .assert_problem(400, Some("include_history"));
    }
}

/// An action's history can grow past the 100 entries a `POST` may give, one `PATCH` at a
/// time: its export with `include_history=true` imports whole, into the database it came
/// from (unchanged) and into another (the same history). An import line is bounded by its
/// 1 MiB; the import refused such a line everywhere, its own database too.
#[tokio::test]
async fn a_history_longer_than_a_post_may_give_exports_and_imports_whole() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let id = id_of(&app.action(json!({"announced_on": "2020-01-01"})).await);
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap();
    for n in 0..110 {
        let status = if n % 2 == 0 { "suspended" } else { "in_force" };
        let on = start + chrono::Duration::days(n);
        app.patch(
            &format!("/v1/actions/{id}"),
            &json!({"status": status, "status_changed_on": on.to_string()}),
        )
        .await
        .assert_status(200);
    }
    let here = history(&app, &id).await;
    assert_eq!(here.as_array().unwrap().len(), 111);
    let file = exported(&app, "?include_actors=true&include_history=true").await;

    let again = import(&app, "", file.clone()).await;
    assert_eq!(again["state"], "succeeded", "{again}");
    assert_eq!(again["counts"]["unchanged"], 1, "{again}");

    let other = TestApp::spawn().await;
    let job = import(&other, "", file).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(history(&other, &id).await, here);
}

#[tokio::test]
async fn an_import_is_refused_without_a_write_key_and_with_bad_parameters() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(format!("{}/v1/imports", app.base))
        .body("{}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    app.post_raw("/v1/imports?format=xml", b"{}\n".to_vec())
        .await
        .assert_problem(400, Some("format"));
    app.post_raw("/v1/imports?bogus=1", b"{}\n".to_vec())
        .await
        .assert_problem(400, Some("bogus"));
    app.post_raw("/v1/imports", Vec::new())
        .await
        .assert_problem(400, None);
    // A form wrapped around the file, or an encoding the server does not read, would be read
    // as lines of the file.
    let line = b"{\"actor\": {\"code\": \"USA\", \"name\": \"US\", \"kind\": \"state\"}}\n";
    for headers in [
        [
            ("content-type", "multipart/form-data; boundary=x"),
            ("x-n", "1"),
        ],
        [("content-type", "image/png"), ("x-n", "2")],
        [
            ("content-type", "application/x-ndjson"),
            ("content-encoding", "zstd"),
        ],
        [
            ("content-type", "application/x-ndjson"),
            ("content-encoding", "gzip, br"),
        ],
    ] {
        let resp = app.post_file("/v1/imports", line.to_vec(), &headers).await;
        resp.assert_problem(415, None);
        assert!(
            resp.body["detail"].as_str().unwrap().contains("Content-"),
            "{}",
            resp.body
        );
    }
    // What `curl --data-binary @FILE` sends without a Content-Type.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    app.post_file("/v1/imports", line.to_vec(), &form)
        .await
        .assert_status(202);
    app.get("/v1/imports/0a1f0000-0000-4000-8000-000000000008")
        .await
        .assert_problem(404, None);
}

#[tokio::test]
async fn a_line_over_the_limit_is_rejected_and_reading_goes_on() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut file = ndjson(&[action("Before", "l-1", "2020-07-09", json!([]))]);
    let long = "x".repeat(riposte::limits::MAX_IMPORT_LINE_BYTES + 10);
    file.extend_from_slice(format!("{{\"title\": \"{long}\"}}\n").as_bytes());
    file.extend_from_slice(&ndjson(&[action("After", "l-3", "2020-07-10", json!([]))]));
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(counts(&job), [3, 2, 0, 0, 1], "{job}");
    assert_eq!(job["rejected_lines"][0]["line"], 2);
    assert!(job["rejected_lines"][0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("longer than"));
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_413_and_a_gzipped_one_is_read_whole() {
    use std::io::Write;
    let app = TestApp::spawn_with(riposte::state::Config {
        max_import_bytes: 4096,
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let lines: Vec<Value> = (0..40)
        .map(|i| {
            action(
                &format!("Measure {i}"),
                &format!("z-{i}"),
                "2020-07-09",
                json!([]),
            )
        })
        .collect();
    let file = ndjson(&lines);
    assert!(file.len() > 4096);
    let resp = app.post_raw("/v1/imports", file.clone()).await;
    resp.assert_problem(413, None);
    assert!(
        resp.body["detail"].as_str().unwrap().contains("4096"),
        "{}",
        resp.text
    );

    // The limit is on what is read, after decompression: 20 lines fit, gzipped or not.
    let small = ndjson(&lines[..20]);
    assert!(small.len() <= 4096, "{}", small.len());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&small).unwrap();
    let resp = app
        .client
        .post(format!("{}/v1/imports", app.base))
        .bearer_auth(&app.keys.write)
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..200 {
        let job = app.get(&format!("/v1/imports/{id}")).await.body;
        if job["state"] == "succeeded" {
            assert_eq!(counts(&job), [20, 20, 0, 0, 0]);
            return;
        }
        assert!(
            job["state"] == "queued" || job["state"] == "running",
            "{job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gzipped import did not finish");
}

/// An imported answer that joins two stored episodes: the graph facts an import computes for
/// all its edges at once equal a recomputation from scratch, and the chain is one.
#[tokio::test]
async fn imported_answers_join_stored_episodes_exactly() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = app
        .action(json!({"title": "A", "announced_on": "2020-01-01"}))
        .await;
    let b = app
        .action(json!({"title": "B", "announced_on": "2020-01-02"}))
        .await;
    let a2 = app
        .action(json!({"title": "A2", "initiator": "CHN", "target": "USA",
            "announced_on": "2020-01-03",
            "responds_to": [{"action": id_of(&a), "relation": "retaliates"}]}))
        .await;
    let file = ndjson(&[
        json!({"title": "Joins them", "initiator": "CHN", "target": "USA", "type": "visa_ban",
               "status": "in_force", "announced_on": "2020-02-01", "external_id": "j-1",
               "responds_to": [{"action": id_of(&a2), "relation": "escalates"},
                               {"action": id_of(&b), "relation": "retaliates"},
                               {"action": "j-2", "relation": "implements"}]}),
        json!({"title": "Threat", "initiator": "CHN", "target": "USA", "type": "threaten",
               "status": "announced", "announced_on": "2020-01-20", "external_id": "j-2"}),
        json!({"title": "Alone", "initiator": "CHN", "target": "USA", "type": "threaten",
               "status": "announced", "announced_on": "2020-01-21", "external_id": "j-3"}),
    ]);
    let job = import(&app, "", file).await;
    assert_eq!(counts(&job), [3, 3, 0, 0, 0], "{job}");
    assert_consistent(&app, "an import joining episodes").await;
    let chain = app.get(&format!("/v1/actions/{}/chain", id_of(&b))).await;
    let ids = chain.text.clone();
    for member in [&a, &a2, &b] {
        assert!(ids.contains(&id_of(member)), "{ids}");
    }
    assert!(
        ids.contains("Joins them") && ids.contains("Threat"),
        "{ids}"
    );
    assert!(!ids.contains("Alone"), "{ids}");
    // The change feed has each new action and edge once.
    let feed = app.get("/v1/changes?limit=200&entity=response").await;
    let added = feed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "edge_added")
        .count();
    assert_eq!(added, 4);
}

/// A line that finds a stored action replaces its lists and appends a changed status to its
/// history; one naming a deleted action is rejected until the action is restored.
#[tokio::test]
async fn a_changed_line_keeps_the_answers_it_still_gives_and_changes_only_the_others() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut ids = Vec::new();
    for (title, on) in [
        ("A", "2020-01-01"),
        ("B", "2020-01-15"),
        ("C", "2020-01-20"),
    ] {
        ids.push(id_of(
            &app.action(json!({"title": title, "announced_on": on}))
                .await,
        ));
    }
    let answer = |title: &str, responds_to: Value| {
        json!({"title": title, "initiator": "CHN", "target": "USA", "type": "asset_freeze",
               "status": "in_force", "announced_on": "2020-02-01", "responds_to": responds_to})
    };
    let x = app
        .action(answer(
            "X",
            json!([{"action": ids[0], "relation": "retaliates"},
                   {"action": ids[1], "relation": "escalates"}]),
        ))
        .await;
    let x_id = id_of(&x);
    let (_, before) = drain(&app, "0", "", 100).await;

    // Keeps its answer to A, answers B otherwise, answers C as well.
    let mut line = answer(
        "X, revised",
        json!([{"action": ids[0], "relation": "retaliates"},
               {"action": ids[1], "relation": "reciprocates"},
               {"action": ids[2], "relation": "retaliates"}]),
    );
    line["id"] = json!(x_id);
    let job = import(&app, "", ndjson(&[line])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");

    let now = app.get(&format!("/v1/actions/{x_id}")).await.body;
    assert_eq!(now["title"], "X, revised");
    let mut answers: Vec<(String, String)> = now["responds_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let target = r["action"]["id"].as_str().or(r["action"].as_str()).unwrap();
            let letter = ["A", "B", "C"][ids.iter().position(|i| i == target).unwrap()];
            (
                letter.to_string(),
                r["relation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    answers.sort();
    let want = [
        ("A", "retaliates"),
        ("B", "reciprocates"),
        ("C", "retaliates"),
    ]
    .map(|(a, r)| (a.to_string(), r.to_string()));
    assert_eq!(answers, want, "{now}");
    // The feed names what changed in the graph, and nothing of the answer kept.
    let (edges, _) = drain(&app, &before, "&entity=response", 100).await;
    let mut got: Vec<(String, String, String)> = edges
        .iter()
        .map(|e| {
            let target = e["answers"].as_str().unwrap();
            let letter = ["A", "B", "C"][ids.iter().position(|i| i == target).unwrap()];
            (
                e["kind"].as_str().unwrap().to_string(),
                letter.to_string(),
                e["relation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("edge_added", "B", "reciprocates"),
        ("edge_added", "C", "retaliates"),
        ("edge_removed", "B", "escalates"),
    ]
    .map(|(k, a, r)| (k.to_string(), a.to_string(), r.to_string()));
    assert_eq!(got, want);
    assert_consistent(&app, "an import changing an action's answers").await;
}

#[tokio::test]
async fn a_changed_line_that_drops_every_answer_leaves_its_episode_and_keeps_its_lists() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = id_of(
        &app.action(json!({"title": "A", "announced_on": "2020-01-01"}))
            .await,
    );
    let b = id_of(
        &app.action(json!({"title": "B", "announced_on": "2020-01-15"}))
            .await,
    );
    let mut line = json!({"title": "X", "initiator": "CHN", "target": "USA",
        "type": "asset_freeze", "status": "in_force", "announced_on": "2020-02-01",
        "designations": [{"actor": "us-treasury", "listed_on": "2020-02-02"}],
        "sources": [{"url": "https://example.org/x", "publisher": "Example"}],
        "responds_to": [{"action": a, "relation": "retaliates"},
                        {"action": b, "relation": "escalates"}]});
    let x = id_of(&app.action(line.clone()).await);
    assert_eq!(chain_ids(&app, &a).await.len(), 3);
    let before_doc = app.get(&format!("/v1/actions/{x}")).await.body;
    let (_, before) = drain(&app, "0", "", 100).await;

    line["id"] = json!(x);
    line["title"] = json!("X, revised");
    line["responds_to"] = json!([]);
    let job = import(&app, "", ndjson(&[line])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");

    let now = app.get(&format!("/v1/actions/{x}")).await.body;
    assert_eq!(now["title"], "X, revised");
    assert_eq!(now["responds_to"], json!([]), "{now}");
    assert_eq!(now["designations"], before_doc["designations"]);
    assert_eq!(now["sources"], before_doc["sources"]);
    // Each of the three is an episode of its own again.
    for id in [&a, &b, &x] {
        assert_eq!(chain_ids(&app, id).await, BTreeSet::from([id.clone()]));
    }
    // The feed: both answers removed, nothing added back.
    let (edges, _) = drain(&app, &before, "&entity=response", 100).await;
    let mut got: Vec<(&str, &str, &str)> = edges
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                if e["answers"] == json!(a) { "A" } else { "B" },
                e["relation"].as_str().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("edge_removed", "A", "retaliates"),
            ("edge_removed", "B", "escalates")
        ]
    );
    assert_consistent(&app, "an import dropping every answer of an action").await;
}

/// An import changing the date and severity of stored actions that stored actions answer
/// (the answers not in the file) leaves every answer fact and analysis count as a
/// recomputation finds them: whether an answer escalates depends on what it answers. The
/// facts of the changed actions and of their neighbours are refreshed by the import in one
/// call (migration 000030), not by a trigger call per row.
#[tokio::test]
async fn an_import_moving_stored_actions_keeps_their_neighbours_facts() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let freeze = id_of(
        &app.action(json!({"announced_on": "2020-07-09", "severity": -8.0}))
            .await,
    );
    let answer = |to: &str, on: &str, severity: f64| {
        json!({"initiator": "CHN", "target": "USA", "type": "asset_freeze",
               "announced_on": on, "severity": severity,
               "responds_to": [{"action": to, "relation": "retaliates"}]})
    };
    let reply = id_of(&app.action(answer(&freeze, "2020-07-10", -5.0)).await);
    for (i, severity) in [-9.0, -2.0, -6.0].into_iter().enumerate() {
        let on = format!("2020-07-{}", 11 + i);
        app.action(answer(&reply, &on, severity)).await;
    }
    let export = app.get("/v1/actions/export").await;
    export.assert_status(200);
    let mut lines: Vec<Value> = export
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|d: &Value| d["id"] == freeze.as_str())
        .collect();
    assert_eq!(lines.len(), 1);
    lines[0]["severity"] = json!(-2.0);
    lines[0]["announced_on"] = json!("2020-07-08");
    let job = import(&app, "", ndjson(&lines)).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    assert_consistent(&app, "an import moving a stored action").await;
    super::aggregates::assert_aggregates(&app, "an import moving a stored action").await;
    // And one whose answers' answers are stored too.
    let reply_line = app.get(&format!("/v1/actions/{reply}")).await;
    let mut line = reply_line.body.clone();
    line["severity"] = json!(-1.0);
    let job = import(&app, "", ndjson(&[line])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    assert_consistent(&app, "an import moving an answered answer").await;
    super::aggregates::assert_aggregates(&app, "an import moving an answered answer").await;
}

#[tokio::test]
async fn a_changed_line_replaces_lists_and_appends_its_status_and_a_deleted_action_is_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let stored = app
        .action(
            json!({"title": "Freeze", "status": "announced", "announced_on": "2020-07-09",
            "designations": [{"actor": "chen-quanguo"}]}),
        )
        .await;
    let id = id_of(&stored);
    let line = json!({"id": id, "title": "Freeze", "initiator": "USA", "target": "CHN",
        "type": "asset_freeze", "status": "in_force", "announced_on": "2020-07-09",
        "effective_from": "2020-07-10", "designations": [{"actor": "xinjiang-psb"}]});
    let job = import(&app, "", ndjson(std::slice::from_ref(&line))).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    let now = app.get(&format!("/v1/actions/{id}")).await.body;
    assert_eq!(now["status"], "in_force");
    assert_eq!(now["designations"].as_array().unwrap().len(), 1);
    assert_eq!(now["designations"][0]["actor"]["code"], "xinjiang-psb");
    let history = app.get(&format!("/v1/actions/{id}/history")).await.body;
    let statuses: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["announced", "in_force"], "{history}");
    assert_consistent(&app, "an import updating an action").await;

    // Changed again, title only: each list is left as it is, or replaced where it changed.
    let mut retitled = line.clone();
    retitled["title"] = json!("Freeze, revised");
    retitled["sources"] = json!([{"url": "https://example.org/freeze"}]);
    let job = import(&app, "", ndjson(&[retitled])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    let now = app.get(&format!("/v1/actions/{id}")).await.body;
    assert_eq!(now["title"], "Freeze, revised");
    let designations = now["designations"].as_array().unwrap();
    assert_eq!(designations.len(), 1, "{now}");
    assert_eq!(designations[0]["actor"]["code"], "xinjiang-psb");
    let sources = now["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{now}");
    assert_eq!(sources[0]["url"], "https://example.org/freeze");

    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_status(204);
    let job = import(&app, "", ndjson(&[line])).await;
    assert_eq!(job["state"], "failed");
    let message = job["rejected_lines"][0]["errors"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("is deleted; restore it"), "{job}");
}

#[tokio::test]
async fn two_lines_that_reach_one_stored_action_by_id_and_by_external_id_are_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let job = import(
        &app,
        "",
        ndjson(&[action("Stored", "d1", "2020-07-09", json!([]))]),
    )
    .await;
    assert_eq!(counts(&job), [1, 1, 0, 0, 0], "{job}");
    let stored = app.get("/v1/actions?q=Stored").await.body["items"][0].clone();
    let id = stored["id"].as_str().unwrap().to_string();

    let mut by_id = action("Second title", "d1", "2020-07-09", json!([]));
    by_id["id"] = json!(id);
    by_id.as_object_mut().unwrap().remove("external_id");
    by_id.as_object_mut().unwrap().remove("source_dataset");
    let file = ndjson(&[action("First title", "d1", "2020-07-09", json!([])), by_id]);
    let job = import(&app, "", file).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(counts(&job), [2, 0, 0, 0, 1], "{job}");
    let rejected = &job["rejected_lines"][0];
    assert_eq!(rejected["line"], 2, "{job}");
    assert_eq!(rejected["errors"][0]["field"], "id", "{job}");
    assert_eq!(
        rejected["errors"][0]["message"],
        format!("line 1 addresses the same action ({id})"),
        "{job}"
    );
    let after = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(after.body["title"], "Stored");
    assert_eq!(after.body["version"], stored["version"]);
}

#[tokio::test]
async fn answers_that_close_a_cycle_through_stored_actions_are_rejected() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    // Stored: Y answers X.
    let file = ndjson(&[
        action("X", "x", "2020-07-09", json!([])),
        action(
            "Y",
            "y",
            "2020-07-09",
            json!([{"action": "x", "relation": "retaliates"}]),
        ),
    ]);
    assert_eq!(counts(&import(&app, "", file).await), [2, 2, 0, 0, 0]);

    // X would answer a new B, which answers Y: X -> B -> Y -> X.
    let cycle = ndjson(&[
        action(
            "X",
            "x",
            "2020-07-09",
            json!([{"action": "b", "relation": "retaliates"}]),
        ),
        action(
            "B",
            "b",
            "2020-07-09",
            json!([{"action": "y", "relation": "retaliates"}]),
        ),
    ]);
    let job = import(&app, "?partial=true", cycle).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 2], "{job}");
    for (i, line) in [1, 2].iter().enumerate() {
        assert_eq!(job["rejected_lines"][i]["line"], *line, "{job}");
        assert_eq!(
            job["rejected_lines"][i]["errors"][0]["field"], "responds_to",
            "{job}"
        );
    }
    // The same cycle through a stored action that answers the changed one directly.
    let direct = ndjson(&[action(
        "X",
        "x",
        "2020-07-09",
        json!([{"action": "y", "relation": "retaliates"}]),
    )]);
    let job = import(&app, "", direct).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["field"],
        "responds_to"
    );

    // Not a cycle: the file takes Y's answer to X away while X answers Y.
    let turned = ndjson(&[
        action("Y", "y", "2020-07-09", json!([])),
        action(
            "X",
            "x",
            "2020-07-09",
            json!([{"action": "y", "relation": "retaliates"}]),
        ),
    ]);
    let job = import(&app, "", turned).await;
    assert_eq!(counts(&job), [2, 0, 2, 0, 0], "{job}");
    let all = app.get("/v1/actions?limit=10").await.body;
    let x = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "X")
        .expect("X is stored")["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&format!("/v1/actions/{x}/chain"))
        .await
        .assert_status(200);
    assert_consistent(&app, "answers turned around by an import").await;
}

#[tokio::test]
async fn the_same_file_imported_twice_at_once_is_stored_once() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let lines: Vec<Value> = (0..2000)
        .map(|i| {
            action(
                &format!("Twice {i}"),
                &format!("t{i}"),
                "2020-07-09",
                json!([]),
            )
        })
        .collect();
    let file = ndjson(&lines);
    let (a, b) = tokio::join!(
        import(&app, "", file.clone()),
        import(&app, "", file.clone())
    );
    let mut both = [counts(&a), counts(&b)];
    both.sort();
    assert_eq!(
        both,
        [[2000, 0, 0, 2000, 0], [2000, 2000, 0, 0, 0]],
        "{a}\n{b}"
    );
    assert_eq!(total_actions(&app).await, 2000);
}

/// The same with an actor line that creates the state the actions name: the second import
/// waits for the first before reading actors, so it finds the state stored and the actions
/// unchanged (it was told "conflicts with a stored one" and rejected every line).
#[tokio::test]
async fn the_same_file_with_a_new_state_imported_twice_at_once_is_stored_once() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut lines = vec![json!({"actor": {"code": "NZL", "name": "New Zealand", "kind": "state"}})];
    lines.extend((0..2000).map(|i| {
        let mut line = action(
            &format!("Kiwi {i}"),
            &format!("k{i}"),
            "2020-07-09",
            json!([]),
        );
        line["initiator"] = json!("NZL");
        line
    }));
    let file = ndjson(&lines);
    let (a, b) = tokio::join!(
        import(&app, "", file.clone()),
        import(&app, "", file.clone())
    );
    for job in [&a, &b] {
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    let mut both = [counts(&a), counts(&b)];
    both.sort();
    assert_eq!(
        both,
        [[2001, 0, 0, 2000, 0], [2001, 2000, 0, 0, 0]],
        "{a}\n{b}"
    );
    let created: Vec<&Value> = [&a, &b]
        .iter()
        .map(|j| &j["counts"]["actors_created"])
        .collect();
    let mut created: Vec<i64> = created.iter().map(|c| c.as_i64().unwrap()).collect();
    created.sort();
    assert_eq!(created, [0, 1]);
    assert_eq!(total_actions(&app).await, 2000);
}

/// A message quoting a NUL of the line (jsonb holds none) rejects that line only; it was the
/// whole import's failure ("staging the lines failed"), good lines and all.
#[tokio::test]
async fn a_line_whose_fault_quotes_a_nul_is_rejected_alone() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut bad_type = action("NUL type", "n1", "2021-03-01", json!([]));
    bad_type["type"] = json!("acc\u{0}use");
    let mut bad_field = action("NUL field", "n2", "2021-03-01", json!([]));
    bad_field["x\u{0}y"] = json!(1);
    let lines = [
        action("Good", "n0", "2021-03-01", json!([])),
        bad_type,
        bad_field,
        json!({"actor": {"code": "NZL", "name": "New Zealand", "kind": "sta\u{0}te"}}),
    ];
    let job = import(&app, "?partial=true", ndjson(&lines)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job)[1], 1, "{job}");
    let rejected = job["rejected_lines"].as_array().unwrap();
    let lines: Vec<i64> = rejected
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4], "{job}");
    assert!(
        rejected[0]["errors"].to_string().contains("acc\u{2400}use"),
        "the message shows where the NUL was: {job}"
    );
}

#[tokio::test]
async fn a_gdelt_record_naming_a_deleted_state_is_one_rejected_record() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.actor(json!({"code": "IRN", "name": "Iran", "kind": "state"}))
        .await;
    app.delete("/v1/actors/IRN").await.assert_status(204);
    // USA -> IRN, then CHN -> USA.
    let fixture = include_str!("../fixtures/gdelt-sample.export.CSV");
    let file: String = fixture.lines().take(2).map(|l| format!("{l}\n")).collect();
    assert!(file.starts_with("1187254401\t") && file.contains("\tIRN\t"));

    let job = import(&app, "?format=gdelt", file.clone().into_bytes()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["rejected_lines"][0]["line"], 1, "{job}");
    assert_eq!(total_actions(&app).await, 0);

    let job = import(&app, "?format=gdelt&partial=true", file.into_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job)[1..], [1, 0, 0, 1], "{job}");
    assert_eq!(job["rejected_lines"][0]["line"], 1, "{job}");
    assert_eq!(total_actions(&app).await, 1);
}

/// A GDELT row without a SOURCEURL ends in a tab: its states are created as for any other
/// row (the actor pass trimmed that tab away, read 60 columns and created none, so the row
/// was rejected for naming unknown states).
#[tokio::test]
async fn a_gdelt_row_without_a_source_url_creates_its_states() {
    let app = TestApp::spawn().await;
    let fixture = include_str!("../fixtures/gdelt-sample.export.CSV");
    let row = fixture.lines().nth(1).unwrap();
    let mut columns: Vec<&str> = row.split('\t').collect();
    assert_eq!((columns.len(), columns[7], columns[17]), (61, "CHN", "USA"));
    columns[60] = "";
    let job = import(
        &app,
        "?format=gdelt",
        format!("{}\n", columns.join("\t")).into_bytes(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        (counts(&job)[1], &job["counts"]["actors_created"]),
        (1, &json!(2)),
        "{job}"
    );
}

/// With `partial`, a stored action moved later than a stored answer to it is refused when
/// that answer's own line is rejected: the answer stays as stored, earlier than what it
/// would answer. (Only the answer's line was checked; once rejected, nothing looked again.)
#[tokio::test]
async fn a_move_past_an_answer_whose_line_is_rejected_is_rejected_too() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let answer = |on: &str, extra: Value| {
        let mut refs = vec![json!({"action": "x", "relation": "retaliates"})];
        refs.extend(extra.as_array().cloned().unwrap_or_default());
        action("Y", "y", on, Value::Array(refs))
    };
    let first = [
        action("X", "x", "2020-01-10", json!([])),
        answer("2020-01-15", json!([])),
    ];
    let job = import(&app, "", ndjson(&first)).await;
    assert_eq!(counts(&job)[1], 2, "{job}");

    let moved = [
        action("X", "x", "2020-01-20", json!([])),
        answer(
            "2020-01-25",
            json!([{"action": "nonexistent", "relation": "retaliates"}]),
        ),
    ];
    let job = import(&app, "?partial=true", ndjson(&moved)).await;
    let rejected: Vec<(i64, String)> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["errors"][0]["field"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (1, "announced_on".to_string()),
            (2, "responds_to[1].action".to_string())
        ],
        "{job}"
    );
    let all = app.get("/v1/actions?sort=-announced_on").await;
    let days: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["announced_on"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2020-01-15", "2020-01-10"], "nothing moved");
}

/// A changed status is appended on the day the line's history ends on, else its
/// announced_on; as in the API, a day before the last recorded change is refused (it was
/// appended, and the history no longer ended on the current status).
#[tokio::test]
async fn a_status_change_dated_before_the_last_recorded_one_is_rejected() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let line = |status: &str, history: Value| {
        let mut l = action("H", "h", "2021-10-01", json!([]));
        l["status"] = json!(status);
        if !history.is_null() {
            l["status_history"] = history;
        }
        l
    };
    let job = import(
        &app,
        "",
        ndjson(&[line(
            "in_force",
            json!([
        {"status": "announced", "on": "2021-10-01"}, {"status": "in_force", "on": "2021-10-15"}]),
        )]),
    )
    .await;
    assert_eq!(counts(&job)[1], 1, "{job}");
    let job = import(
        &app,
        "",
        ndjson(&[line(
            "lifted",
            json!([
        {"status": "lifted", "on": "2021-12-01"}]),
        )]),
    )
    .await;
    assert_eq!(counts(&job)[2], 1, "{job}");

    let job = import(&app, "", ndjson(&[line("in_force", Value::Null)])).await;
    assert_eq!(job["state"], "failed", "{job}");
    let fault = &job["rejected_lines"][0]["errors"][0];
    assert_eq!(fault["field"], "status_history", "{job}");
    assert!(
        fault["message"]
            .as_str()
            .unwrap()
            .contains("(`lifted`, 2021-12-01)"),
        "{job}"
    );
    let id = app.get("/v1/actions?q=H").await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let history = app.get(&format!("/v1/actions/{id}/history")).await;
    let statuses: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["announced", "in_force", "lifted"],
        "{}",
        history.text
    );
}

/// A line answering a deleted stored action, by id or by external id, is told it is deleted,
/// in the API's words (it was told no such action existed).
#[tokio::test]
async fn an_answer_to_a_deleted_action_says_it_is_deleted() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let job = import(
        &app,
        "",
        ndjson(&[action("Gone", "gone", "2020-01-01", json!([]))]),
    )
    .await;
    assert_eq!(counts(&job)[1], 1, "{job}");
    let id = app.get("/v1/actions").await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_status(204);
    let api = app
        .post(
            "/v1/actions",
            &action_body(json!({"responds_to": [{"action": id, "relation": "retaliates"}]})),
        )
        .await;
    api.assert_status(422);
    let lines = [
        action(
            "By id",
            "a1",
            "2020-02-01",
            json!([{"action": id, "relation": "retaliates"}]),
        ),
        action(
            "By external id",
            "a2",
            "2020-02-01",
            json!([{"action": "gone", "relation": "retaliates"}]),
        ),
    ];
    let job = import(&app, "?partial=true", ndjson(&lines)).await;
    let messages: Vec<&Value> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["errors"][0]["message"])
        .collect();
    assert_eq!(messages.len(), 2, "{job}");
    for m in messages {
        assert_eq!(m, &api.body["errors"][0]["message"], "{job}");
    }
}

/// A line that gives a key twice is rejected saying so: serde_json kept the last value
/// silently, and the line was stored with half of what it said.
#[tokio::test]
async fn a_line_giving_a_key_twice_is_rejected() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let good = action("Good", "k-1", "2020-07-09", json!([]));
    let mut file = ndjson(&[good]);
    file.extend_from_slice(
        br#"{"title": "Twice", "title": "Again", "initiator": "USA", "target": "CHN", "type": "asset_freeze", "status": "in_force", "announced_on": "2020-07-09"}"#,
    );
    file.push(b'\n');
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(counts(&job), [2, 1, 0, 0, 1], "{job}");
    let rejected = &job["rejected_lines"][0];
    assert_eq!(rejected["line"], 2, "{job}");
    assert!(
        rejected["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the key `title` is given twice"),
        "{job}"
    );
}

/// A line that is not JSON is told where, by its column (a line cut short said "at line 2
/// column 0" of a line 13), and a file of another format is told which it looks like: a
/// GDELT export sent as NDJSON, a gzip file sent without its Content-Encoding.
#[tokio::test]
async fn a_line_that_is_not_json_says_where_and_what_the_file_looks_like() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut file = ndjson(&[action("Good", "j-1", "2020-07-09", json!([]))]);
    file.extend_from_slice(b"{\"title\": \"Cut short\"\n");
    file.extend_from_slice(b"{\"title\": \"Bad\" \"x\"}\n");
    let gdelt = std::fs::read_to_string("tests/fixtures/gdelt-sample.export.CSV").unwrap();
    file.extend_from_slice(gdelt.lines().next().unwrap().as_bytes());
    file.push(b'\n');
    let job = import(&app, "?partial=true", file).await;
    let messages: Vec<(i64, String)> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let m = &l["errors"][0];
            assert_eq!(m["field"], "line", "{job}");
            (
                l["line"].as_i64().unwrap(),
                m["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        messages[..2],
        [
            (
                2,
                "not valid JSON: EOF while parsing an object (the line ends before it does)"
                    .to_string()
            ),
            (
                3,
                "not valid JSON: expected `,` or `}` at column 17".to_string()
            ),
        ],
        "{job}"
    );
    assert_eq!(messages[2].0, 4, "{job}");
    assert!(
        messages[2]
            .1
            .ends_with("the line is tab-separated: is this a GDELT export (format `gdelt`)?"),
        "{job}"
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gz,
        &ndjson(&[action("Zipped", "j-2", "2020-07-09", json!([]))]),
    )
    .unwrap();
    let job = import(&app, "", gz.finish().unwrap()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["message"],
        "not valid JSON: the file is gzip-compressed; decompress it, or upload it with \
         `Content-Encoding: gzip`",
        "{job}"
    );
}

/// The graph rules the import checks in SQL tell each line what the API tells a POST of it:
/// an answer to a later action, to no action, to one action twice, an earlier date than a
/// stored answer.
#[tokio::test]
async fn the_imports_graph_faults_read_as_the_apis() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let later = id_of(
        &app.action(json!({"title": "Later", "announced_on": "2020-03-01"}))
            .await,
    );
    let earlier = id_of(
        &app.action(json!({"title": "Earlier", "announced_on": "2020-02-01"}))
            .await,
    );
    app.action(json!({"title": "Answer", "announced_on": "2020-02-10",
                      "responds_to": [{"action": earlier, "relation": "retaliates"}]}))
        .await;
    let nowhere = "0191c7a0-0000-7000-8000-000000000001";
    let answering = |targets: &[&str]| {
        json!(targets
            .iter()
            .map(|t| json!({"action": t, "relation": "retaliates"}))
            .collect::<Vec<_>>())
    };
    let cases = [
        (
            json!({"announced_on": "2020-01-01", "responds_to": answering(&[&later])}),
            None,
        ),
        (json!({"responds_to": answering(&[nowhere])}), None),
        (
            json!({"responds_to": answering(&[&earlier, &earlier])}),
            None,
        ),
        (json!({"announced_on": "2020-02-20"}), Some(earlier.clone())),
    ];
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for (i, (fields, stored)) in cases.into_iter().enumerate() {
        let body = action_body(fields);
        let api = match &stored {
            Some(id) => {
                app.patch(
                    &format!("/v1/actions/{id}"),
                    &json!({"announced_on": body["announced_on"]}),
                )
                .await
            }
            None => app.post("/v1/actions", &body).await,
        };
        api.assert_status(422);
        let mut line = body.clone();
        line["external_id"] = json!(format!("case-{i}"));
        if let Some(id) = &stored {
            let mut doc = app.get(&format!("/v1/actions/{id}")).await.body;
            doc["announced_on"] = body["announced_on"].clone();
            line = doc;
        }
        lines.push(line);
        let mut message = api.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        // The import adds where it looked, and the likely cause (a filtered export).
        if i == 1 {
            message.push_str(
                ", stored or in this file (an export filtered by date, dyad or type leaves out \
                 the actions its actions answer: import those first, or give this answer up)",
            );
        }
        expected.push((
            i as i64 + 1,
            api.body["errors"][0]["field"].clone(),
            json!(message),
        ));
    }
    let job = import(&app, "?partial=true", ndjson(&lines)).await;
    let got: Vec<(i64, Value, Value)> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["errors"][0]["field"].clone(),
                r["errors"][0]["message"].clone(),
            )
        })
        .collect();
    assert_eq!(got, expected, "{job}");
}

/// An export with `show_deleted=true` imports back into the same database as it is: a
/// deleted action's document stands for that deleted action, unchanged. It neither brings
/// the action back nor creates a deleted one elsewhere.
#[tokio::test]
async fn deleted_actions_of_an_export_stay_as_they_are() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.action(json!({"title": "Kept", "announced_on": "2020-07-09"}))
        .await;
    let gone = app
        .action(json!({"title": "Gone", "announced_on": "2020-07-10"}))
        .await;
    let gone_id = id_of(&gone);
    app.delete(&format!("/v1/actions/{gone_id}"))
        .await
        .assert_status(204);
    let export = exported(&app, "?show_deleted=true").await;
    assert_eq!(export.iter().filter(|b| **b == b'\n').count(), 2);
    let deleted = app
        .get(&format!("/v1/actions/{gone_id}?show_deleted=true"))
        .await
        .body;

    let job = import(&app, "", export.clone()).await;
    assert_eq!(counts(&job), [2, 0, 0, 2, 0], "{job}");
    app.get(&format!("/v1/actions/{gone_id}"))
        .await
        .assert_status(404);
    let shown = app
        .get(&format!("/v1/actions/{gone_id}?show_deleted=true"))
        .await;
    assert_eq!(shown.body, deleted);
    // No line can answer it, and the line that tries is told why.
    let answer = action(
        "Answer",
        "ans-1",
        "2020-08-01",
        json!([{"action": gone_id, "relation": "retaliates"}]),
    );
    let job = import(&app, "?partial=true", ndjson(&[deleted.clone(), answer])).await;
    assert_eq!(counts(&job), [2, 0, 0, 1, 1], "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["message"],
        "line 1 is a deleted action's document; a deleted action cannot be answered",
        "{job}"
    );

    // Elsewhere the deleted document is a rejected line, not a live action.
    let other = TestApp::spawn().await;
    other.with_basics().await;
    let job = import(&other, "?partial=true", export).await;
    assert_eq!(counts(&job), [2, 1, 0, 0, 1], "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["field"], "deleted_at",
        "{job}"
    );
    other
        .get(&format!("/v1/actions/{gone_id}"))
        .await
        .assert_status(404);
}

/// A rejected line lists what `POST /v1/actions` lists for the same body: the rules that need
/// stored actors and types as well as the others.
#[tokio::test]
async fn a_rejected_line_has_the_apis_messages_and_escaped_actor_lines_are_not_lost() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let body = json!({"title": "", "initiator": "ZZZ", "target": "CHN", "type": "no_such_type",
                      "status": "in_force", "announced_on": "2020-07-09", "severity": 99,
                      "sources": [{"url": "nope"}], "designations": [{"actor": "nobody"}]});
    let api = app.post("/v1/actions", &body).await;
    api.assert_status(422);
    let pairs = |errors: &Value| -> BTreeSet<(String, String)> {
        errors
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["field"].to_string(), e["message"].to_string()))
            .collect()
    };
    let expected = pairs(&api.body["errors"]);
    assert!(
        expected.iter().any(|(f, _)| f == "\"type\"")
            && expected.iter().any(|(f, _)| f == "\"title\""),
        "{expected:?}"
    );

    let mut file =
        b"{\"\\u0061ctor\": {\"code\": \"FRA\", \"name\": \"France\", \"kind\": \"state\"}}\n"
            .to_vec();
    file.extend_from_slice(&ndjson(&[body]));
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 2], "{job}");
    assert_eq!(job["rejected_lines"][0]["line"], 1, "{job}");
    assert_eq!(job["rejected_lines"][0]["errors"][0]["field"], "actor");
    assert_eq!(job["rejected_lines"][1]["line"], 2, "{job}");
    assert_eq!(pairs(&job["rejected_lines"][1]["errors"]), expected);
}

#[tokio::test]
async fn a_byte_order_mark_before_the_first_line_is_not_part_of_it() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(&ndjson(&[
        action("With a BOM", "bom-1", "2020-07-09", json!([])),
        action("After it", "bom-2", "2020-07-10", json!([])),
    ]));
    let job = import(&app, "", file).await;
    assert_eq!(counts(&job), [2, 2, 0, 0, 0], "{job}");
}

/// The PLOVER gold-standard file, beside the checkout (`../shared`, as in CI).
fn plover_gold_standard() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/plover-gsr-cameo.json"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The gold-standard file as it is (one pretty-printed JSON array) with one record's syntax
/// broken in the middle: with `partial` that record alone is rejected, with its line, and
/// every other is read and stored as from the intact file; without, nothing is stored.
#[tokio::test]
async fn a_broken_record_of_a_plover_array_is_rejected_alone() {
    let app = TestApp::spawn().await;
    let gold = plover_gold_standard();
    let intact = import(
        &app,
        "?format=plover&partial=true",
        gold.clone().into_bytes(),
    )
    .await;
    assert_eq!(intact["state"], "succeeded", "{intact}");
    let stored = total_actions(&app).await;
    assert!(stored > 10, "{intact}");

    // Record 11's first `"event": ` loses its colon; the line it is on is where it breaks.
    let start = gold.match_indices("\n{").nth(10).unwrap().0;
    let colon = start + gold[start..].find("\"event\":").unwrap() + "\"event\"".len();
    let line = gold[..colon].matches('\n').count() + 1;
    let mut broken = gold.clone();
    broken.remove(colon);
    let app = TestApp::spawn().await;
    let job = import(&app, "?format=plover", broken.clone().into_bytes()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(total_actions(&app).await, 0);

    let job = import(&app, "?format=plover&partial=true", broken.into_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        counts(&job)[0],
        counts(&intact)[0],
        "every record read: {job}"
    );
    let rejected: Vec<&Value> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["errors"][0]["field"] == "record")
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["line"], 11);
    let message = rejected[0]["errors"][0]["message"].as_str().unwrap();
    // Its number is the entry's `line`, not said again ("JSON syntax error in record 11").
    assert!(
        message.starts_with(&format!(
            "JSON syntax error: expected `:` at line {line} column "
        )),
        "{message}"
    );
    // The broken record may or may not have made an action; every other one did.
    let now = total_actions(&app).await;
    assert!(now == stored || now == stored - 1, "{now} of {stored}");
    assert_eq!(now, counts(&job)[1]);
}

/// A PLOVER record over 1 MiB is one rejected record, and the records after it are read and
/// stored with `partial`: it stopped the import, whose failed job said `read: 0`.
#[tokio::test]
async fn a_plover_record_over_the_bound_is_rejected_alone() {
    let app = TestApp::spawn().await;
    let record = |id: &str, text: &str| {
        json!({"id": id, "date": "2022-03-01", "event": "SANCTION", "context": "economic",
               "source": [{"code": "USA", "sector": "GOV"}], "target": [{"code": "VUT"}],
               "text": text})
    };
    let big = "x".repeat(riposte::limits::MAX_IMPORT_LINE_BYTES);
    let file = serde_json::to_vec_pretty(&json!([
        record("p-1", "first"),
        record("p-2", &big),
        record("p-3", "third")
    ]))
    .unwrap();
    let job = import(&app, "?format=plover", file.clone()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(counts(&job)[0], 3, "every record read: {job}");
    assert_eq!(total_actions(&app).await, 0);

    let job = import(&app, "?format=plover&partial=true", file).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["rejected_lines"].as_array().unwrap().len(), 1, "{job}");
    assert_eq!(job["rejected_lines"][0]["line"], 2, "{job}");
    assert_eq!(
        job["rejected_lines"][0]["errors"][0],
        json!({"field": "record",
               "message": "longer than 1048576 bytes, the most one record may take"})
    );
    assert_eq!(total_actions(&app).await, 2);
}

/// PLOVER records one per line (as POLECAT ships them), one line cut short in the middle of
/// the file and the last one truncated, as a broken download leaves it: with `partial`
/// those two are rejected with their position and every other record is read; without, nothing
/// is stored.
#[tokio::test]
async fn broken_lines_of_a_plover_ndjson_file_are_rejected_one_by_one() {
    let app = TestApp::spawn().await;
    let gold = plover_gold_standard();
    let records: Vec<Value> = serde_json::from_str(&gold).unwrap();
    let mut lines: Vec<String> = records.iter().map(Value::to_string).collect();
    let cut = |line: &str| line[..line.len() / 2].to_string();
    lines[10] = cut(&lines[10]);
    let last = lines.len() - 1;
    lines[last] = cut(&lines[last]);
    let file = lines.join("\n").into_bytes();

    let job = import(&app, "?format=plover", file.clone()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(total_actions(&app).await, 0);

    let job = import(&app, "?format=plover&partial=true", file).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job)[0], records.len() as i64, "every record read");
    assert!(counts(&job)[1] > 10, "{job}");
    let broken: Vec<(i64, String)> = job["rejected_lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["errors"][0]["field"] == "record")
        .map(|r| {
            let message = r["errors"][0]["message"].as_str().unwrap().to_string();
            (r["line"].as_i64().unwrap(), message)
        })
        .collect();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert_eq!(broken[0].0, 11);
    assert!(
        broken[0].1.contains("not closed before line 12"),
        "{broken:?}"
    );
    assert_eq!(broken[1].0, records.len() as i64);
    assert!(
        broken[1].1.contains("the file ends inside it"),
        "{broken:?}"
    );
    assert_eq!(
        total_actions(&app).await,
        counts(&job)[1],
        "the records around the broken ones are stored"
    );
}

/// A line answering a line rejected on its own (by its id or its external id) is told that
/// line was rejected: "no action with id ..." sent users looking for an action that is on
/// a line of their own file.
#[tokio::test]
async fn an_answer_to_a_rejected_line_names_that_line() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let id = "0193a1f0-0000-7000-8000-0000000000aa";
    let mut broken = action("Broken", "b-1", "2020-07-01", json!([]));
    broken["id"] = json!(id);
    broken["type"] = json!("no_such_type");
    let file = ndjson(&[
        action(
            "By id",
            "b-2",
            "2020-07-09",
            json!([{"action": id, "relation": "retaliates"}]),
        ),
        broken,
        action(
            "By external id",
            "b-3",
            "2020-07-10",
            json!([{"action": "b-1", "relation": "retaliates"}]),
        ),
        action(
            "Unknown",
            "b-4",
            "2020-07-11",
            json!([{"action": "b-9", "relation": "retaliates"}]),
        ),
        action(
            "Too early",
            "b-5",
            "2020-07-12",
            json!([{"action": "b-6", "relation": "retaliates"}]),
        ),
        action("Later", "b-6", "2020-07-13", json!([])),
        // An id neither stored nor in the file, as a filtered export's line may give.
        action(
            "Outside",
            "b-7",
            "2020-07-14",
            json!([{"action": "0193a1f0-0000-7000-8000-0000000000bb", "relation": "retaliates"}]),
        ),
    ]);
    for query in ["", "?partial=true"] {
        let job = import(&app, query, file.clone()).await;
        let rejected = job["rejected_lines"].as_array().unwrap();
        let message = |n: i64| {
            rejected.iter().find(|r| r["line"] == n).unwrap()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(message(1), "line 2, which this line answers, was rejected");
        assert!(message(2).contains("no_such_type"), "{}", message(2));
        assert_eq!(message(3), "line 2, which this line answers, was rejected");
        assert_eq!(
            message(4),
            "no action with external_id `b-9` in source_dataset `test`"
        );
        // An answer to a later line names that line.
        assert!(message(5).starts_with("line 6 (action "), "{}", message(5));
        assert!(
            message(7).starts_with(
                "no action with id 0193a1f0-0000-7000-8000-0000000000bb, stored or in this \
                 file (an export filtered"
            ),
            "{}",
            message(7)
        );
        let stored = if query.is_empty() { 0 } else { 1 };
        assert_eq!(total_actions(&app).await, stored);
    }
}

/// `"source_dataset": null` in an answer names an action stored without a dataset, from a
/// line of another: it was read as absent (the line's own dataset), and no line of a
/// dataset could answer an action of none by its external id.
#[tokio::test]
async fn an_answer_with_a_null_dataset_finds_an_action_of_none() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut plain = action("Of no dataset", "n-1", "2020-07-01", json!([]));
    plain.as_object_mut().unwrap().remove("source_dataset");
    let job = import(&app, "", ndjson(&[plain])).await;
    assert_eq!(job["counts"]["created"], 1, "{job}");
    let answer = |external: &str, target: &str| {
        action(
            "Answer",
            external,
            "2020-07-09",
            json!([{"action": target, "source_dataset": null, "relation": "retaliates"}]),
        )
    };
    let job = import(
        &app,
        "?partial=true",
        ndjson(&[answer("t-1", "n-1"), answer("t-2", "n-9")]),
    )
    .await;
    assert_eq!(job["counts"]["created"], 1, "{job}");
    let rejected = job["rejected_lines"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{job}");
    assert_eq!(rejected[0]["line"], 2);
    assert_eq!(
        rejected[0]["errors"][0]["message"],
        "no action with external_id `n-9`"
    );
    let found = app
        .get("/v1/actions?source_dataset=test&external_id=t-1")
        .await;
    found.assert_status(200);
    let answered = &found.body["items"][0]["responds_to"][0];
    let first = app.get("/v1/actions?external_id=n-1").await;
    assert_eq!(
        answered["action"], first.body["items"][0]["id"],
        "{answered}"
    );
}

/// A key the line format does not know is named with the keys it does, `id` among them (the
/// list was the API body's, which has no `id`: a line with `uuid` was told to drop it).
#[tokio::test]
async fn an_unknown_key_is_offered_the_lines_keys_with_id() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut line = action("Keyed", "k-1", "2020-07-01", json!([]));
    line["uuid"] = json!("0193a1f0-0000-7000-8000-0000000000ab");
    let job = import(&app, "", ndjson(&[line])).await;
    let error = &job["rejected_lines"][0]["errors"][0];
    assert_eq!(error["field"], "uuid", "{job}");
    let message = error["message"].as_str().unwrap();
    let offered: Vec<&str> = message
        .split_once("expected one of")
        .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    for key in [
        "id",
        "title",
        "responds_to",
        "external_id",
        "source_dataset",
    ] {
        assert!(offered.contains(&key), "{key} missing: {message}");
    }
}

/// A line that finds its action by `id` and names no external key keeps the stored one: it
/// was cleared, and re-importing the file that gave it created a second action (and moved
/// its answers to it). `"external_id": null` still removes it.
#[tokio::test]
async fn a_line_found_by_id_without_an_external_key_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let original = ndjson(&[action("UK sanctions", "uk-1", "2020-07-01", json!([]))]);
    let job = import(&app, "", original.clone()).await;
    assert_eq!(counts(&job), [1, 1, 0, 0, 0], "{job}");
    let stored = app
        .get("/v1/actions?external_id=uk-1&source_dataset=test")
        .await;
    let id = stored.body["items"][0]["id"].as_str().unwrap().to_string();

    let mut by_id =
        action_body(json!({"title": "UK sanctions, renamed", "announced_on": "2020-07-01"}));
    by_id["id"] = json!(id);
    let job = import(&app, "", ndjson(&[by_id.clone()])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    let after = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(after.body["title"], "UK sanctions, renamed");
    assert_eq!(after.body["external_id"], "uk-1", "{}", after.body);
    assert_eq!(after.body["source_dataset"], "test");

    let job = import(&app, "", original).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    assert_eq!(total_actions(&app).await, 1);

    by_id["external_id"] = Value::Null;
    let job = import(&app, "", ndjson(&[by_id])).await;
    assert_eq!(counts(&job), [1, 0, 1, 0, 0], "{job}");
    let cleared = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(cleared.body["external_id"], Value::Null, "{}", cleared.body);
    assert_eq!(cleared.body["source_dataset"], Value::Null);
}

/// The nil UUID marks the stored documents' pending flush: an action with it never got a
/// document, and the export and searches failed on it for everybody. It is refused.
#[tokio::test]
async fn the_nil_uuid_is_not_an_actions_id() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let mut nil = action("Nil", "n-1", "2021-09-01", json!([]));
    nil["id"] = json!("00000000-0000-0000-0000-000000000000");
    let file = ndjson(&[nil, action("Fine", "n-2", "2021-09-02", json!([]))]);
    let job = import(&app, "?partial=true", file).await;
    assert_eq!(counts(&job), [2, 1, 0, 0, 1]);
    let rejected = &job["rejected_lines"][0];
    assert_eq!(rejected["line"], 1);
    assert_eq!(rejected["errors"][0]["field"], "id");
    let (status, body) = {
        let resp = app.get("/v1/actions/export").await;
        (resp.status, resp.text)
    };
    assert_eq!(status, 200);
    assert_eq!(body.lines().count(), 1, "{body}");
    app.get("/v1/actions?q=fine").await.assert_status(200);
}

/// `finished_at` is when the job ended: it used to be the start of its transaction, before
/// any line was written.
#[tokio::test]
async fn a_jobs_finished_at_comes_after_what_it_wrote() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let job = import(
        &app,
        "",
        ndjson(&[action("Timed", "t-1", "2021-09-01", json!([]))]),
    )
    .await;
    assert_eq!(job["state"], "succeeded");
    let written = app.get("/v1/actions?limit=1").await.body["items"][0]["created_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let at = |k: &str| {
        job[k]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    assert!(at("started_at") <= written, "{job}");
    assert!(
        at("finished_at") > written,
        "{job} finished before {written}"
    );
}

/// A raw HTTP/1.1 request to the app; the status line and body of its answer.
async fn raw_request(app: &TestApp, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// gzip as tools write it: several members (`cat a.gz b.gz`, pigz, bgzip) are one file, and
/// `x-gzip` is gzip (RFC 9110). A broken body is a 400 that says what is wrong in words, and
/// a declared length over the limit is a 413 at once, before any byte of it is read.
#[tokio::test]
async fn gzip_uploads_of_several_members_are_read_whole_and_broken_bodies_said_plainly() {
    use std::io::Write;
    let app = TestApp::spawn_with(riposte::state::Config {
        max_import_bytes: 4096,
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let gz = |lines: &[Value]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&ndjson(lines)).unwrap();
        e.finish().unwrap()
    };
    let lines: Vec<Value> = (0..20)
        .map(|i| {
            action(
                &format!("M {i}"),
                &format!("m-{i}"),
                "2020-07-09",
                json!([]),
            )
        })
        .collect();
    let mut joined = gz(&lines[..10]);
    joined.extend(gz(&lines[10..]));
    let upload = |body: Vec<u8>, encoding: &'static str| upload_encoded(&app, body, encoding);
    let accepted = upload(joined.clone(), "gzip").await;
    accepted.assert_status(202);
    let job = wait(&app, &id_of(&accepted.body)).await;
    assert_eq!(counts(&job), [20, 20, 0, 0, 0], "{job}");
    let accepted = upload(gz(&lines[..3]), "x-gzip").await;
    accepted.assert_status(202);
    let job = wait(&app, &id_of(&accepted.body)).await;
    assert_eq!(counts(&job), [3, 0, 0, 3, 0], "{job}");

    let cut = joined[..joined.len() - 12].to_vec();
    let plain = ndjson(&lines[..2]);
    let mut padded = joined.clone();
    padded.extend([0u8; 4]);
    for (body, says) in [
        (cut, "cut short"),
        (plain, "not valid gzip"),
        (b"notgzip\n".to_vec(), "or is not gzip"),
        (padded, "padding?"),
    ] {
        let resp = upload(body, "gzip").await;
        resp.assert_problem(400, None);
        let detail = resp.body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
        assert!(
            !detail.contains("Some(") && !detail.contains("Custom"),
            "{detail}"
        );
    }

    let auth = format!("Authorization: Bearer {}\r\n", app.keys.write);
    let head = |length: u64| {
        format!(
            "POST /v1/imports HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/x-ndjson\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
    };
    let short = raw_request(&app, &head(1000), b"{\"title\": \"x\"}\n").await;
    assert!(short.starts_with("HTTP/1.1 400"), "{short}");
    assert!(short.contains("ended before all of it arrived"), "{short}");
    let huge = raw_request(&app, &head(3 << 30), b"").await;
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    // A compressed body's length is not the file's: 4,096 bytes stored uncompressed take
    // more than 4,096 sent, and are within the limit.
    let mut stored = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::none());
    stored.write_all(&[b'\n'; 4096]).unwrap();
    let stored = stored.finish().unwrap();
    assert!(stored.len() > 4096);
    upload(stored, "deflate").await.assert_status(202);
}

/// A deflate body that inflates far (a file of repeated lines) imports whatever the sizes of
/// the chunks it arrives in. The decoder may hand back output it held without taking any of
/// a new chunk; that was read as "the decoder made no progress" and the upload refused as
/// not valid deflate, depending on where the chunks broke.
#[tokio::test]
async fn deflate_bodies_decode_whatever_their_chunks() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let line = serde_json::to_vec(&action("Repeated", "r-1", "2020-07-09", json!([]))).unwrap();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut written = 0;
    while written < 2 << 20 {
        zlib.write_all(&line).unwrap();
        zlib.write_all(b"\n").unwrap();
        written += line.len() + 1;
    }
    let body = zlib.finish().unwrap();
    for chunk in [997, 4096, 16384] {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        let resp = app
            .client
            .post(format!("{}/v1/imports?partial=true", app.base))
            .bearer_auth(&app.keys.write)
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "deflate")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 202, "chunks of {chunk} bytes: {text}");
        let job = wait(&app, &id_of(&serde_json::from_str(&text).unwrap())).await;
        let read = (written / (line.len() + 1)) as i64;
        assert_eq!(
            job["counts"]["read"], read,
            "chunks of {chunk} bytes: {job}"
        );
    }
}

/// This process's peak and current resident memory (VmHWM, VmRSS), in bytes: the servers of
/// these tests run in it.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A compressed upload is decoded a bounded step at a time: a brotli bomb (1,617 bytes that
/// inflate to 1 GiB of newlines, `tests/fixtures/newlines-1gib.br`) is a 413 as soon as the
/// limit is passed, without what it inflates to ever being held in memory (actix's decoder
/// held it all: the process's peak grew by more than 1 GiB), and so is a deflate bomb. Broken
/// brotli is a 400 in words, and the server goes on importing.
#[tokio::test]
async fn compression_bombs_are_413_at_the_limit_and_never_inflate_in_memory() {
    use std::io::Write;
    let app = TestApp::spawn_with(riposte::state::Config {
        max_import_bytes: 1 << 20,
        rate_limits: Default::default(),
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let upload = |body: Vec<u8>, encoding: &'static str| upload_encoded(&app, body, encoding);

    let bomb = include_bytes!("../fixtures/newlines-1gib.br").to_vec();
    let (peak_before, rss_before) = memory();
    let resp = upload(bomb, "br").await;
    let (peak_after, _) = memory();
    resp.assert_problem(413, None);
    assert!(
        resp.body["detail"].as_str().unwrap().contains("1048576"),
        "{}",
        resp.text
    );
    let grown = peak_after.saturating_sub(rss_before);
    assert!(
        peak_after == peak_before || grown < 256 << 20,
        "the process's peak memory grew by {} MiB while a 1.6 kB brotli body was refused",
        grown >> 20
    );

    // deflate inflates at most about 1,000 times: 32 MiB of newlines in 32 kB.
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..32 {
        zlib.write_all(&[b'\n'; 1 << 20]).unwrap();
    }
    upload(zlib.finish().unwrap(), "deflate")
        .await
        .assert_problem(413, None);

    // The server goes on: a real file in brotli imports whole.
    let lines: Vec<Value> = (0..20)
        .map(|i| {
            action(
                &format!("B {i}"),
                &format!("b-{i}"),
                "2020-07-09",
                json!([]),
            )
        })
        .collect();
    let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
    br.write_all(&ndjson(&lines)).unwrap();
    let br = br.into_inner();
    let accepted = upload(br.clone(), "br").await;
    accepted.assert_status(202);
    let job = wait(&app, &id_of(&accepted.body)).await;
    assert_eq!(counts(&job), [20, 20, 0, 0, 0], "{job}");

    let mut trailing = br.clone();
    trailing.extend_from_slice(b"{}\n");
    for (body, says) in [
        (br[..br.len() - 4].to_vec(), "cut short"),
        (trailing, "goes on after the end"),
        (b"\xff\xff\xff\xff not brotli".to_vec(), "br (brotli)"),
    ] {
        let resp = upload(body, "br").await;
        resp.assert_problem(400, None);
        let detail = resp.body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
    }
}

/// An upload sent by hand: its head (a `Content-Length` of 100 MB), then `piece` every
/// `every`, until an answer comes or `for_at_most` has passed; the answer, or "" when none
/// came.
async fn dribble(
    app: &TestApp,
    key: &str,
    piece: &[u8],
    every: Duration,
    for_at_most: Duration,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 100000000\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let start = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < for_at_most {
        // The server may have answered and closed meanwhile.
        let _ = writer.write_all(piece).await;
        match tokio::time::timeout(every, reader.read(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(n)) if n > 0 => {
                answer.extend_from_slice(&buf[..n]);
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), reader.read_to_end(&mut answer))
                        .await;
                break;
            }
            Ok(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// An upload holds a slot of the import queue from its first byte to its job's end, so it
/// is bounded in time: one that falls behind the least rate (after its grace) or outlasts the
/// upload deadline is a 408 saying which, and gives its slot back. Until it was so, eight
/// uploads trickling a byte every few seconds (within the 10 s idle timer) kept every other
/// import at 503 for as long as they went on.
#[tokio::test]
async fn trickled_and_endless_uploads_are_408_and_give_their_slots_back() {
    let app = TestApp::spawn_with(riposte::state::Config {
        import_upload: riposte::state::ImportUpload {
            deadline: Duration::from_secs(4),
            min_rate: 1024,
            grace: Duration::from_secs(2),
        },
        rate_limits: Default::default(),
        ..Default::default()
    })
    .await;
    app.with_basics().await;
    let line = ndjson(&[action("Legit", "legit-1", "2020-07-09", json!([]))]);
    // Half the queue per key: the trickles come from two keys, the third finds it full.
    let third = app
        .as_admin(
            reqwest::Method::POST,
            "/v1/api-keys",
            Some(&json!({"name": "third", "scope": "write"})),
            &[],
        )
        .await;
    third.assert_status(201);
    let third = third.body["secret"].as_str().unwrap().to_string();

    // A byte every 250 ms: never 10 s without data, far below 1 KiB/s.
    let trickles = (0..riposte::limits::MAX_QUEUED_IMPORTS).map(|i| {
        let key = if i % 2 == 0 {
            &app.keys.write
        } else {
            &app.keys.admin
        };
        dribble(
            &app,
            key,
            b" ",
            Duration::from_millis(250),
            Duration::from_secs(8),
        )
    });
    let trickles = futures_util::future::join_all(trickles);
    let legit = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let full = post_as(&app, &third, line.clone()).await;
        assert_eq!(full.status().as_u16(), 503);
        let text = full.text().await.unwrap();
        assert!(text.contains("queued or running"), "{text}");
    };
    let (answers, ()) = tokio::join!(trickles, legit);
    for answer in answers {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("more slowly than 1 KiB/s"), "{answer}");
        assert!(answer.contains("after its first 2s"), "{answer}");
    }
    // Every slot is free again.
    let job = import(&app, "", line.clone()).await;
    assert_eq!(job["state"], "succeeded", "{job}");

    // Fast enough (8 KiB/s), but endless: the deadline ends it.
    let endless = dribble(
        &app,
        &app.keys.write,
        &[b'\n'; 1024],
        Duration::from_millis(125),
        Duration::from_secs(10),
    )
    .await;
    assert!(endless.starts_with("HTTP/1.1 408"), "{endless:?}");
    assert!(endless.contains("took longer than 4s"), "{endless}");
    let job = import(&app, "", line).await;
    assert_eq!(job["state"], "succeeded", "{job}");
}

/// An NDJSON import sent compressed with `encoding`.
async fn upload_encoded(app: &TestApp, body: Vec<u8>, encoding: &str) -> super::helpers::Resp {
    app.post_file(
        "/v1/imports",
        body,
        &[
            ("content-encoding", encoding),
            ("content-type", "application/x-ndjson"),
        ],
    )
    .await
}

/// An import sent with another key than the write key `post_raw` uses.
async fn post_as(app: &TestApp, key: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/imports", app.base))
        .bearer_auth(key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// One key holds at most half the import queue: an uploader that keeps reconnecting (each
/// upload within the rate bound) used to keep all eight places and every other client at
/// 503. Past its share a key gets a 429 with `Retry-After`; another key's import runs.
#[tokio::test]
async fn one_key_holds_at_most_half_the_import_queue() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let share = riposte::limits::MAX_QUEUED_IMPORTS_PER_KEY;
    assert!(share < riposte::limits::MAX_QUEUED_IMPORTS);
    // Fast enough never to be cut off within the test: 8 KiB every 100 ms.
    let uploads = (0..share).map(|_| {
        dribble(
            &app,
            &app.keys.write,
            &[b'\n'; 8192],
            Duration::from_millis(100),
            Duration::from_secs(6),
        )
    });
    let uploads = futures_util::future::join_all(uploads);
    let others = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let line = ndjson(&[action("Other", "other-1", "2020-07-09", json!([]))]);
        let refused = app.post_raw("/v1/imports", line.clone()).await;
        refused.assert_problem(429, None);
        assert!(refused.header("retry-after").is_some(), "{}", refused.text);
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("this API key has {share} imports")),
            "{detail}"
        );
        // Another key is not held back by it.
        let other = post_as(&app, &app.keys.admin, line).await;
        assert_eq!(other.status().as_u16(), 202);
        let job: Value = other.json().await.unwrap();
        let job = wait(&app, job["id"].as_str().unwrap()).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    };
    let (answers, ()) = tokio::join!(uploads, others);
    // The uploads were cut off by the test, not refused.
    for answer in &answers {
        assert!(!answer.starts_with("HTTP/1.1 4"), "{answer}");
    }
    // Their places are given back when they end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let line = ndjson(&[action("Again", "again-1", "2020-07-10", json!([]))]);
    let job = import(&app, "", line).await;
    assert_eq!(job["state"], "succeeded", "{job}");
}

async fn wait(app: &TestApp, id: &str) -> Value {
    for _ in 0..400 {
        let job = app.get(&format!("/v1/imports/{id}")).await.body;
        if job["state"] != "queued" && job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

/// A file with nothing to store is a failed job for the API as for the CLI (which exits 1):
/// only blank lines, or only records of another format.
#[tokio::test]
async fn a_file_with_nothing_to_store_is_a_failed_job() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let job = import(&app, "", b"\n   \n\n".to_vec()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"], "the file holds no lines: nothing was stored");
    let ndjson_line = ndjson(&[action("A", "w-1", "2020-07-09", json!([]))]);
    let job = import(&app, "?format=gdelt", ndjson_line).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .ends_with("Is this file in the `gdelt` format?"),
        "{job}"
    );
    assert_eq!(job["skipped"]["malformed_line"], 1, "{job}");
    // Why, and where: the first record of each reason.
    assert!(
        job["skipped_first"]["malformed_line"]
            .as_str()
            .unwrap()
            .starts_with("line 1: "),
        "{job}"
    );
    let wrapped = br#"{"meta": {"v": 1}, "events": [{"id": "1", "event": "THREATEN"}]}"#;
    let job = import(&app, "?format=plover", wrapped.to_vec()).await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("most as not_an_event (record 1: ") && error.contains("jq '.events[]'"),
        "{job}"
    );
    // A skip's detail quotes the record, and jsonb holds no NUL: it is replaced, not a
    // failure to record the job.
    let nul_date = br#"{"id": "n", "date": "2020\u0000", "event": "THREATEN"}"#;
    let job = import(&app, "?format=plover", nul_date.to_vec()).await;
    assert_eq!(job["skipped"]["bad_date"], 1, "{job}");
    assert!(
        job["skipped_first"]["bad_date"]
            .as_str()
            .unwrap()
            .contains("2020\u{2400}"),
        "{job}"
    );
    // With `partial`, a file of which no line was good stored nothing either: it answered
    // `succeeded` (an adversarial review).
    let broken = br#"[1, "x", null, true, {"id": "q"}]"#;
    let job = import(&app, "?format=plover&partial=true", broken.to_vec()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["error"], "nothing was stored: 4 record(s) rejected and 1 record(s) skipped, none good",
        "{job}"
    );
    // Nor did a record whose states were made before its action was refused.
    let long_id = json!([{"id": "y".repeat(250), "date": "2022-03-01", "event": "SANCTION",
        "context": "economic", "source": [{"code": "USA", "sector": "GOV"}],
        "target": [{"code": "VUT"}], "text": "t"}]);
    let job = import(
        &app,
        "?format=plover&partial=true",
        long_id.to_string().into_bytes(),
    )
    .await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["error"],
        "no action was stored: 1 record(s) rejected, none good; only the 1 state(s) their \
         records name were created",
        "{job}"
    );
    let bad = ndjson(&[action("B", "w-2", "2020-13-01", json!([]))]);
    let job = import(&app, "?partial=true", bad).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["error"],
        "nothing was stored: 1 line(s) rejected, none good"
    );
    assert_eq!(total_actions(&app).await, 0);
}

/// An export with `show_deleted=true` imports into its own database as it is, when one
/// deleted action answers another: deleted documents are never written, so their answers
/// are not checked (the answering one was refused for answering a deleted action).
#[tokio::test]
async fn deleted_actions_answering_each_other_reimport_unchanged() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = id_of(&app.action(json!({"announced_on": "2020-07-09"})).await);
    let second = id_of(
        &app.action(json!({"announced_on": "2020-07-10",
            "responds_to": [{"action": first, "relation": "retaliates"}]}))
            .await,
    );
    for id in [&second, &first] {
        app.delete(&format!("/v1/actions/{id}"))
            .await
            .assert_status(204);
    }
    let export = exported(&app, "?show_deleted=true").await;
    let job = import(&app, "", export).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [2, 0, 0, 2, 0], "{job}");
}

/// The NDJSON export of `query`, as bytes.
/// An action's status history as `GET /v1/actions/{id}/history` lists it, less
/// `recorded_at` (each database records its own).
async fn history(app: &TestApp, id: &str) -> Value {
    let mut items = app.get(&format!("/v1/actions/{id}/history")).await.body["items"].clone();
    for item in items.as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("recorded_at");
    }
    items
}

async fn exported(app: &TestApp, query: &str) -> Vec<u8> {
    app.client
        .get(format!("{}/v1/actions/export{query}", app.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// The token of `POST /v1/imports` covers the job's creation only: what the job stores is
/// committed later, by the job. A finished job's answer carries a token of its own, past the
/// job's commit, to read what it stored from a replica; an unfinished one carries none.
#[tokio::test]
async fn a_finished_job_gives_a_token_that_covers_what_it_stored() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let lsn = |token: &str| {
        let (high, low) = token.split_once('/').unwrap();
        (u64::from_str_radix(high, 16).unwrap() << 32) | u64::from_str_radix(low, 16).unwrap()
    };
    let posted = app
        .post_raw(
            "/v1/imports",
            ndjson(&[action("Imported", "tok-1", "2020-07-09", json!([]))]),
        )
        .await;
    posted.assert_status(202);
    let queued_at = lsn(posted.header("riposte-consistency").unwrap());
    let location = posted.header("location").unwrap().to_string();
    let job = loop {
        let job = app.get(&location).await;
        match job.body["state"].as_str().unwrap() {
            "queued" | "running" => {
                assert!(job.header("riposte-consistency").is_none(), "{}", job.text);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ => break job,
        }
    };
    assert_eq!(job.body["state"], "succeeded", "{}", job.text);
    let finished_at = lsn(job.header("riposte-consistency").expect("a token"));
    assert!(
        finished_at > queued_at,
        "{finished_at:x} after {queued_at:x}"
    );
    // Revalidated (304), the answer carries one as well.
    let etag = job.header("etag").unwrap().to_string();
    let again = app
        .client
        .get(format!("{}{location}", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.headers().contains_key("riposte-consistency"));
}

/// API writes that land while an import runs, held at the graph lock by a session of the
/// test's: an actor the file names is deleted, and a stored action the file changes gets
/// other designations. The import's checks and its reading of the stored action used to
/// come before its locks: it stored a line naming the deleted actor, and left the action
/// with the file's title and the PATCH's designations, a state neither writer produced.
/// An action with a line's external id committed after the import's checks found the id
/// free (a POST racing the import) is met only by the import's INSERT: the import runs again
/// and updates it, as if it had been stored before. (The job failed, all-or-nothing even
/// with partial, with PostgreSQL's "duplicate key value violates unique constraint".)
#[tokio::test]
async fn an_external_id_taken_while_an_import_runs_is_updated_by_it() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let connect = || app.sql_client();
    let side = connect().await;
    // Watched from outside the side's transaction, whose reads of pg_stat_activity all see
    // the first one's snapshot.
    let watch = connect().await;
    // A writer that has inserted `f-2` and not committed yet: invisible to the import's
    // checks, in the way of its INSERT.
    side.batch_execute(
        "BEGIN; INSERT INTO actions (title, initiator_id, initiator_kind, target_id,
             target_kind, type_code, status, announced_on, date_precision, severity, tags,
             designated_names, external_id, source_dataset)
         SELECT 'Written meanwhile', u.id, 'state', c.id, 'state', 'asset_freeze', 'in_force',
                '2020-07-09', 'day', -5, '{}', '', 'f-2', 'test'
         FROM actors u, actors c WHERE u.code = 'USA' AND c.code = 'CHN'",
    )
    .await
    .unwrap();
    let file = ndjson(&[
        action("First", "f-1", "2020-07-09", json!([])),
        action("Second, from the file", "f-2", "2020-07-09", json!([])),
        action("Third", "f-3", "2020-07-10", json!([])),
    ]);
    let submitted = app.post_raw("/v1/imports?partial=true", file).await;
    submitted.assert_status(202);
    let location = submitted.header("location").unwrap().to_string();
    wait_for_lock(
        &watch,
        "transactionid",
        "the import's INSERT never met the other writer's key",
    )
    .await;
    side.batch_execute("COMMIT").await.unwrap();
    let job = finished(&app, &location).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [3, 2, 1, 0, 0], "{job}");
    let found = app
        .get("/v1/actions?external_id=f-2&source_dataset=test")
        .await;
    assert_eq!(found.body["items"][0]["title"], "Second, from the file");
    assert_eq!(total_actions(&app).await, 3);
    assert_consistent(&app, "an import run again").await;
}

/// Now the import locks first and reads after: the line naming the deleted actor is refused,
/// and the action is wholly the file's.
#[tokio::test]
async fn writes_during_an_import_are_seen_by_its_checks() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.actor(json!({"code": "wang-x", "name": "Wang X", "kind": "person", "country": "CHN"}))
        .await;
    app.actor(json!({"code": "doomed", "name": "Doomed", "kind": "person", "country": "CHN"}))
        .await;
    let mut stored = action("Stored", "s-1", "2020-01-01", json!([]));
    stored["designations"] = json!([{"actor": "chen-quanguo"}]);
    let stored = app.post("/v1/actions", &stored).await;
    stored.assert_status(201);
    let stored_id = id_of(&stored.body);

    let side = app.sql_client().await;
    side.batch_execute("SELECT pg_advisory_lock(7236111)")
        .await
        .unwrap();

    let mut changed = action("From the file", "s-1", "2020-01-01", json!([]));
    changed["designations"] = json!([{"actor": "chen-quanguo"}]);
    let mut naming = action("Names the doomed", "n-1", "2020-02-01", json!([]));
    naming["designations"] = json!([{"actor": "doomed"}]);
    let file = ndjson(&[changed, naming]);
    let submitted = app.post_raw("/v1/imports?partial=true", file).await;
    submitted.assert_status(202);
    let location = submitted.header("location").unwrap().to_string();
    // Wait until the import waits for the graph lock the side session holds.
    wait_for_lock(&side, "advisory", "the import never reached the lock").await;
    app.delete("/v1/actors/doomed").await.assert_status(204);
    app.patch(
        &format!("/v1/actions/{stored_id}"),
        &json!({"designations": [{"actor": "wang-x"}]}),
    )
    .await
    .assert_status(200);
    side.batch_execute("SELECT pg_advisory_unlock(7236111)")
        .await
        .unwrap();

    let job = finished(&app, &location).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job), [2, 0, 1, 0, 1], "{job}");
    let line = &job["rejected_lines"][0];
    assert_eq!(line["line"], 2, "{job}");
    assert!(
        line["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`doomed` was deleted"),
        "{job}"
    );
    let now = app.get(&format!("/v1/actions/{stored_id}")).await.body;
    assert_eq!(now["title"], "From the file");
    let designated: Vec<&str> = now["designations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["actor"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(designated, ["chen-quanguo"], "{now}");
}

/// A job runs with the authority of the key that queued it: a key revoked while the job
/// waits for its turn (here behind the import lock a side session holds, as behind another
/// import) stores nothing, and the job says why.
#[tokio::test]
async fn a_job_whose_key_is_revoked_before_it_runs_stores_nothing() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let side = app.sql_client().await;
    side.batch_execute("SELECT pg_advisory_lock(7236112)")
        .await
        .unwrap();
    let submitted = app
        .post_raw(
            "/v1/imports",
            ndjson(&[action("Queued", "q-1", "2020-01-01", json!([]))]),
        )
        .await;
    submitted.assert_status(202);
    let location = submitted.header("location").unwrap().to_string();
    wait_for_lock(&side, "advisory", "the import never reached the lock").await;

    let key = app.write_key().await;
    app.as_admin(
        Method::DELETE,
        &format!("/v1/api-keys/{}", id_of(&key)),
        None,
        &[],
    )
    .await
    .assert_status(200);
    side.batch_execute("SELECT pg_advisory_unlock(7236112)")
        .await
        .unwrap();

    // The write key is refused now, even for reads: the admin's asks.
    let job = loop {
        let job = app.as_admin(Method::GET, &location, None, &[]).await.body;
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["error"],
        format!(
            "the API key {}… that queued this import was revoked: nothing was stored; submit \
             the file again with a valid key",
            key["prefix"].as_str().unwrap()
        ),
        "{job}"
    );
    let all = app
        .request_as(
            None,
            Method::GET,
            "/v1/actions?include_total=true",
            None,
            &[],
        )
        .await;
    assert_eq!(all.body["total"], 0, "{}", all.text);
}

/// Imports are in the audit log: each job when it is queued (entity `import`, with its key
/// and request id), and each actor it creates and action it creates or updates, naming the
/// job; an action's
/// history shows the imports that changed it. (Imports wrote nothing there: what a key did
/// and who changed an action went unanswered for everything imported.)
#[tokio::test]
async fn imports_are_audited_with_their_key_and_each_action_they_change() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let post = |file: Vec<u8>, request_id: &'static str| {
        app.client
            .post(format!("{}/v1/imports", app.base))
            .bearer_auth(&app.keys.write)
            .header("content-type", "application/x-ndjson")
            .header("x-request-id", request_id)
            .body(file)
            .send()
    };
    let first = ndjson(&[
        json!({"actor": {"code": "zz-office", "name": "ZZ Office", "kind": "government_body",
                         "country": "USA"}}),
        action("Kept", "k-1", "2020-01-01", json!([])),
        action("Renamed later", "r-1", "2020-01-02", json!([])),
    ]);
    let queued = post(first, "import-1").await.unwrap();
    assert_eq!(queued.status(), 202);
    let job1 = finished(&app, queued.headers()["location"].to_str().unwrap()).await;
    let second = ndjson(&[
        action("Kept", "k-1", "2020-01-01", json!([])),
        action("Renamed", "r-1", "2020-01-02", json!([])),
    ]);
    let queued = post(second, "import-2").await.unwrap();
    let job2 = finished(&app, queued.headers()["location"].to_str().unwrap()).await;
    assert_eq!(counts(&job2), [2, 0, 1, 1, 0], "{job2}");

    let app = &app;
    let audit = |query: String| async move {
        let page = app
            .as_admin(Method::GET, &format!("/v1/audit?{query}"), None, &[])
            .await;
        page.assert_status(200);
        page.body["items"].as_array().unwrap().clone()
    };
    let key_id = id_of(&app.write_key().await);
    let jobs = audit("entity=import".into()).await;
    let seen: Vec<(&Value, &Value, &Value, &Value)> = jobs
        .iter()
        .map(|e| {
            (
                &e["operation"],
                &e["entity_id"],
                &e["request_id"],
                &e["key_id"],
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                &json!("create"),
                &job2["id"],
                &json!("import-2"),
                &json!(key_id)
            ),
            (
                &json!("create"),
                &job1["id"],
                &json!("import-1"),
                &json!(key_id)
            ),
        ]
    );
    assert_eq!(jobs[0]["after"]["format"], "ndjson");
    assert_eq!(jobs[0]["after"]["state"], "queued");
    assert_eq!(jobs[0]["import_id"], Value::Null);

    let renamed = app.get("/v1/actions?q=Renamed").await.body["items"][0].clone();
    let kept = app.get("/v1/actions?q=Kept").await.body["items"][0].clone();
    let entries = audit(format!("entity_id={}", id_of(&renamed))).await;
    let seen: Vec<(&Value, &Value, &Value)> = entries
        .iter()
        .map(|e| (&e["operation"], &e["import_id"], &e["key_id"]))
        .collect();
    assert_eq!(
        seen,
        [
            (&json!("update"), &job2["id"], &json!(key_id)),
            (&json!("create"), &job1["id"], &json!(key_id)),
        ]
    );
    assert_eq!(entries[0]["request_id"], "import-2");
    let of_job = audit(format!("import_id={}", id_of(&job2))).await;
    assert_eq!(of_job.len(), 1, "{of_job:?}");
    assert_eq!(of_job[0]["entity_id"], renamed["id"]);
    let of_job = audit(format!("import_id={}", id_of(&job1))).await;
    let seen: Vec<(&Value, &Value)> = of_job
        .iter()
        .map(|e| (&e["entity"], &e["operation"]))
        .collect();
    assert_eq!(
        seen,
        [
            (&json!("action"), &json!("create")),
            (&json!("action"), &json!("create")),
            (&json!("actor"), &json!("create")),
        ],
        "newest first: the actors were created first"
    );
    let office = app.get("/v1/actors/zz-office").await.body;
    assert_eq!(of_job[2]["entity_id"], office["id"]);
    assert_eq!(
        audit(format!("entity_id={}", id_of(&kept))).await.len(),
        1,
        "an unchanged line is no change"
    );
    let history = app
        .get(&format!("/v1/actions/{}/history", id_of(&renamed)))
        .await;
    let edits: Vec<(&Value, &Value)> = history.body["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["operation"], &e["import_id"]))
        .collect();
    assert_eq!(
        edits,
        [
            (&json!("create"), &job1["id"]),
            (&json!("update"), &job2["id"])
        ]
    );
    assert_eq!(history.body["edits"][1]["author"]["key_id"], json!(key_id));
}

/// A pipeline keyed on upstream ids finds its actions by them: `external_id` (in
/// `source_dataset`, or among actions of no dataset) is one action, `source_dataset` alone
/// all of that dataset's; in lists and exports alike.
#[tokio::test]
async fn actions_are_found_by_their_external_key() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let line = |title: &str, key: Value| {
        let mut a = action(title, "x", "2020-07-09", json!([]));
        let a_map = a.as_object_mut().unwrap();
        a_map.remove("external_id");
        a_map.remove("source_dataset");
        a_map.extend(key.as_object().unwrap().clone());
        a
    };
    let file = ndjson(&[
        line(
            "OFAC a-1",
            json!({"external_id": "a-1", "source_dataset": "ofac"}),
        ),
        line("Plain a-1", json!({"external_id": "a-1"})),
        line(
            "OFAC a-2",
            json!({"external_id": "a-2", "source_dataset": "ofac"}),
        ),
        line(
            "MFA b-1",
            json!({"external_id": "b-1", "source_dataset": "mfa"}),
        ),
        line("No key", json!({})),
    ]);
    let job = import(&app, "", file).await;
    assert_eq!(job["counts"]["created"], 5, "{job}");
    let titles = |body: &Value| -> BTreeSet<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, want) in [
        ("external_id=a-1&source_dataset=ofac", vec!["OFAC a-1"]),
        ("external_id=a-1", vec!["Plain a-1"]),
        ("source_dataset=ofac", vec!["OFAC a-1", "OFAC a-2"]),
        ("source_dataset=ofac&initiator=CHN", vec![]),
        ("external_id=b-1", vec![]),
    ] {
        let page = app.get(&format!("/v1/actions?{query}")).await;
        page.assert_status(200);
        let want: BTreeSet<String> = want.into_iter().map(str::to_string).collect();
        assert_eq!(titles(&page.body), want, "{query}");
    }
    let export = app
        .get("/v1/actions/export?format=ndjson&source_dataset=mfa")
        .await;
    export.assert_status(200);
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(lines.len(), 1, "{}", export.text);
    assert!(lines[0].contains("\"MFA b-1\""));

    for (query, field) in [
        ("source_dataset=Bad!", "source_dataset"),
        ("external_id=%20", "external_id"),
    ] {
        let resp = app.get(&format!("/v1/actions?{query}")).await;
        resp.assert_status(400);
        assert_eq!(
            resp.body["errors"][0]["field"], field,
            "{query}: {}",
            resp.body
        );
    }
}

/// A territory's code stands for the state it falls under: a GDELT row from `CHN` to `HKG`
/// is within one state (it was stored as a sanction between two, with a new state "Hong
/// Kong"), one from `PRI` to `CHN` is the United States', and `ATA` is no state.
#[tokio::test]
async fn territories_import_as_the_state_they_fall_under() {
    let app = TestApp::spawn().await;
    let fixture = include_str!("../fixtures/gdelt-sample.export.CSV");
    let row = fixture.lines().nth(1).unwrap();
    let with = |n: u32, actor1: &str, actor2: &str| {
        let mut columns: Vec<String> = row.split('\t').map(str::to_string).collect();
        assert_eq!((columns[7].as_str(), columns[17].as_str()), ("CHN", "USA"));
        // GLOBALEVENTID, so that the rows are three events; the actors' codes, country codes.
        columns[0] = format!("{}{n}", columns[0]);
        for (i, code) in [(5, actor1), (7, actor1), (15, actor2), (17, actor2)] {
            columns[i] = code.to_string();
        }
        columns.join("\t")
    };
    let file = format!(
        "{}\n{}\n{}\n",
        with(1, "CHN", "HKG"),
        with(2, "PRI", "CHN"),
        with(3, "ATA", "USA")
    );
    let job = import(&app, "?format=gdelt&partial=true", file.into_bytes()).await;
    assert_eq!(job["counts"]["created"], 1, "{job}");
    assert_eq!(job["skipped"]["same_state"], 1, "{job}");
    assert_eq!(job["skipped"]["not_state_to_state"], 1, "{job}");
    let stored = app.get("/v1/actions").await;
    let action = &stored.body["items"][0];
    assert_eq!(
        (
            action["initiator"]["code"].as_str(),
            action["target"]["code"].as_str()
        ),
        (Some("USA"), Some("CHN")),
        "{action}"
    );
    assert_eq!(app.get("/v1/actors/HKG").await.status, 404);
}

/// An actor line giving a stored actor another kind says so, whatever the code-format rules
/// of the kind given: `USA` as a person was told that a person's code is a lower-case slug.
#[tokio::test]
async fn an_actor_line_of_another_kind_says_how_the_actor_is_stored() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let lines = [
        json!({"actor": {"code": "USA", "name": "United States", "kind": "person", "country": "USA"}}),
        json!({"actor": {"code": "CHN", "name": "China", "kind": "igo"}}),
        json!({"actor": {"code": "new-person", "name": "New", "kind": "person"}}),
    ];
    let job = import(&app, "?partial=true", ndjson(&lines)).await;
    let rejected = job["rejected_lines"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{job}");
    for (line, code) in [(0, "USA"), (1, "CHN")] {
        assert_eq!(
            rejected[line]["errors"],
            json!([{"field": "actor.kind",
                    "message": format!("actor `{code}` is stored as a state")}]),
            "{job}"
        );
    }
    // An actor not stored keeps the faults of its own line.
    assert_eq!(rejected[2]["errors"][0]["field"], "actor.country", "{job}");
}

/// A GDELT file whose records are all of the format but none a state-to-state action of a
/// mapped type (a filtered feed) stores nothing and says why, without asking whether it is
/// GDELT; a domestic measure (1723, a curfew) is no visa ban (it rolled up to 172 and was
/// stored as one).
#[tokio::test]
async fn a_gdelt_file_of_nothing_riposte_records_says_why_not_which_format() {
    let app = TestApp::spawn().await;
    let fixture = include_str!("../fixtures/gdelt-sample.export.CSV");
    let row: Vec<String> = fixture
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    assert_eq!(
        (row.len(), row[7].as_str(), row[17].as_str()),
        (61, "CHN", "USA")
    );
    let mut no_target = row.clone();
    no_target[0] = "900000001".into();
    no_target[17] = String::new();
    let mut curfew = row.clone();
    curfew[0] = "900000002".into();
    (curfew[26], curfew[27], curfew[28]) = ("1723".into(), "172".into(), "17".into());
    let file = format!("{}\n{}\n", no_target.join("\t"), curfew.join("\t"));
    let job = import(&app, "?format=gdelt", file.into_bytes()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["skipped"]["not_state_to_state"], 1, "{job}");
    assert_eq!(job["skipped"]["unmapped_event"], 1, "{job}");
    assert!(
        job["skipped_first"]["unmapped_event"]
            .as_str()
            .unwrap()
            .contains("CAMEO 1723 (Impose curfew) is a measure at home"),
        "{job}"
    );
    let error = job["error"].as_str().unwrap();
    assert!(
        error.starts_with("nothing was stored: all 2 record(s) were skipped, as "),
        "one each, so none is `most`: {error}"
    );
    assert!(
        error.ends_with("None is an action between two states of an event type riposte maps."),
        "{error}"
    );
    assert!(!error.contains("format?"), "{error}");
}

/// A GDELT row with bytes that are not UTF-8 (a name saved as Latin-1) is stored with a note
/// saying so: they became U+FFFD in its title and summary, and nothing said why.
#[tokio::test]
async fn a_gdelt_row_not_in_utf8_is_stored_with_a_note() {
    let app = TestApp::spawn().await;
    let fixture = include_str!("../fixtures/gdelt-sample.export.CSV");
    let row = fixture.lines().next().unwrap();
    let mut bytes = row.replacen("IRAN", "IR\u{1}N", 1).into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xC2; // Latin-1 `Â`, no UTF-8 sequence before a `N`
    bytes.push(b'\n');
    let job = import(&app, "?format=gdelt", bytes).await;
    assert_eq!(counts(&job)[1], 1, "{job}");
    let stored = app.get("/v1/actions?initiator=USA&target=IRN").await;
    let summary = stored.body["items"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("to IR\u{FFFD}N (IRN)"), "{summary}");
    assert!(
        summary.contains(
            "[Import note: the row holds bytes that are not UTF-8, shown as `\u{FFFD}` (GDELT \
             exports are UTF-8: was the file saved in another encoding?).]"
        ),
        "{summary}"
    );
}

/// A GDELT export given still zipped, as GDELT publishes it, or gzipped without
/// `Content-Encoding`, is named as such, not counted as "found 3 columns". A zip whose entry
/// is stored uncompressed (`zip -0`) holds the rows as they are after its header: all but
/// the first were imported. A zip is refused whole, and nothing is stored.
#[tokio::test]
async fn a_zipped_or_gzipped_gdelt_file_is_named_as_such() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    let fixture = include_bytes!("../fixtures/gdelt-sample.export.CSV");
    let mut deflated = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x8b\x61\tjunk\t\xff\n".to_vec();
    deflated.extend_from_slice(&[0x9c, 0xe5, b'\n']);
    // A local file header (method 0: stored), the file itself, a central directory.
    let name = b"sample.export.CSV";
    let mut stored = b"PK\x03\x04\x0a\x00\x00\x00\x00\x00".to_vec();
    stored.extend_from_slice(&[0; 4]); // time and date
    stored.extend_from_slice(&[0; 4]); // CRC-32, not read
    for _ in 0..2 {
        stored.extend_from_slice(&(fixture.len() as u32).to_le_bytes());
    }
    stored.extend_from_slice(&(name.len() as u16).to_le_bytes());
    stored.extend_from_slice(&[0, 0]);
    stored.extend_from_slice(name);
    stored.extend_from_slice(fixture);
    stored.extend_from_slice(b"PK\x01\x02\x14\x03\x0a\x00\x00\x00\x00\x00");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(fixture).unwrap();
    let gzipped = gz.finish().unwrap();
    for zipped in [stored, deflated] {
        for partial in ["false", "true"] {
            let job = import(
                &app,
                &format!("?format=gdelt&partial={partial}"),
                zipped.clone(),
            )
            .await;
            assert_eq!(job["state"], "failed", "{job}");
            assert!(
                job["error"].as_str().unwrap_or("").starts_with(
                    "the file is a zip archive (GDELT's exports are published as .CSV.zip)"
                ),
                "{job}"
            );
            assert_eq!(total_actions(&app).await, 0, "{job}");
        }
    }
    let job = import(&app, "?format=gdelt", gzipped).await;
    assert_eq!(job["state"], "failed", "{job}");
    let first = job["skipped_first"]["malformed_line"].as_str().unwrap();
    assert!(
        first.starts_with("line 1: ")
            && first.contains("the file is gzip-compressed: decompress it"),
        "{job}"
    );
}

/// A PLOVER file's faults number its records, and so do the messages naming another one:
/// "record 12: external_id: line 11 gives the same external_id" named a line of the file
/// that held something else.
#[tokio::test]
async fn a_plover_fault_naming_another_record_says_record() {
    let app = TestApp::spawn().await;
    let record = json!({"id": "dup-1", "date": "2022-03-01", "event": "SANCTION",
        "context": "economic", "source": [{"code": "USA", "sector": "GOV"}],
        "target": [{"code": "VUT"}], "text": "t"});
    // Pretty-printed: record 2 starts on line 18 or so, not line 2.
    let file = serde_json::to_string_pretty(&json!([record, record])).unwrap();
    let job = import(&app, "?format=plover&partial=true", file.into_bytes()).await;
    assert_eq!(
        job["rejected_lines"],
        json!([{"line": 2, "errors": [{"field": "external_id",
            "message": "record 1 gives the same id"}]}]),
        "{job}"
    );
    assert_eq!(counts(&job)[1], 1, "{job}");
}

/// A PLOVER actor written in lower case, code and sector, is read as in upper case: `usa`
/// was taken for USA but its `gov` for no body of the state, so the record was skipped as
/// `source_non_state_sector`.
#[tokio::test]
async fn a_plover_sector_in_lower_case_acts_for_its_state() {
    let app = TestApp::spawn().await;
    let record = json!({"id": "lc-1", "date": "2022-03-01", "event": "SANCTION",
        "context": "economic", "source": [{"code": "usa", "sector": "gov"}],
        "target": [{"code": "vut"}], "text": "t"});
    let job = import(
        &app,
        "?format=plover",
        json!([record]).to_string().into_bytes(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(counts(&job)[1], 1, "{job}");
    let list = app
        .get("/v1/actions?external_id=lc-1&source_dataset=plover")
        .await;
    assert_eq!(
        list.body["items"][0]["initiator"]["code"], "USA",
        "{}",
        list.body
    );
}
