//! Filters and cursor pagination of GET /v1/actions.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::helpers::{id_of, TestApp};

/// The ids of the first page (up to 200) of GET /v1/actions with these parameters.
pub(super) async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let resp = app.get(&format!("/v1/actions?limit=200&{query}")).await;
    resp.assert_status(200);
    resp.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

/// Follows next_page_token to the end, checking the Link header on the way.
async fn walk(app: &TestApp, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = format!("/v1/actions?{query}");
    for _ in 0..100 {
        let page = app.get(&path).await;
        page.assert_status(200);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(id_of));
        match page.body["next_page_token"].as_str() {
            Some(token) => {
                let link = page.header("link").expect("Link header");
                let url = link
                    .strip_prefix('<')
                    .and_then(|l| l.split_once(">; rel=\"next\""))
                    .map(|(url, _)| url.to_string())
                    .expect("Link: <url>; rel=\"next\"");
                assert!(url.contains(token));
                // The Link URL and the token agree: follow the Link.
                path = url;
            }
            None => {
                assert!(page.header("link").is_none());
                return seen;
            }
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn every_filter_selects_exactly_its_actions() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let a = app.action(json!({"announced_on": "2020-01-10"})).await; // USA->CHN asset_freeze in_force
    let b = app
        .action(json!({"announced_on": "2020-02-10", "initiator": "CHN", "target": "USA", "type": "threaten", "status": "threatened"}))
        .await;
    let c = app
        .action(json!({"announced_on": "2020-03-10", "initiator": "GBR", "target": "CHN", "type": "visa_ban"}))
        .await;
    let d = app
        .action(json!({"announced_on": "2020-03-10", "initiator": "CHN", "target": "GBR", "type": "visa_ban", "status": "lifted"}))
        .await;
    let [a, b, c, d] = [a, b, c, d].map(|v| id_of(&v));
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let of = |v: &[&String]| v.iter().map(|s| s.to_string()).collect::<HashSet<_>>();

    assert_eq!(set(ids(&app, "initiator=CHN").await), of(&[&b, &d]));
    assert_eq!(set(ids(&app, "target=CHN").await), of(&[&a, &c]));
    assert_eq!(set(ids(&app, "initiator=CHN&target=GBR").await), of(&[&d]));
    assert_eq!(set(ids(&app, "type=visa_ban").await), of(&[&c, &d]));
    assert_eq!(set(ids(&app, "status=threatened").await), of(&[&b]));
    assert_eq!(set(ids(&app, "status=in_force").await), of(&[&a, &c]));
    // from/to are inclusive.
    assert_eq!(set(ids(&app, "from=2020-02-10").await), of(&[&b, &c, &d]));
    assert_eq!(set(ids(&app, "to=2020-02-10").await), of(&[&a, &b]));
    assert_eq!(
        set(ids(&app, "from=2020-02-10&to=2020-02-10").await),
        of(&[&b])
    );
    assert_eq!(ids(&app, "from=2021-01-01").await, Vec::<String>::new());
    assert_eq!(
        ids(&app, "initiator=USA&target=GBR").await,
        Vec::<String>::new()
    );

    // Newest first by default, ties broken by id; `sort=announced_on` reverses exactly.
    let newest = ids(&app, "").await;
    assert_eq!(newest[3], a);
    assert_eq!(newest[2], b);
    let mut oldest = ids(&app, "sort=announced_on").await;
    oldest.reverse();
    assert_eq!(newest, oldest);
    assert_eq!(ids(&app, "sort=-announced_on").await, newest);
}

#[tokio::test]
async fn pages_lose_and_repeat_nothing_even_with_inserts_between_pages() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    // Many actions share a date, so the tie-breaker matters.
    let mut created = Vec::new();
    for i in 0..23 {
        let date = format!("2020-07-{:02}", 1 + i % 4);
        created.push(id_of(
            &app.action(json!({"announced_on": date, "title": format!("A{i}")}))
                .await,
        ));
    }
    for (query, sort) in [
        ("limit=5", "newest"),
        ("limit=4&sort=announced_on", "oldest"),
    ] {
        let seen = walk(&app, query).await;
        assert_eq!(seen.len(), 23, "{sort}");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            23,
            "{sort}: repeated items"
        );
        let full = ids(&app, query.split('&').nth(1).unwrap_or("")).await;
        assert_eq!(
            seen, full,
            "{sort}: pages do not add up to the full ordering"
        );
    }

    // Insert between pages: rows already passed are not repeated, none is lost.
    let first = app.get("/v1/actions?limit=5&sort=announced_on").await;
    let token = first.body["next_page_token"].as_str().unwrap().to_string();
    let before: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    // One older than the cursor (would be on page 1) and one newer (must appear later).
    app.action(json!({"announced_on": "2020-06-01", "title": "old"}))
        .await;
    let new = id_of(
        &app.action(json!({"announced_on": "2020-08-01", "title": "new"}))
            .await,
    );
    let mut rest = walk(
        &app,
        &format!("limit=5&sort=announced_on&page_token={token}"),
    )
    .await;
    assert!(
        rest.iter().all(|id| !before.contains(id)),
        "an item was repeated"
    );
    assert!(rest.contains(&new));
    rest.retain(|id| *id != new);
    let mut all = before.clone();
    all.extend(rest);
    let mut expected: Vec<String> = created.clone();
    expected.sort();
    all.sort();
    assert_eq!(all, expected, "an item was lost");
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_filters() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for i in 0..3 {
        app.action(json!({"announced_on": format!("2020-01-0{}", i + 1)}))
            .await;
    }
    let page = app.get("/v1/actions?limit=1&initiator=USA").await;
    let token = page.body["next_page_token"].as_str().unwrap();
    // Same filters, other page size: fine.
    app.get(&format!(
        "/v1/actions?limit=2&initiator=USA&page_token={token}"
    ))
    .await
    .assert_status(200);
    for other in [
        "initiator=CHN",
        "",
        "sort=announced_on",
        "initiator=USA&status=in_force",
    ] {
        app.get(&format!("/v1/actions?limit=1&{other}&page_token={token}"))
            .await
            .assert_problem(400, Some("page_token"));
    }
    // Bound to what the query means, not how it is written: a list given as repeated
    // parameters is the same list, and the exact total changes no page.
    let page = app
        .get("/v1/actions?limit=1&initiator=USA,CHN&include_total=true")
        .await;
    let listed = page.body["next_page_token"].as_str().unwrap();
    for same in [
        "initiator=USA&initiator=CHN",
        "initiator=USA,CHN",
        "include_total=true&initiator=USA&initiator=CHN",
    ] {
        app.get(&format!("/v1/actions?limit=1&{same}&page_token={listed}"))
            .await
            .assert_status(200);
    }
    app.get(&format!(
        "/v1/actions?limit=1&initiator=USA&page_token={listed}"
    ))
    .await
    .assert_problem(400, Some("page_token"));
    // Dyads, whose list separator is `;`, alike.
    let page = app.get("/v1/actions?limit=1&dyad=USA,CHN;USA,GBR").await;
    let dyads = page.body["next_page_token"].as_str().unwrap();
    app.get(&format!(
        "/v1/actions?limit=1&dyad=USA,CHN&dyad=USA,GBR&page_token={dyads}"
    ))
    .await
    .assert_status(200);
    // Another endpoint's token.
    let actors = app.get("/v1/actors?limit=1").await;
    let actor_token = actors.body["next_page_token"].as_str().unwrap();
    app.get(&format!("/v1/actions?page_token={actor_token}"))
        .await
        .assert_problem(400, Some("page_token"));
    // Tampered token.
    let mut bad = token.to_string();
    bad.replace_range(0..2, "zz");
    app.get(&format!(
        "/v1/actions?limit=1&initiator=USA&page_token={bad}"
    ))
    .await
    .assert_problem(400, Some("page_token"));
    let empty: Value = app.get("/v1/actions?limit=1&initiator=GBR").await.body;
    assert_eq!(empty, json!({"items": [], "next_page_token": null}));
}

