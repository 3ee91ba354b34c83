//! Bad input of every kind is a 4xx problem+json, never a 5xx.

use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{action_body, id_of, TestApp};

#[tokio::test]
async fn malformed_bodies() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = app
            .client
            .post(format!("{}/v1/actions", app.base))
            .bearer_auth(&app.keys.write)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    for (body, status) in [
        ("{\"title\": ", 400),
        ("not json", 400),
        ("", 400),
        ("[]", 422),
        ("42", 422),
    ] {
        let resp = raw(body, Some("application/json")).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{body:?}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{body:?}"
        );
    }
    // A key given twice: serde_json kept the last silently (an adversarial review).
    let resp = raw(
        r#"{"title": "a", "initiator": "USA", "title": "b"}"#,
        Some("application/json"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let problem: Value = resp.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the key `title` is given twice"),
        "{problem}"
    );
    // A value JSON can write but riposte cannot read is named by its path: 1e309 said only
    // "number out of range at line 1 column 130"; a lone surrogate likewise.
    for (body, field) in [
        (r#"{"title": "a", "severity": 1e309}"#, "severity"),
        (
            r#"{"sources": [{"url": "https://a.org/"}, {"quote": "\ud800"}]}"#,
            "sources[1].quote",
        ),
        (
            r#"{"designations": [{"actor": "a", "actor": "b"}]}"#,
            "designations[0]",
        ),
    ] {
        let resp = raw(body, Some("application/json")).await.unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    // Trailing garbage after an otherwise acceptable document.
    let resp = app
        .client
        .patch(format!("{}/v1/actors/USA", app.base))
        .bearer_auth(&app.keys.write)
        .header("content-type", "application/json")
        .body("{} {}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = raw("{}", None).await.unwrap();
    assert_eq!(resp.status(), 415);
    let resp = raw("{}", Some("text/plain")).await.unwrap();
    assert_eq!(resp.status(), 415);
    // A compressed body is not taken: a 415 saying so, not "not valid JSON".
    for encoding in ["gzip", "br", "x-unknown"] {
        let resp = app
            .client
            .post(format!("{}/v1/actors", app.base))
            .bearer_auth(&app.keys.write)
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(vec![0x1f, 0x8b, 8, 0])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415, "{encoding}");
        let problem: Value = resp.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(encoding),
            "{problem}"
        );
    }
    // JSON with a charset parameter is fine (and then fails validation, not media type).
    for utf8 in [
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"",
        "application/json; charset=us-ascii",
    ] {
        let resp = raw("{}", Some(utf8)).await.unwrap();
        assert_eq!(resp.status(), 422, "{utf8}");
    }
    // Another charset would be read as UTF-8 all the same: refused, saying so (it was read).
    let resp = raw("{}", Some("application/json; charset=latin1"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let problem: Value = resp.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("charset=latin1"),
        "{problem}"
    );
    // Two Content-Type headers leave the body's type open: refused (one was taken).
    let resp = app
        .client
        .post(format!("{}/v1/actors", app.base))
        .bearer_auth(&app.keys.write)
        .header("content-type", "text/plain")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let big = action_body(json!({"summary": "x".repeat(1024 * 1024)}));
    let resp = app.post("/v1/actions", &big).await;
    resp.assert_problem(413, None);
    assert!(resp.body["detail"].as_str().unwrap().contains("1048576"));
    // Just under the limit, the text-length rule speaks instead.
    let under = action_body(json!({"summary": "x".repeat(20_000)}));
    app.post("/v1/actions", &under)
        .await
        .assert_problem(422, Some("summary"));
    // A chunked body without Content-Length is counted too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let resp = app
        .client
        .post(format!("{}/v1/actors", app.base))
        .bearer_auth(&app.keys.write)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = TestApp::spawn().await;
    app.get("/v2/nothing").await.assert_problem(404, None);
    app.get("/v1/actions/00000000-0000-4000-8000-000000000000/nothing")
        .await
        .assert_problem(404, None);
    let resp = app
        .request(Method::PUT, "/v1/actions", Some(&json!({})), &[])
        .await;
    resp.assert_status(405);
    assert_eq!(resp.header("allow"), Some("GET, POST, HEAD"));
    assert_eq!(
        resp.header("content-type"),
        Some("application/problem+json")
    );
    let resp = app
        .request(Method::POST, "/v1/action-types", None, &[])
        .await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    // Path parameters of any value, on a path with several methods.
    let resp = app
        .request(Method::PUT, "/v1/actors/whoever/restore", None, &[])
        .await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    // A literal segment beside `{id}`: its own methods, not `{id}`'s.
    let resp = app
        .request(Method::PATCH, "/v1/actions/export", Some(&json!({})), &[])
        .await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_the_parameter() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=201", "limit"),
        ("from=2020-02-30", "from"),
        ("to=yesterday", "to"),
        ("status=rumoured", "status"),
        ("sort=loudness", "sort"),
        ("initiator=XXX", "initiator"),
        ("target=nobody", "target"),
        ("type=bombing", "type"),
        ("from=2021-01-01&to=2020-01-01", "from"),
        ("colour=red", "colour"),
        ("limit=5&limit=6", "limit"),
        ("page_token=%%%", "page_token"),
    ] {
        let resp = app.get(&format!("/v1/actions?{query}")).await;
        resp.assert_problem(400, Some(field));
    }
}

/// serde reads a struct from an array as well, field by field in order: `["x"]` as a PATCH
/// would set the first field (a webhook's url, an action's title). Every JSON body must be an
/// object; anything else is a 422 naming `body`, and nothing changes.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = app.action(json!({})).await;
    let action_path = format!("/v1/actions/{}", action["id"].as_str().unwrap());
    let hook = app
        .as_admin(
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"url": "https://example.org/hook"})),
            &[],
        )
        .await;
    hook.assert_status(201);
    let hook_path = format!("/v1/webhooks/{}", hook.body["id"].as_str().unwrap());
    let targets = [
        (Method::POST, "/v1/actions".to_string()),
        (Method::PATCH, action_path.clone()),
        (Method::POST, "/v1/actors".to_string()),
        (Method::PATCH, "/v1/actors/USA".to_string()),
        (Method::POST, "/v1/webhooks".to_string()),
        (Method::PATCH, hook_path.clone()),
        (Method::POST, format!("{hook_path}/redeliver")),
        (Method::POST, "/v1/api-keys".to_string()),
    ];
    let before = [
        app.get(&action_path).await.body,
        app.get("/v1/actors/USA").await.body,
        app.as_admin(Method::GET, &hook_path, None, &[]).await.body,
    ];
    for body in [
        json!([]),
        json!(["https://example.org/other"]),
        json!([{"title": "x"}]),
        json!("text"),
        json!(7),
        json!(true),
        json!(null),
    ] {
        for (method, path) in &targets {
            let resp = app.as_admin(method.clone(), path, Some(&body), &[]).await;
            resp.assert_problem(422, Some("body"));
            assert!(
                resp.body["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.ends_with("not a JSON object")),
                "{method} {path} {body}: {}",
                resp.text
            );
        }
    }
    let after = [
        app.get(&action_path).await.body,
        app.get("/v1/actors/USA").await.body,
        app.as_admin(Method::GET, &hook_path, None, &[]).await.body,
    ];
    assert_eq!(before, after);
}

