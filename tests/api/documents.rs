//! Stored documents (migration 000017) are never stale: after every kind of write, every
//! stored document equals one rendered from scratch (`check_action_documents()`), and what the
//! API serves from them is what the tables say, actor renames included, on every server.

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{assert_no_problems, id_of, TestApp};
use super::imports::import;

/// Fails with what disagrees when a stored document differs from one rendered now.
pub(crate) async fn assert_documents(app: &TestApp, step: &str) {
    assert_no_problems(
        app,
        "SELECT id::text AS key, problem FROM check_action_documents()",
        step,
    )
    .await;
}

/// Every action the API lists (deleted ones too) is served with its actors complete: no
/// marker left, and each embedded actor as `GET /v1/actors/{code}` shows it now.
async fn assert_served(app: &TestApp, step: &str) {
    let page = app
        .get("/v1/actions?show_deleted=true&limit=200")
        .await
        .assert_status(200)
        .body
        .clone();
    for a in page["items"].as_array().unwrap() {
        let text = a.to_string();
        assert!(
            !text.contains("\\u0000"),
            "after {step}: a marker left in {text}"
        );
        let one = app
            .get(&format!("/v1/actions/{}?show_deleted=true", id_of(a)))
            .await;
        one.assert_status(200);
        assert_eq!(
            &one.body, a,
            "after {step}: GET by id and the list disagree"
        );
        let mut refs = vec![&a["initiator"], &a["target"]];
        if !a["authority"].is_null() {
            refs.push(&a["authority"]);
        }
        for d in a["designations"].as_array().unwrap() {
            refs.push(&d["actor"]);
        }
        for r in refs {
            let actor = app
                .get(&format!("/v1/actors/{}", r["id"].as_str().unwrap()))
                .await;
            actor.assert_status(200);
            for field in ["code", "name", "kind"] {
                assert_eq!(r[field], actor.body[field], "after {step}: {field} of {r}");
            }
        }
    }
}

async fn assert_all(app: &TestApp, step: &str) {
    assert_documents(app, step).await;
    assert_served(app, step).await;
}

#[tokio::test]
async fn documents_follow_every_write_path() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = app
        .action(json!({
            "authority": "us-treasury",
            "designations": [{"actor": "chen-quanguo", "listed_on": "2020-07-09"},
                             {"actor": "xinjiang-psb"}],
            "sources": [{"url": "https://example.org/a", "publisher": "A", "quote": "\"quoted\" \\ text"}],
            "title": "Sanktionen gegen Überwachung – “quoted” </script>",
            "tags": ["xinjiang", "human_rights"],
            "summary": "line one\nline two\ttabbed",
            "severity": -7.25,
        }))
        .await;
    let first_id = id_of(&first);
    let answer = app
        .action(json!({
            "initiator": "CHN", "target": "USA", "type": "asset_freeze",
            "announced_on": "2020-07-13",
            "responds_to": [{"action": first_id, "relation": "retaliates"}],
        }))
        .await;
    let answer_id = id_of(&answer);
    let month = app
        .action(json!({"announced_on": "2020-08", "date_precision": "month", "severity": 3.0}))
        .await;
    assert_all(&app, "creates").await;

    // Every field and list a PATCH can change, one at a time.
    for patch in [
        json!({"title": "Renamed"}),
        json!({"summary": null}),
        json!({"designations": [{"actor": "xinjiang-psb", "listed_on": "2020-07-10"}]}),
        json!({"sources": []}),
        json!({"sources": [{"url": "https://example.org/b"}, {"url": "https://example.org/c"}]}),
        json!({"tags": []}),
        json!({"status": "lifted", "status_changed_on": "2021-01-01"}),
        json!({"type": "visa_ban"}),
        json!({"severity": 0.0}),
        json!({"effective_from": "2020-07-09", "effective_to": "2022-01-01"}),
        json!({"legal_basis": "E.O. 13818", "program": "GLOMAG"}),
        json!({"authority": null}),
    ] {
        let resp = app.patch(&format!("/v1/actions/{first_id}"), &patch).await;
        resp.assert_status(200);
        assert_all(&app, &format!("PATCH {patch}")).await;
    }
    // The answer's edges, replaced and removed.
    app.patch(
        &format!("/v1/actions/{answer_id}"),
        &json!({"responds_to": [{"action": first_id, "relation": "reciprocates"}]}),
    )
    .await
    .assert_status(200);
    assert_all(&app, "an edge replaced").await;
    app.patch(
        &format!("/v1/actions/{answer_id}"),
        &json!({"responds_to": []}),
    )
    .await
    .assert_status(200);
    assert_all(&app, "an edge removed").await;

    // Soft delete, restore, purge.
    let month_id = id_of(&month);
    app.delete(&format!("/v1/actions/{month_id}"))
        .await
        .assert_status(204);
    assert_all(&app, "a delete").await;
    let deleted = app
        .get(&format!("/v1/actions/{month_id}?show_deleted=true"))
        .await;
    assert!(deleted.body["deleted_at"].is_string(), "{}", deleted.text);
    app.get(&format!("/v1/actions/{month_id}"))
        .await
        .assert_status(404);
    app.post(&format!("/v1/actions/{month_id}/restore"), &json!({}))
        .await
        .assert_status(200);
    assert_all(&app, "a restore").await;
    app.as_admin(
        Method::DELETE,
        &format!("/v1/actions/{month_id}?purge=true"),
        None,
        &[],
    )
    .await
    .assert_status(204);
    assert_all(&app, "a purge").await;

    // An import creates, then updates, leaves unchanged and rejects (partial).
    let line = |n: i64, title: &str| {
        json!({"title": title, "initiator": "USA", "target": "CHN", "type": "asset_freeze",
               "status": "in_force", "announced_on": format!("2021-0{}-01", n + 1),
               "designations": [{"actor": "chen-quanguo"}],
               "sources": [{"url": format!("https://example.org/i{n}")}],
               "external_id": format!("doc-{n}"), "source_dataset": "test"})
        .to_string()
    };
    let file = format!("{}\n{}\n", line(1, "One"), line(2, "Two"));
    let job = import(&app, "", file.into_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_all(&app, "an import").await;
    let file = format!(
        "{}\n{}\n{{\"title\": 1}}\n",
        line(1, "One, again"),
        line(2, "Two")
    );
    let job = import(&app, "?partial=true", file.into_bytes()).await;
    assert_eq!(job["counts"]["updated"], 1, "{job}");
    assert_eq!(job["counts"]["unchanged"], 1, "{job}");
    assert_all(&app, "an import that updates").await;

    // Concurrent writers on the same and on different actions.
    let writes = (0..8).map(|i| {
        let app = &app;
        let first_id = first_id.clone();
        async move {
            if i % 2 == 0 {
                app.patch(
                    &format!("/v1/actions/{first_id}"),
                    &json!({"title": format!("Concurrent {i}")}),
                )
                .await
                .status
            } else {
                app.post(
                    "/v1/actions",
                    &super::helpers::action_body(json!({
                        "title": format!("New {i}"),
                        "designations": [{"actor": "chen-quanguo"}]})),
                )
                .await
                .status
            }
        }
    });
    let statuses = futures_util::future::join_all(writes).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    assert_all(&app, "concurrent writers").await;
}

