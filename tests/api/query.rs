//! Query power of GET /v1/actions: full-text search, multi-valued filters, every sort with
//! keyset paging under concurrent inserts, totals, and token misuse.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::helpers::{id_of, TestApp};
use super::lists::ids;

async fn set(app: &TestApp, query: &str) -> HashSet<String> {
    ids(app, query).await.into_iter().collect()
}

fn of(ids: &[&String]) -> HashSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn search_covers_every_text_field_and_designated_names() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let title = id_of(
        &app.action(json!({"title": "Seizing oligarch yachts"}))
            .await,
    );
    let summary = id_of(
        &app.action(json!({"summary": "Targets the cotton trade of the region."}))
            .await,
    );
    let legal = id_of(
        &app.action(json!({"legal_basis": "Uyghur Human Rights Policy Act"}))
            .await,
    );
    let program = id_of(&app.action(json!({"program": "GLOMAG"})).await);
    let named = id_of(
        &app.action(json!({"designations": [{"actor": "chen-quanguo"}]}))
            .await,
    );

    // English stemming: "seizes" finds "Seizing".
    assert_eq!(set(&app, "q=seizes").await, of(&[&title]));
    assert_eq!(set(&app, "q=cotton").await, of(&[&summary]));
    assert_eq!(set(&app, "q=uyghur").await, of(&[&legal]));
    assert_eq!(set(&app, "q=glomag").await, of(&[&program]));
    assert_eq!(set(&app, "q=quanguo").await, of(&[&named]));
    // Web-search syntax: phrases, or, exclusion; words from title and names combine.
    assert_eq!(set(&app, "q=%22chen+quanguo%22").await, of(&[&named]));
    assert_eq!(set(&app, "q=%22quanguo+chen%22").await, HashSet::new());
    assert_eq!(
        set(&app, "q=cotton+or+glomag").await,
        of(&[&summary, &program])
    );
    assert_eq!(
        set(&app, "q=asset+-cotton").await,
        of(&[&legal, &program, &named])
    );
    assert_eq!(set(&app, "q=asset+freeze+chen").await, of(&[&named]));
    // Only stop words: nothing to match.
    assert_eq!(set(&app, "q=the").await, HashSet::new());
    // Combined with other filters.
    assert_eq!(set(&app, "q=quanguo&initiator=CHN").await, HashSet::new());

    // Renaming a designated actor re-indexes the actions that name it.
    app.patch(
        "/v1/actors/chen-quanguo",
        &json!({"name": "Chen Q. Renamed"}),
    )
    .await
    .assert_status(200);
    assert_eq!(set(&app, "q=quanguo").await, HashSet::new());
    assert_eq!(set(&app, "q=renamed").await, of(&[&named]));
    // So does changing an action's designations.
    app.patch(
        &format!("/v1/actions/{title}"),
        &json!({"designations": [{"actor": "xinjiang-psb"}]}),
    )
    .await
    .assert_status(200);
    assert_eq!(set(&app, "q=security+bureau").await, of(&[&title]));
    app.patch(
        &format!("/v1/actions/{named}"),
        &json!({"designations": []}),
    )
    .await
    .assert_status(200);
    assert_eq!(set(&app, "q=renamed").await, HashSet::new());
}

#[tokio::test]
async fn relevance_puts_title_hits_before_summary_hits() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let in_summary = id_of(
        &app.action(json!({"title": "Visa restrictions", "summary": "Concerns tariffs."}))
            .await,
    );
    let in_title = id_of(&app.action(json!({"title": "Tariffs on steel"})).await);
    let twice = id_of(
        &app.action(json!({"title": "Tariffs and more tariffs", "summary": "Tariffs."}))
            .await,
    );
    assert_eq!(
        ids(&app, "q=tariff&sort=relevance").await,
        vec![twice, in_title, in_summary]
    );
}