/// A rule is not judged on the stand-in of a value that could not be read: an unreadable
/// `external_id` is that field's fault alone, not also a `source_dataset` "without
/// external_id".
#[tokio::test]
async fn an_unreadable_external_id_is_its_own_fault_only() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let resp = app
        .post(
            "/v1/actions",
            &action_body(json!({"external_id": 5, "source_dataset": "ds"})),
        )
        .await;
    resp.assert_problem(422, Some("external_id"));
    assert_eq!(resp.error_fields(), ["external_id"], "{}", resp.text);
    // One already taken is a 409 naming it.
    let body = action_body(json!({"external_id": "e-1", "source_dataset": "ds"}));
    app.post("/v1/actions", &body).await.assert_status(201);
    app.post("/v1/actions", &body)
        .await
        .assert_problem(409, Some("external_id"));
}

/// PostgreSQL text cannot hold NUL. A NUL anywhere is the client's fault and named as such:
/// a code that names nobody, a URL no browser reads, a text refused. (Codes and URLs used to
/// reach PostgreSQL: a 400 naming no field.)
#[tokio::test]
async fn nul_characters_anywhere_are_client_errors_naming_the_field() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = id_of(&app.action(json!({})).await);
    let nul = "US\u{0}A";
    let cases = [
        (json!({"initiator": nul}), "initiator"),
        (json!({"target": nul}), "target"),
        (json!({"authority": nul}), "authority"),
        (
            json!({"designations": [{"actor": nul}]}),
            "designations[0].actor",
        ),
        (
            json!({"sources": [{"url": "https://a.org/\u{0}"}]}),
            "sources[0].url",
        ),
        (
            json!({"status_history": [{"status": "in_force", "changed_on": "2020-07-09",
                "source_url": "https://a.org/\u{0}"}]}),
            "status_history[0].source_url",
        ),
        (json!({"title": "a\u{0}b"}), "title"),
    ];
    for (body, field) in cases {
        let resp = app.post("/v1/actions", &action_body(body)).await;
        resp.assert_problem(422, Some(field));
    }
    app.patch(
        &format!("/v1/actions/{action}"),
        &json!({"status": "lifted", "status_source_url": "https://a.org/\u{0}"}),
    )
    .await
    .assert_problem(422, Some("status_source_url"));
    for (body, field) in [
        (json!({"parent": "x\u{0}"}), "parent"),
        (json!({"country": "CH\u{0}"}), "country"),
        (json!({"aliases": ["a\u{0}"]}), "aliases[0]"),
    ] {
        let mut actor = json!({"code": "x", "name": "N", "kind": "organization", "country": "CHN"});
        for (k, v) in body.as_object().unwrap() {
            actor[k] = v.clone();
        }
        app.post("/v1/actors", &actor)
            .await
            .assert_problem(422, Some(field));
    }
    app.get("/v1/actors/U%00SA").await.assert_problem(404, None);
    // Escapes that are not UTF-8 name nothing: `%FF` was looked up as the actor U+FFFD.
    for path in [
        "/v1/actors/%FF",
        "/v1/actors/%E0%A4%A",
        "/v1/actions/%C3/chain",
    ] {
        let resp = app.get(path).await;
        resp.assert_problem(404, None);
        assert!(resp.text.contains("not UTF-8"), "{path}: {}", resp.text);
        assert!(!resp.text.contains('\u{FFFD}'), "{path}: {}", resp.text);
    }
    app.get("/v1/actions?initiator=U%00S")
        .await
        .assert_problem(400, Some("initiator"));
}