#[tokio::test]
async fn renamed_actors_show_at_once_without_rewriting_documents() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let other = app.second_server().await;
    let a = app
        .action(json!({"designations": [{"actor": "chen-quanguo"}]}))
        .await;
    let id = id_of(&a);
    let path = format!("/v1/actions/{id}");
    // Both servers have the actors cached now.
    let before = app.get(&path).await;
    let tag = before.header("etag").unwrap().to_string();
    other.get(&path).await.assert_status(200);
    let versions = stored_versions(&app).await;

    app.patch(
        "/v1/actors/chen-quanguo",
        &json!({"name": "Chen Quanguo (former Party Secretary)", "code": "chen-quanguo-1955"}),
    )
    .await
    .assert_status(200);
    app.patch(
        "/v1/actors/USA",
        &json!({"name": "United States of America"}),
    )
    .await
    .assert_status(200);
    // No document was rewritten, and none is stale.
    assert_eq!(stored_versions(&app).await, versions);
    assert_documents(&app, "renames").await;

    // The server that renamed shows it at once; its ETag changed.
    let after = app.get(&path).await;
    after.assert_status(200);
    assert_eq!(after.body["initiator"]["name"], "United States of America");
    assert_eq!(
        after.body["designations"][0]["actor"]["code"],
        "chen-quanguo-1955"
    );
    assert_ne!(after.header("etag").unwrap(), tag);
    let not_modified = app
        .request(Method::GET, &path, None, &[("if-none-match", &tag)])
        .await;
    not_modified.assert_status(200);
    // The other server hears of it by NOTIFY.
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = other.get(&path).await.body;
        if seen["initiator"]["name"] == "United States of America" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen["initiator"]["name"], "United States of America");
    assert_eq!(
        seen["designations"][0]["actor"]["name"],
        "Chen Quanguo (former Party Secretary)"
    );
    let list = other.get("/v1/actions?initiator=USA").await;
    assert_eq!(
        list.body["items"][0]["initiator"]["name"],
        "United States of America"
    );
    assert_served(&other, "renames, on the other server").await;
}