#[tokio::test]
async fn multi_valued_filters_or_within_and_across() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let us_cn = id_of(
        &app.action(json!({"announced_on": "2020-01-10", "severity": -7.0, "tags": ["xinjiang", "human_rights"],
            "designations": [{"actor": "chen-quanguo"}]}))
        .await,
    );
    let cn_us = id_of(
        &app.action(
            json!({"announced_on": "2020-02-10", "initiator": "CHN", "target": "USA",
            "type": "threaten", "status": "threatened", "severity": -4.0, "tags": ["hong_kong"],
            "responds_to": [{"action": us_cn, "relation": "retaliates"}]}),
        )
        .await,
    );
    let gb_cn = id_of(
        &app.action(
            json!({"announced_on": "2020-03-10", "initiator": "GBR", "target": "CHN",
            "type": "visa_ban", "severity": -5.0, "designations": [{"actor": "xinjiang-psb"}]}),
        )
        .await,
    );
    let cn_gb = id_of(
        &app.action(
            json!({"announced_on": "2020-04-10", "initiator": "CHN", "target": "GBR",
            "type": "visa_ban", "status": "lifted", "severity": -5.5, "tags": ["xinjiang"]}),
        )
        .await,
    );

    // Comma-separated and repeated are the same; values OR, filters AND.
    let both = of(&[&cn_us, &cn_gb, &gb_cn]);
    assert_eq!(set(&app, "initiator=CHN,GBR").await, both);
    assert_eq!(set(&app, "initiator=CHN&initiator=GBR").await, both);
    assert_eq!(set(&app, "target=USA,GBR").await, of(&[&cn_us, &cn_gb]));
    assert_eq!(
        set(&app, "initiator=CHN,GBR&target=CHN").await,
        of(&[&gb_cn])
    );
    // A dyad matches both directions; several dyads by repetition or `;`.
    assert_eq!(set(&app, "dyad=USA,CHN").await, of(&[&us_cn, &cn_us]));
    assert_eq!(set(&app, "dyad=CHN,USA").await, of(&[&us_cn, &cn_us]));
    let two = of(&[&us_cn, &cn_us, &gb_cn, &cn_gb]);
    assert_eq!(set(&app, "dyad=USA,CHN&dyad=GBR,CHN").await, two);
    assert_eq!(set(&app, "dyad=USA,CHN;GBR,CHN").await, two);
    assert_eq!(set(&app, "dyad=USA,GBR").await, HashSet::new());
    // Types, categories and both (intersection).
    assert_eq!(set(&app, "type=visa_ban,threaten").await, both);
    assert_eq!(set(&app, "category=threat").await, of(&[&cn_us]));
    assert_eq!(
        set(&app, "category=sanction").await,
        of(&[&us_cn, &gb_cn, &cn_gb])
    );
    assert_eq!(set(&app, "category=threat,sanction").await, two);
    assert_eq!(
        set(&app, "type=visa_ban&category=sanction").await,
        of(&[&gb_cn, &cn_gb])
    );
    assert_eq!(
        set(&app, "type=threaten&category=sanction").await,
        HashSet::new()
    );
    // Statuses, designations, tags.
    assert_eq!(
        set(&app, "status=lifted,threatened").await,
        of(&[&cn_us, &cn_gb])
    );
    assert_eq!(set(&app, "designated=chen-quanguo").await, of(&[&us_cn]));
    assert_eq!(
        set(&app, "designated=chen-quanguo,xinjiang-psb").await,
        of(&[&us_cn, &gb_cn])
    );
    assert_eq!(set(&app, "tag=xinjiang").await, of(&[&us_cn, &cn_gb]));
    assert_eq!(
        set(&app, "tag=hong_kong,human_rights").await,
        of(&[&us_cn, &cn_us])
    );
    // Severity bounds are inclusive.
    assert_eq!(
        set(&app, "severity_max=-5").await,
        of(&[&us_cn, &gb_cn, &cn_gb])
    );
    assert_eq!(set(&app, "severity_min=-5").await, of(&[&cn_us, &gb_cn]));
    assert_eq!(
        set(&app, "severity_min=-5.5&severity_max=-5").await,
        of(&[&gb_cn, &cn_gb])
    );
    // Answered or not.
    assert_eq!(set(&app, "answered=true").await, of(&[&us_cn]));
    assert_eq!(
        set(&app, "answered=false").await,
        of(&[&cn_us, &gb_cn, &cn_gb])
    );
    // An answer that is deleted no longer counts.
    app.delete(&format!("/v1/actions/{cn_us}"))
        .await
        .assert_status(204);
    assert_eq!(set(&app, "answered=true").await, HashSet::new());
    app.post(&format!("/v1/actions/{cn_us}/restore"), &json!({}))
        .await
        .assert_status(200);

    // updated_since: only what changed at or after the instant.
    let before_patch = app.get(&format!("/v1/actions/{gb_cn}")).await.body["updated_at"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mark = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let patched = app
        .patch(
            &format!("/v1/actions/{gb_cn}"),
            &json!({"title": "Visa bans, widened"}),
        )
        .await;
    patched.assert_status(200);
    assert_ne!(patched.body["updated_at"], json!(before_patch));
    assert_eq!(
        set(&app, &format!("updated_since={mark}")).await,
        of(&[&gb_cn])
    );
    let exact = patched.body["updated_at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    assert_eq!(
        set(&app, &format!("updated_since={exact}")).await,
        of(&[&gb_cn])
    );
    assert_eq!(
        set(&app, "updated_since=2000-01-01T00:00:00Z").await.len(),
        4
    );

    // include_total counts over all pages, with or without a token.
    let page = app
        .get("/v1/actions?limit=1&initiator=CHN,GBR&include_total=true")
        .await;
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    let token = page.body["next_page_token"].as_str().unwrap();
    let next = app
        .get(&format!(
            "/v1/actions?limit=1&initiator=CHN,GBR&include_total=true&page_token={token}"
        ))
        .await;
    assert_eq!(next.body["total"], 3);
    assert!(app.get("/v1/actions").await.body.get("total").is_none());
    assert_eq!(
        app.get("/v1/actions?include_total=true&q=nothingmatches")
            .await
            .body["total"],
        0
    );
}