#[tokio::test]
async fn list_pages_have_etags_and_answer_304() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.action(json!({})).await;
    for path in [
        "/v1/actions",
        "/v1/actors?limit=2",
        "/v1/action-types",
        "/v1/dyads/USA/CHN",
        "/v1/dyads",
    ] {
        let first = app.get(path).await;
        first.assert_status(200);
        let etag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: no ETag"))
            .to_string();
        let again = app
            .request(
                reqwest::Method::GET,
                path,
                None,
                &[("if-none-match", &etag)],
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
    }
    let etag = app
        .get("/v1/actions")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    app.action(json!({"title": "Another"})).await;
    let changed = app
        .request(
            reqwest::Method::GET,
            "/v1/actions",
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for _ in 0..5 {
        app.action(
            json!({"summary": "A summary long enough to be worth compressing. ".repeat(10)}),
        )
        .await;
    }
    for encoding in ["gzip", "br"] {
        let resp = app
            .client
            .get(format!("{}/v1/actions", app.base))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-encoding"], encoding);
        let bytes = resp.bytes().await.unwrap();
        assert!(
            serde_json::from_slice::<Value>(&bytes).is_err(),
            "{encoding}: not compressed"
        );
    }
    let plain = app
        .client
        .get(format!("{}/v1/actions", app.base))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
}

/// A page ends early when its documents pass 8 MiB (`MAX_PAGE_BYTES`), its token going on
/// from there; an export reads on past such a batch. Documents of ~0.9 MB each made a page
/// of 200 an answer of 200 MB, held whole by the server.
#[tokio::test]
async fn a_page_of_large_documents_ends_early_and_loses_nothing() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let quote = "q".repeat(9_000);
    let mut posted = HashSet::new();
    for i in 0..12 {
        let sources: Vec<Value> = (0..100)
            .map(|s| json!({"url": format!("https://example.org/{i}/{s}"), "quote": quote}))
            .collect();
        let created = app
            .action(
                json!({"title": format!("Large {i}"), "tags": ["large"], "sources": sources,
                           "announced_on": format!("2020-01-{:02}", i + 1)}),
            )
            .await;
        posted.insert(id_of(&created));
    }
    let first = app.get("/v1/actions?tag=large&limit=50").await;
    first.assert_status(200);
    let n = first.body["items"].as_array().unwrap().len();
    assert!(
        (1..12).contains(&n),
        "a first page of {n} documents, {} bytes",
        first.text.len()
    );
    assert!(
        first.text.len() <= 9 * 1024 * 1024,
        "{} bytes",
        first.text.len()
    );
    assert!(first.body["next_page_token"].is_string());
    for sort in ["-announced_on", "severity", "updated_at"] {
        let walked = walk(&app, &format!("tag=large&limit=50&sort={sort}")).await;
        assert_eq!(walked.len(), 12, "{sort}: {walked:?}");
        assert_eq!(
            walked.iter().cloned().collect::<HashSet<_>>(),
            posted,
            "{sort}"
        );
    }
    let export = app.get("/v1/actions/export?format=ndjson&tag=large").await;
    export.assert_status(200);
    assert_eq!(export.text.lines().count(), 12);
}