#[tokio::test]
async fn etags_come_from_stored_versions() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = app.action(json!({})).await;
    let path = format!("/v1/actions/{}", id_of(&a));
    let one = app.get(&path).await;
    let tag = one.header("etag").unwrap().to_string();
    // The same document, read twice, has the same tag; If-None-Match answers 304.
    assert_eq!(app.get(&path).await.header("etag").unwrap(), tag);
    app.request(Method::GET, &path, None, &[("if-none-match", &tag)])
        .await
        .assert_status(304);
    // A write's answer carries the tag a GET then shows; If-Match with it works once.
    let patched = app
        .request(
            Method::PATCH,
            &path,
            Some(&json!({"title": "Changed"})),
            &[("if-match", &tag)],
        )
        .await;
    patched.assert_status(200);
    let new_tag = patched.header("etag").unwrap().to_string();
    assert_ne!(new_tag, tag);
    assert_eq!(app.get(&path).await.header("etag").unwrap(), new_tag);
    app.request(
        Method::PATCH,
        &path,
        Some(&json!({"title": "Again"})),
        &[("if-match", &tag)],
    )
    .await
    .assert_status(412);
}

#[tokio::test]
async fn migration_fills_the_documents_of_an_existing_database() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for day in ["2020-01-01", "2020-02-01", "2020-03-01"] {
        app.action(json!({"announced_on": day, "designations": [{"actor": "chen-quanguo"}]}))
            .await;
    }
    // As the database was before migration 000017: no documents, the backfill pending.
    {
        let mut conn = app.state.pool.get().await.unwrap();
        diesel::sql_query("DELETE FROM action_documents")
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::sql_query("INSERT INTO pending_backfills VALUES ('action_documents')")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let url = app.db_url.clone();
    tokio::task::spawn_blocking(move || riposte::db::migrate(&url))
        .await
        .unwrap()
        .unwrap();
    assert_all(&app, "the backfill").await;
    let mut conn = app.state.pool.get().await.unwrap();
    let left: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM pending_backfills")
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(left[0].n, 0);
}

#[tokio::test]
async fn the_database_renders_documents_whatever_wrote_the_rows() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = app.action(json!({})).await;
    let id = id_of(&a);
    // A write that no riposte code path makes: plain SQL, committed. The deferred trigger
    // renders the document at commit.
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO sources (action_id, url) VALUES ('{id}', 'https://example.org/raw')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_documents(&app, "a plain SQL insert").await;
    let served = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(served.body["sources"][0]["url"], "https://example.org/raw");

    // And the check does see a stale document.
    diesel::sql_query(format!(
        "UPDATE action_documents SET body = replace(body, 'raw', 'stale') WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let problems: Vec<Count> =
        diesel::sql_query("SELECT count(*) AS n FROM check_action_documents()")
            .load(&mut conn)
            .await
            .unwrap();
    assert_eq!(problems[0].n, 1);
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
}

async fn stored_versions(app: &TestApp) -> Vec<Version> {
    let mut conn = app.state.pool.get().await.unwrap();
    diesel::sql_query("SELECT id, version FROM action_documents ORDER BY id")
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_empty_page_of_documents_is_a_valid_list_with_an_etag() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.action(json!({})).await;
    let path = "/v1/actions?initiator=GBR&include_total=true";
    let empty = app.get(path).await;
    empty.assert_status(200);
    assert_eq!(
        empty.body,
        json!({"items": [], "next_page_token": null, "total": 0})
    );
    let tag = empty.header("etag").expect("an ETag").to_string();
    app.request(Method::GET, path, None, &[("if-none-match", &tag)])
        .await
        .assert_status(304);
    // A missing action is a 404, not an empty document.
    app.get("/v1/actions/01a22ad9-62fb-71c8-aa29-70ed31799364")
        .await
        .assert_status(404);
}

/// Reads of an action while its actors are renamed over and over: every read is a 200. The
/// shared actor cache was looked at twice per read (what it holds, then the substitution), and
/// a rename's eviction in between left a document with no actor for its marker: a 500.
#[tokio::test]
async fn reads_during_actor_renames_never_fail() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = app.action(json!({})).await;
    let path = format!("/v1/actions/{}", id_of(&action));
    let rounds = 150;
    let reader = || async {
        let mut failures = Vec::new();
        for _ in 0..rounds * 4 {
            let got = app.get(&path).await;
            if got.status != 200 {
                failures.push(format!("{}: {}", got.status, got.text));
            }
        }
        failures
    };
    let renamer = async {
        for i in 0..rounds {
            for code in ["USA", "CHN"] {
                app.patch(
                    &format!("/v1/actors/{code}"),
                    &json!({"name": format!("{code} {i}")}),
                )
                .await
                .assert_status(200);
            }
        }
    };
    let (a, b, c, ()) = tokio::join!(reader(), reader(), reader(), renamer);
    let failures: Vec<String> = [a, b, c].concat();
    assert!(
        failures.is_empty(),
        "{} failed reads: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    let got = app.get(&path).await;
    assert_eq!(got.body["initiator"]["name"], format!("USA {}", rounds - 1));
}