/// Walks every page of `query` (limit 4) while another task inserts actions, and checks
/// that the items that existed before are all seen exactly once, in the full order.
async fn walk_during_inserts(app: &TestApp, query: &str) -> Vec<String> {
    let before = ids(app, query).await;
    let walker = async {
        let mut seen = Vec::new();
        let mut path = format!("/v1/actions?limit=4&{query}");
        loop {
            let page = app.get(&path).await;
            page.assert_status(200);
            seen.extend(page.body["items"].as_array().unwrap().iter().map(id_of));
            match page.body["next_page_token"].as_str() {
                Some(token) => path = format!("/v1/actions?limit=4&{query}&page_token={token}"),
                None => return seen,
            }
        }
    };
    let inserter = async {
        for i in 0..6 {
            app.action(json!({
                "title": format!("Tariff measure inserted {i}"),
                "announced_on": format!("2020-05-{:02}", 1 + i),
                "severity": -3.0 - (i % 3) as f64,
            }))
            .await;
        }
    };
    let (seen, ()) = tokio::join!(walker, inserter);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{query}: an item was repeated");
    let old: Vec<String> = seen
        .iter()
        .filter(|id| before.contains(id))
        .cloned()
        .collect();
    assert_eq!(old, before, "{query}: an item was lost or moved");
    seen
}

#[tokio::test]
async fn every_sort_pages_without_loss_or_repeat_under_concurrent_inserts() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    // Few distinct dates and severities, so that the id tie-breaker is exercised.
    for i in 0..19 {
        let tariffs = "tariff ".repeat(1 + i % 3);
        app.action(json!({
            "title": format!("Measure {i}: {tariffs}"),
            "announced_on": format!("2020-0{}-01", 1 + i % 3),
            "severity": -2.0 - (i % 4) as f64,
        }))
        .await;
    }
    for sort in [
        "-announced_on",
        "announced_on",
        "severity",
        "-severity",
        "updated_at",
        "-updated_at",
    ] {
        let seen = walk_during_inserts(&app, &format!("sort={sort}")).await;
        // The page order is the sort order.
        let mut keys = Vec::new();
        for id in &seen {
            let a = app.get(&format!("/v1/actions/{id}")).await.body;
            let field = sort.trim_start_matches('-');
            keys.push((a[field].to_string(), a["id"].as_str().unwrap().to_string()));
        }
        // Numbers compare as numbers, times as instants, dates as text.
        let key = |k: &(String, String)| -> (f64, String, String) {
            let num = k.0.parse::<f64>().unwrap_or(0.0);
            let text = serde_json::from_str::<String>(&k.0).unwrap_or_default();
            let text = chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.timestamp_micros().to_string())
                .unwrap_or(text);
            (num, text, k.1.clone())
        };
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| {
            let (a, b) = (key(a), key(b));
            a.0.partial_cmp(&b.0)
                .unwrap()
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
        });
        if sort.starts_with('-') {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "sort={sort}: pages are out of order");
    }
    // Relevance: ranks differ (one to three hits in the title) and tie often.
    walk_during_inserts(&app, "q=tariff&sort=relevance").await;
}

#[tokio::test]
async fn page_tokens_cannot_change_sort_or_search() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for i in 0..3 {
        app.action(json!({"title": format!("Tariffs {i}"), "severity": -1.0 - i as f64}))
            .await;
    }
    let page = app.get("/v1/actions?limit=1&sort=severity").await;
    let token = page.body["next_page_token"].as_str().unwrap().to_string();
    for other in [
        "sort=-severity",
        "sort=announced_on",
        "sort=severity&q=tariffs",
    ] {
        app.get(&format!("/v1/actions?limit=1&{other}&page_token={token}"))
            .await
            .assert_problem(400, Some("page_token"));
    }
    let page = app
        .get("/v1/actions?limit=1&q=tariffs&sort=relevance")
        .await;
    let token = page.body["next_page_token"].as_str().unwrap().to_string();
    app.get(&format!(
        "/v1/actions?limit=1&q=tariff&sort=relevance&page_token={token}"
    ))
    .await
    .assert_problem(400, Some("page_token"));

    // A token whose key was swapped for another sort's, its signature kept: refused.
    let page = app.get("/v1/actions?limit=1&sort=announced_on").await;
    let token = page.body["next_page_token"].as_str().unwrap();
    let (body, tag) = token.split_once('.').unwrap();
    let mut decoded: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
    decoded[0] = json!({"f": 4607182418800017408u64});
    let forged = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&decoded).unwrap())
    );
    app.get(&format!(
        "/v1/actions?limit=1&sort=announced_on&page_token={forged}"
    ))
    .await
    .assert_problem(400, Some("page_token"));
}