/// A source is a link readers follow: a URL the URL standard browsers follow cannot read
/// opens nowhere, and the dashboard could not even name its host. Each is a 422 naming the
/// field and why; what browsers read, international names included, is taken.
#[tokio::test]
async fn a_source_url_no_browser_can_read_is_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for (url, why) in [
        ("https://a%zz.org/", "a browser cannot read it"),
        ("https://exa^mple.org/", "a browser cannot read it"),
        ("http://a:99999/", "a browser cannot read it"),
        ("https://[::1/", "a browser cannot read it"),
        ("https://xn--/", "a browser cannot read it"),
        ("https://a.org/\u{1}x", "control characters"),
        ("javascript:alert(1)", "not http:// or https://"),
        ("https://example.org:0/", "its port is 0"),
    ] {
        let resp = app
            .post(
                "/v1/actions",
                &action_body(json!({"sources": [{"url": url}]})),
            )
            .await;
        resp.assert_problem(422, Some("sources[0].url"));
        assert!(resp.text.contains(why), "{url}: {}", resp.text);
    }
    // The bound counts characters, not bytes.
    let long = |n: usize| format!("https://example.org/{}", "ж".repeat(n - 20));
    let resp = app
        .post(
            "/v1/actions",
            &action_body(json!({"sources": [{"url": long(2001)}]})),
        )
        .await;
    resp.assert_problem(422, Some("sources[0].url"));
    assert!(
        resp.text.contains("more than 2000 characters"),
        "{}",
        resp.text
    );
    for url in [
        long(2000).as_str(),
        "https://example.org/a?b=c#d",
        "https://münchen.de/",
        "http://[2001:db8::1]:8080/x",
        "https://example.org/a%20b",
        // Schemes are case-insensitive: an upper-case one was refused.
        "HTTPS://EXAMPLE.ORG/x",
        "Http://example.org/y",
    ] {
        let resp = app
            .post(
                "/v1/actions",
                &action_body(json!({"sources": [{"url": url}]})),
            )
            .await;
        resp.assert_status(201);
        assert_eq!(resp.body["sources"][0]["url"], url, "stored as given");
    }
}

/// A URL stored before the rule tightened does not lock its action: a PATCH that keeps it
/// is judged on what it brings. A new URL of that kind is still refused.
#[tokio::test]
async fn a_source_url_stored_before_the_rule_does_not_lock_its_action() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = id_of(
        &app.action(json!({"sources": [{"url": "https://example.org/old"}]}))
            .await,
    );
    let mut db = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query(
        "UPDATE sources SET url = 'http://a:99999/' WHERE url = 'https://example.org/old'",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let path = format!("/v1/actions/{action}");
    assert_eq!(
        app.get(&path).await.body["sources"][0]["url"],
        "http://a:99999/"
    );
    app.patch(&path, &json!({"title": "Edited"}))
        .await
        .assert_status(200);
    app.patch(
        &path,
        &json!({"sources": [{"url": "http://a:99999/"}, {"url": "https://example.org/new"}]}),
    )
    .await
    .assert_status(200);
    app.patch(&path, &json!({"sources": [{"url": "http://b:99999/"}]}))
        .await
        .assert_problem(422, Some("sources[0].url"));
}

#[tokio::test]
async fn database_gone_is_a_fast_503_with_retry_after() {
    let app = TestApp::spawn().await;
    app.get("/readyz").await.assert_status(200);
    // Drop the database under the running app.
    app.drop_database().await;
    let started = std::time::Instant::now();
    let resp = app.get("/readyz").await;
    resp.assert_problem(503, None);
    assert!(resp.header("retry-after").is_some());
    let resp = app.get("/v1/actions").await;
    resp.assert_problem(503, None);
    assert_eq!(resp.header("retry-after"), Some("5"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Liveness does not depend on the database.
    app.get("/healthz").await.assert_status(200);
}