#[tokio::test]
async fn bad_filter_values_are_400s_naming_each_parameter() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let many = vec!["USA"; 101].join(",");
    for (query, field) in [
        ("initiator=USA,XXX", "initiator"),
        ("initiator=USA,,CHN", "initiator"),
        ("target=", "target"),
        (many.as_str(), "initiator"),
        ("dyad=USA", "dyad"),
        ("dyad=USA,USA", "dyad"),
        ("dyad=USA,CHN,GBR", "dyad"),
        ("dyad=USA,XXX", "dyad"),
        ("category=bombing", "category"),
        ("type=asset_freeze,bombing", "type"),
        ("status=in_force,rumoured", "status"),
        ("designated=nobody", "designated"),
        ("tag=a,,b", "tag"),
        ("severity_min=abc", "severity_min"),
        ("severity_min=NaN", "severity_min"),
        ("severity_max=inf", "severity_max"),
        ("severity_min=-2&severity_max=-5", "severity_min"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-11-28", "updated_since"),
        ("answered=maybe", "answered"),
        ("include_total=yes", "include_total"),
        ("sort=relevance", "sort"),
        ("sort=loudness", "sort"),
        ("q=", "q"),
        ("q=+++", "q"),
        ("q=q&q=r", "q"),
    ] {
        let query = if query.starts_with("USA") {
            format!("initiator={query}")
        } else {
            query.to_string()
        };
        app.get(&format!("/v1/actions?{query}"))
            .await
            .assert_problem(400, Some(field));
    }
    let long = "a".repeat(501);
    app.get(&format!("/v1/actions?q={long}"))
        .await
        .assert_problem(400, Some("q"));
    // PostgreSQL's search parser stacks `-` (NOT) 32 deep, pending `or` and `and` included:
    // 33 in a row, spaced or not, or 31 after a word, were a 500 (an export's a 200 cut off
    // before its first line), and so were 33 with a bracket or another sign after each.
    for q in [
        format!("{}tax", "-".repeat(33)),
        format!("tax {}tax", "- ".repeat(40)),
        format!("a {}b", "-".repeat(32)),
        format!("a or b {}c", "-".repeat(31)),
        // Other signs between them are separators to the parser too, not breaks.
        format!("{}a", "-(".repeat(33)),
        format!("{}a", "-!".repeat(33)),
        format!("{}a", "-|".repeat(33)),
        format!("a {}b", "-<".repeat(33)),
    ] {
        let q = q
            .replace(' ', "%20")
            .replace('(', "%28")
            .replace('|', "%7C")
            .replace('<', "%3C");
        app.get(&format!("/v1/actions?q={q}"))
            .await
            .assert_problem(400, Some("q"));
        app.get(&format!("/v1/actions/export?q={q}"))
            .await
            .assert_problem(400, Some("q"));
    }
    for q in [
        format!("{}tax", "-".repeat(30)),
        format!("a or b c {}d or {}e", "-".repeat(30), "-".repeat(30)),
        format!("\"a b\" or c {}\"d e\"", "-".repeat(30)),
    ] {
        let q = q.replace(' ', "%20").replace('"', "%22");
        app.get(&format!("/v1/actions?q={q}"))
            .await
            .assert_status(200);
    }
    // Text that is not UTF-8 once decoded was read with U+FFFD in its place (a search for
    // "\u{FFFD}" answered 200): a 400 naming the parameter.
    for (query, field) in [
        ("/v1/actions?q=%FF", "q"),
        ("/v1/actions?q=%ED%A0%80", "q"),
        ("/v1/actions?initiator=US%C3", "initiator"),
        ("/v1/changes?actor=%FE", "actor"),
    ] {
        let resp = app.get(query).await;
        resp.assert_problem(400, Some(field));
        assert!(resp.text.contains("not UTF-8"), "{query}: {}", resp.text);
    }
    app.get("/v1/actions?q=caf%C3%A9+%E6%96%B0")
        .await
        .assert_status(200);
    // Several bad parameters are reported together.
    let resp = app.get("/v1/actions?initiator=XXX&category=bombing").await;
    resp.assert_problem(400, Some("initiator"));
    resp.assert_problem(400, Some("category"));
}
