//! Keys, scopes, the audit log and conditional requests.

use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{action_body, id_of, TestApp};
use riposte::state::Config;

/// Makes a key of `scope` over HTTP with the admin key and returns (id, secret).
async fn new_key(app: &TestApp, scope: &str, expires_at: Option<&str>) -> (String, String) {
    let mut body = json!({"name": format!("{scope} key"), "scope": scope});
    if let Some(at) = expires_at {
        body["expires_at"] = json!(at);
    }
    let resp = app
        .as_admin(Method::POST, "/v1/api-keys", Some(&body), &[])
        .await;
    resp.assert_status(201);
    (
        id_of(&resp.body),
        resp.body["secret"].as_str().unwrap().to_string(),
    )
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Need {
    Read,
    Write,
    Admin,
}

#[tokio::test]
async fn every_endpoint_with_every_kind_of_key() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = id_of(&app.action(json!({})).await);
    let (revoked_id, revoked) = new_key(&app, "admin", None).await;
    app.as_admin(
        Method::DELETE,
        &format!("/v1/api-keys/{revoked_id}"),
        None,
        &[],
    )
    .await
    .assert_status(200);
    // Expired: made valid, then expired in the database.
    let (expired_id, expired) = new_key(&app, "admin", Some("2099-01-01T00:00:00Z")).await;
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.state.pool.get().await.unwrap();
        diesel::sql_query(format!(
            "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '{expired_id}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let key_id = {
        let list = app.as_admin(Method::GET, "/v1/api-keys", None, &[]).await;
        id_of(&list.body["items"][0])
    };
    let endpoints: Vec<(Method, String, Option<Value>, Need)> = vec![
        (Method::GET, "/v1/actors".into(), None, Need::Read),
        (Method::GET, "/v1/actors/CHN".into(), None, Need::Read),
        (
            Method::POST,
            "/v1/actors".into(),
            Some(json!({"code": "FRA", "name": "France", "kind": "state"})),
            Need::Write,
        ),
        (
            Method::PATCH,
            "/v1/actors/GBR".into(),
            Some(json!({"description": "x"})),
            Need::Write,
        ),
        (
            Method::DELETE,
            "/v1/actors/nobody".into(),
            None,
            Need::Write,
        ),
        (Method::GET, "/v1/action-types".into(), None, Need::Read),
        (Method::GET, "/v1/actions".into(), None, Need::Read),
        (
            Method::POST,
            "/v1/actions".into(),
            Some(action_body(json!({}))),
            Need::Write,
        ),
        (
            Method::GET,
            format!("/v1/actions/{action}"),
            None,
            Need::Read,
        ),
        (
            Method::PATCH,
            format!("/v1/actions/{action}"),
            Some(json!({"title": "t"})),
            Need::Write,
        ),
        (
            Method::DELETE,
            "/v1/actions/00000000-0000-4000-8000-000000000000".into(),
            None,
            Need::Write,
        ),
        (
            Method::GET,
            format!("/v1/actions/{action}/responses"),
            None,
            Need::Read,
        ),
        (
            Method::GET,
            format!("/v1/actions/{action}/history"),
            None,
            Need::Read,
        ),
        (Method::GET, "/v1/api-keys".into(), None, Need::Admin),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"name": "n", "scope": "read"})),
            Need::Admin,
        ),
        (
            Method::GET,
            format!("/v1/api-keys/{key_id}"),
            None,
            Need::Admin,
        ),
        (
            Method::DELETE,
            "/v1/api-keys/00000000-0000-4000-8000-000000000000".into(),
            None,
            Need::Admin,
        ),
        (Method::GET, "/v1/audit".into(), None, Need::Admin),
    ];
    let malformed = "rsk_not-a-real-key";
    // Well-formed (right length and checksum) but never issued.
    let unknown = riposte::auth::generate().secret;
    let keys: Vec<(&str, Option<&str>)> = vec![
        ("none", None),
        ("read", Some(&app.keys.read)),
        ("write", Some(&app.keys.write)),
        ("admin", Some(&app.keys.admin)),
        ("revoked", Some(&revoked)),
        ("expired", Some(&expired)),
        ("malformed", Some(malformed)),
        ("unknown", Some(&unknown)),
    ];
    for (method, path, body, need) in &endpoints {
        for (name, key) in &keys {
            let resp = app
                .request_as(*key, method.clone(), path, body.as_ref(), &[])
                .await;
            let granted = match (*name, need) {
                ("revoked" | "expired" | "malformed" | "unknown", _) => false,
                ("none", Need::Read) => true,
                ("none", _) => false,
                ("read", Need::Read) => true,
                ("write", Need::Read | Need::Write) => true,
                ("admin", _) => true,
                _ => false,
            };
            let what = format!("{method} {path} with {name} key");
            if granted {
                assert!(
                    resp.status != 401 && resp.status != 403 && resp.status < 500,
                    "{what}: {} {}",
                    resp.status,
                    resp.text
                );
            } else if key.is_none()
                || matches!(*name, "revoked" | "expired" | "malformed" | "unknown")
            {
                resp.assert_problem(401, None);
                let challenge = resp.header("www-authenticate").unwrap_or_default();
                assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
                if key.is_some() {
                    assert!(challenge.contains("invalid_token"), "{what}");
                }
            } else {
                resp.assert_problem(403, None);
            }
        }
    }
}

#[tokio::test]
async fn reads_need_a_key_when_they_are_not_public() {
    let app = TestApp::spawn_with(Config {
        public_read: false,
        ..Config::default()
    })
    .await;
    let resp = app
        .request_as(None, Method::GET, "/v1/actions", None, &[])
        .await;
    resp.assert_problem(401, None);
    app.request_as(Some(&app.keys.read), Method::GET, "/v1/actions", None, &[])
        .await
        .assert_status(200);
    // Health stays open.
    app.request_as(None, Method::GET, "/readyz", None, &[])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn keys_over_http_show_the_secret_once_and_revoke_at_once() {
    let app = TestApp::spawn().await;
    // A name that would forge rows or run escapes in `riposte keys list`, or show there as
    // another key's, is refused.
    for (name, fine) in [
        "evil\r\nfake-row  admin  active",
        "\u{1b}[32mlooks-legit",
        "tab\tname",
        "admin\u{202e}nimda",
        "two\u{2028}lines",
        "mark\u{200f}",
        "adm\u{200b}",
        "\u{a0}adm",
        "a\u{301}dm\u{feff}",
        "adm ",
        " adm",
        "soft\u{ad}hyphen",
    ]
    .map(|name| (name, false))
    .into_iter()
    // Names in any script, with accents composed or combining, and inner spaces are fine.
    .chain(["ops team", "José Müller", "Jose\u{301} 王", "مفتاح"].map(|name| (name, true)))
    {
        let made = app
            .as_admin(
                Method::POST,
                "/v1/api-keys",
                Some(&json!({"name": name, "scope": "read"})),
                &[],
            )
            .await;
        if fine {
            made.assert_status(201);
        } else {
            made.assert_problem(422, Some("name"));
        }
    }
    let (id, secret) = new_key(&app, "write", None).await;
    assert!(secret.starts_with("rsk_") && secret.len() == 53);
    assert!(riposte::auth::well_formed(&secret));
    let shown = app
        .as_admin(Method::GET, &format!("/v1/api-keys/{id}"), None, &[])
        .await;
    shown.assert_status(200);
    assert!(shown.body.get("secret").is_none());
    assert_eq!(shown.body["prefix"], secret[..12]);
    assert!(!shown.text.contains(&secret));
    assert!(shown.body["last_used_at"].is_null());
    // Using it records the use.
    app.request_as(
        Some(&secret),
        Method::POST,
        "/v1/actors",
        Some(&json!({"code": "USA", "name": "US", "kind": "state"})),
        &[],
    )
    .await
    .assert_status(201);
    let shown = app
        .as_admin(Method::GET, &format!("/v1/api-keys/{id}"), None, &[])
        .await;
    assert!(shown.body["last_used_at"].is_string());
    // A key in the URL is not accepted.
    app.request_as(
        None,
        Method::GET,
        &format!("/v1/actions?api_key={secret}"),
        None,
        &[],
    )
    .await
    .assert_problem(400, Some("api_key"));
    // Revocation takes effect on the next request.
    let revoked = app
        .as_admin(Method::DELETE, &format!("/v1/api-keys/{id}"), None, &[])
        .await;
    revoked.assert_status(200);
    assert!(revoked.body["revoked_at"].is_string());
    let resp = app
        .request_as(
            Some(&secret),
            Method::POST,
            "/v1/actors",
            Some(&json!({"code": "CHN", "name": "China", "kind": "state"})),
            &[],
        )
        .await;
    resp.assert_problem(401, None);
    assert!(resp.body["detail"].as_str().unwrap().contains("revoked"));
    // Bad requests for keys.
    app.as_admin(
        Method::POST,
        "/v1/api-keys",
        Some(&json!({"name": "x", "scope": "root"})),
        &[],
    )
    .await
    .assert_problem(422, Some("scope"));
    app.as_admin(
        Method::POST,
        "/v1/api-keys",
        Some(&json!({"name": "x", "scope": "read", "expires_at": "2001-01-01T00:00:00Z"})),
        &[],
    )
    .await
    .assert_problem(422, Some("expires_at"));
    app.as_admin(
        Method::GET,
        "/v1/api-keys/00000000-0000-4000-8000-000000000000",
        None,
        &[],
    )
    .await
    .assert_problem(404, None);
    app.as_admin(Method::GET, "/v1/api-keys?limit=1", None, &[])
        .await
        .assert_status(200);
    // Only a hash is stored.
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let found: Found = diesel::sql_query(
        "SELECT count(*) AS n FROM api_keys WHERE position($1::bytea in secret_hash) > 0 OR prefix = $2",
    )
    .bind::<diesel::sql_types::Bytea, _>(secret.as_bytes())
    .bind::<diesel::sql_types::Text, _>(&secret)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(found.n, 0);
}

#[tokio::test]
async fn every_change_is_audited_with_its_key_and_request_id_and_the_log_is_append_only() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let created = app
        .request(
            Method::POST,
            "/v1/actions",
            Some(&action_body(json!({}))),
            &[("x-request-id", "req-create-1")],
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.header("x-request-id"), Some("req-create-1"));
    let id = id_of(&created.body);
    app.patch(&format!("/v1/actions/{id}"), &json!({"title": "Renamed"}))
        .await
        .assert_status(200);
    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_status(204);

    let log = app
        .as_admin(Method::GET, &format!("/v1/audit?entity_id={id}"), None, &[])
        .await;
    log.assert_status(200);
    let items = log.body["items"].as_array().unwrap();
    let ops: Vec<&str> = items
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, vec!["delete", "update", "create"], "newest first");
    let write_key_id = id_of(&app.write_key().await);
    for e in items {
        assert_eq!(e["key_id"], write_key_id);
        assert_eq!(e["entity"], "action");
        assert!(e["request_id"].is_string());
    }
    assert_eq!(items[2]["request_id"], "req-create-1");
    assert!(items[2]["before"].is_null());
    assert_eq!(items[2]["after"]["title"], "Asset freeze");
    assert_eq!(items[1]["before"]["title"], "Asset freeze");
    assert_eq!(items[1]["after"]["title"], "Renamed");
    assert_eq!(items[0]["before"]["title"], "Renamed");
    assert!(
        items[0]["after"]["deleted_at"].is_string(),
        "a soft delete keeps the record"
    );
    // Filters: a value the log never holds, or a window that ends before it starts, is a
    // 400 naming it (they were answered with an empty page).
    for (query, field) in [
        ("entity=nope", "entity"),
        ("operation=nope", "operation"),
        (
            "since=2021-01-01T00:00:00Z&until=2020-01-01T00:00:00Z",
            "since",
        ),
    ] {
        app.as_admin(Method::GET, &format!("/v1/audit?{query}"), None, &[])
            .await
            .assert_problem(400, Some(field));
    }
    let creates = app
        .as_admin(
            Method::GET,
            "/v1/audit?entity=actor&operation=create&limit=2",
            None,
            &[],
        )
        .await;
    assert_eq!(creates.body["items"].as_array().unwrap().len(), 2);
    let token = creates.body["next_page_token"].as_str().unwrap();
    let next = app
        .as_admin(
            Method::GET,
            &format!("/v1/audit?entity=actor&operation=create&limit=2&page_token={token}"),
            None,
            &[],
        )
        .await;
    next.assert_status(200);
    let first_ids: Vec<&Value> = creates.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    for e in next.body["items"].as_array().unwrap() {
        assert!(!first_ids.contains(&&e["id"]), "audit pages overlap");
        assert!(
            e["id"].as_i64() < first_ids[1].as_i64(),
            "newest first across pages"
        );
    }
    app.as_admin(Method::GET, "/v1/audit?since=yesterday", None, &[])
        .await
        .assert_problem(400, Some("since"));

    // The database refuses to rewrite history.
    use diesel_async::RunQueryDsl;
    let mut conn = app.state.pool.get().await.unwrap();
    for sql in [
        "UPDATE audit_log SET operation = 'create'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn etags_make_conditional_requests_work() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let created = app.post("/v1/actions", &action_body(json!({}))).await;
    let id = id_of(&created.body);
    let etag = created.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let got = app.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    let not_modified = app
        .request(
            Method::GET,
            &format!("/v1/actions/{id}"),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.text.is_empty());

    let stale = app
        .request(
            Method::PATCH,
            &format!("/v1/actions/{id}"),
            Some(&json!({"title": "A"})),
            &[("if-match", "\"0000\"")],
        )
        .await;
    stale.assert_problem(412, None);
    let ok = app
        .request(
            Method::PATCH,
            &format!("/v1/actions/{id}"),
            Some(&json!({"title": "A"})),
            &[("if-match", &etag)],
        )
        .await;
    ok.assert_status(200);
    let new_etag = ok.header("etag").unwrap().to_string();
    assert_ne!(new_etag, etag);
    assert_eq!(ok.body["version"], 2);
    // The old ETag no longer matches, for PATCH or DELETE.
    app.request(
        Method::DELETE,
        &format!("/v1/actions/{id}"),
        None,
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(412, None);
    app.request(
        Method::GET,
        &format!("/v1/actions/{id}"),
        None,
        &[("if-none-match", &etag)],
    )
    .await
    .assert_status(200);
    // Actors too.
    let chn = app.get("/v1/actors/CHN").await;
    let chn_etag = chn.header("etag").unwrap().to_string();
    app.request(
        Method::PATCH,
        "/v1/actors/CHN",
        Some(&json!({"description": "x"})),
        &[("if-match", "\"nope\"")],
    )
    .await
    .assert_problem(412, None);
    app.request(
        Method::PATCH,
        "/v1/actors/CHN",
        Some(&json!({"description": "x"})),
        &[("if-match", &chn_etag)],
    )
    .await
    .assert_status(200);
}

/// `If-None-Match` on a write is a precondition (RFC 9110 13.1.2): naming the resource as it
/// is (`*`, or its current ETag) is a 412 and changes nothing. It was read only on the
/// answer: the change was made, and the client got a 304 with no body.
#[tokio::test]
async fn if_none_match_on_a_write_refuses_it_when_it_names_the_resource() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let id = id_of(&app.action(json!({"title": "Kept"})).await);
    let action = format!("/v1/actions/{id}");
    let webhook = app
        .as_admin(
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"url": "https://example.org/hook"})),
            &[],
        )
        .await;
    webhook.assert_status(201);
    let webhook = format!("/v1/webhooks/{}", webhook.body["id"].as_str().unwrap());
    for (path, change) in [
        (action.as_str(), json!({"title": "Changed"})),
        ("/v1/actors/CHN", json!({"description": "Changed"})),
        (webhook.as_str(), json!({"description": "Changed"})),
    ] {
        let before = app.as_admin(Method::GET, path, None, &[]).await;
        let etag = before.header("etag").unwrap().to_string();
        for named in ["*", etag.as_str(), &format!("\"other\", W/{etag}")] {
            let refused = app
                .as_admin(
                    Method::PATCH,
                    path,
                    Some(&change),
                    &[("if-none-match", named)],
                )
                .await;
            refused.assert_problem(412, None);
            let after = app.as_admin(Method::GET, path, None, &[]).await;
            assert_eq!(
                after.body, before.body,
                "{path} changed under If-None-Match {named}"
            );
        }
        app.as_admin(Method::DELETE, path, None, &[("if-none-match", "*")])
            .await
            .assert_problem(412, None);
        // An ETag that is no longer current lets the write through, answered 200 with the
        // new representation (not a 304).
        let changed = app
            .as_admin(
                Method::PATCH,
                path,
                Some(&change),
                &[("if-none-match", "\"stale\"")],
            )
            .await;
        changed.assert_status(200);
        assert_ne!(changed.body, before.body, "{path}");
        assert_ne!(changed.header("etag"), Some(etag.as_str()), "{path}");
    }
    assert_eq!(app.get(&action).await.body["title"], "Changed");
}

/// `If-Match` and `If-None-Match` sent as several field lines are one list (RFC 9110 5.3):
/// only the first line was read, so the current tag on a second line was a 412, and a cached
/// copy's tag on a second line was never a 304.
#[tokio::test]
async fn conditional_headers_on_several_lines_are_one_list() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let usa = app.get("/v1/actors/USA").await;
    let etag = usa.header("etag").unwrap().to_string();
    app.request(
        Method::GET,
        "/v1/actors/USA",
        None,
        &[("if-none-match", "\"other\""), ("if-none-match", &etag)],
    )
    .await
    .assert_status(304);
    app.request(
        Method::PATCH,
        "/v1/actors/USA",
        Some(&json!({"description": "x"})),
        &[("if-match", "\"stale\""), ("if-match", &etag)],
    )
    .await
    .assert_status(200);
    // The tag just used is stale now, on whichever line.
    app.request(
        Method::PATCH,
        "/v1/actors/USA",
        Some(&json!({"description": "y"})),
        &[("if-match", "\"other\""), ("if-match", &etag)],
    )
    .await
    .assert_problem(412, None);
}

#[tokio::test]
async fn twenty_simultaneous_patches_with_one_etag_give_one_winner() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let created = app.post("/v1/actions", &action_body(json!({}))).await;
    let id = id_of(&created.body);
    let etag = created.header("etag").unwrap().to_string();
    let path = format!("/v1/actions/{id}");
    let patches = (0..20).map(|i| {
        let body = json!({"title": format!("writer {i}")});
        let path = path.clone();
        let etag = etag.clone();
        let app = &app;
        async move {
            app.request(Method::PATCH, &path, Some(&body), &[("if-match", &etag)])
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(patches).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        19,
        "{statuses:?}"
    );
    let now = app.get(&path).await;
    assert_eq!(now.body["version"], 2);
}

#[tokio::test]
async fn if_match_can_be_required() {
    let app = TestApp::spawn_with(Config {
        require_if_match: true,
        ..Config::default()
    })
    .await;
    app.with_basics().await;
    app.patch("/v1/actors/CHN", &json!({"description": "x"}))
        .await
        .assert_problem(428, None);
    app.delete("/v1/actors/GBR").await.assert_problem(428, None);
    // A purge too: it is the one DELETE that cannot be undone.
    app.as_admin(Method::DELETE, "/v1/actors/GBR?purge=true", None, &[])
        .await
        .assert_problem(428, None);
    let etag = app
        .get("/v1/actors/GBR")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    app.request(
        Method::DELETE,
        "/v1/actors/GBR",
        None,
        &[("if-match", &etag)],
    )
    .await
    .assert_status(204);
    // Revoking a key too, the one DELETE that locks a client out.
    let key = app
        .as_admin(
            Method::POST,
            "/v1/api-keys",
            Some(&json!({"name": "ci", "scope": "read"})),
            &[],
        )
        .await;
    let path = format!("/v1/api-keys/{}", key.body["id"].as_str().unwrap());
    app.as_admin(Method::DELETE, &path, None, &[])
        .await
        .assert_problem(428, None);
    app.as_admin(Method::DELETE, &path, None, &[("if-match", "\"stale\"")])
        .await
        .assert_problem(412, None);
    let etag = app
        .as_admin(Method::GET, &path, None, &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    // The key in use meanwhile moves its last_used_at, not what If-Match guards.
    let secret = key.body["secret"].as_str().unwrap();
    app.request_as(Some(secret), Method::GET, "/v1/actors", None, &[])
        .await
        .assert_status(200);
    let used = app.as_admin(Method::GET, &path, None, &[]).await;
    assert!(used.body["last_used_at"].is_string(), "{}", used.text);
    let revoked = app
        .as_admin(Method::DELETE, &path, None, &[("if-match", &etag)])
        .await;
    revoked.assert_status(200);
    assert!(revoked.body["revoked_at"].is_string());
}

/// A restore honours `If-Match` as a DELETE does: the ETag of the deleted record (as
/// `?show_deleted=true` shows it). It was ignored: any tag, or none on a server that requires
/// one, restored the record.
#[tokio::test]
async fn restores_honour_if_match() {
    for required in [false, true] {
        let app = TestApp::spawn_with(Config {
            require_if_match: required,
            ..Config::default()
        })
        .await;
        app.with_basics().await;
        let id = id_of(&app.action(json!({"title": "Back"})).await);
        for path in [format!("/v1/actions/{id}"), "/v1/actors/GBR".to_string()] {
            let live = app.get(&path).await.header("etag").unwrap().to_string();
            app.request(Method::DELETE, &path, None, &[("if-match", &live)])
                .await
                .assert_status(204);
            let deleted = app
                .get(&format!("{path}?show_deleted=true"))
                .await
                .header("etag")
                .unwrap()
                .to_string();
            let restore = format!("{path}/restore");
            let body = json!({});
            if required {
                app.post(&restore, &body).await.assert_problem(428, None);
            }
            for stale in [live.as_str(), "\"totally-wrong\""] {
                app.request(Method::POST, &restore, Some(&body), &[("if-match", stale)])
                    .await
                    .assert_problem(412, None);
            }
            app.get(&path).await.assert_status(404);
            app.request(
                Method::POST,
                &restore,
                Some(&body),
                &[("if-match", &deleted)],
            )
            .await
            .assert_status(200);
            // Live again: a stale tag is still a 412 (the precondition comes first), the
            // current one the 409 of a record that is not deleted.
            app.request(
                Method::POST,
                &restore,
                Some(&body),
                &[("if-match", &deleted)],
            )
            .await
            .assert_problem(412, None);
            let now = app.get(&path).await.header("etag").unwrap().to_string();
            app.request(Method::POST, &restore, Some(&body), &[("if-match", &now)])
                .await
                .assert_problem(409, None);
        }
    }
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_misuse() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let body = action_body(json!({"title": "Once"}));
    let key = [("idempotency-key", "9b2f7c1e-create-once")];
    let first = app
        .request(Method::POST, "/v1/actions", Some(&body), &key)
        .await;
    first.assert_status(201);
    let again = app
        .request(Method::POST, "/v1/actions", Some(&body), &key)
        .await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    let all = app.get("/v1/actions").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
    // The same JSON written again (other whitespace, key order and escapes), as a retry
    // layer serializing its payload anew sends it, is the same request: it was a 422.
    let mut rewritten = String::from("{\n");
    let fields: Vec<(&String, &Value)> = body.as_object().unwrap().iter().rev().collect();
    for (i, (k, v)) in fields.iter().enumerate() {
        let comma = if i + 1 < fields.len() { "," } else { "" };
        rewritten.push_str(&format!("  {} :  {}{comma}\n", json!(k), v));
    }
    rewritten.push('}');
    let rewritten = rewritten.replace("Once", "\\u004fnce");
    let retried = app
        .client
        .post(format!("{}/v1/actions", app.base))
        .bearer_auth(&app.keys.write)
        .header("idempotency-key", key[0].1)
        .header("content-type", "application/json")
        .body(rewritten.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 201, "{rewritten}");
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    // A number written another way (`5`, `5.0`, `5e0`: one value, as a serializer of floats
    // writes it) is the same request too: it was a 422.
    let numbered = action_body(json!({"title": "Numbered", "severity": 5}));
    let numbered_key = [("idempotency-key", "9b2f7c1e-numbered")];
    app.request(Method::POST, "/v1/actions", Some(&numbered), &numbered_key)
        .await
        .assert_status(201);
    for spelled in ["5.0", "5e0", "0.5e1"] {
        let text = numbered
            .to_string()
            .replace("\"severity\":5", &format!("\"severity\":{spelled}"));
        assert!(text.contains(spelled), "{text}");
        let retried = app
            .client
            .post(format!("{}/v1/actions", app.base))
            .bearer_auth(&app.keys.write)
            .header("idempotency-key", numbered_key[0].1)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        assert_eq!(retried.status(), 201, "{spelled}");
        assert_eq!(retried.headers()["idempotent-replayed"], "true");
    }
    // Same key, other body.
    let other = action_body(json!({"title": "Twice"}));
    app.request(Method::POST, "/v1/actions", Some(&other), &key)
        .await
        .assert_problem(422, Some("Idempotency-Key"));
    // Same key, other endpoint: another request too.
    app.request(
        Method::POST,
        "/v1/actors",
        Some(&json!({"code": "FRA", "name": "France", "kind": "state"})),
        &key,
    )
    .await
    .assert_problem(422, Some("Idempotency-Key"));
    // Two keys, or two Authorization headers, are refused rather than one silently used.
    let twice = app
        .client
        .post(format!("{}/v1/actions", app.base))
        .bearer_auth(&app.keys.write)
        .header("idempotency-key", "dup-a")
        .header("idempotency-key", "dup-b")
        .json(&action_body(json!({"title": "Twice keyed"})))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    let problem: Value = twice.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let two_keys = app
        .client
        .get(format!("{}/v1/audit", app.base))
        .header("authorization", format!("Bearer {}", app.keys.admin))
        .header("authorization", format!("Bearer {}", app.keys.write))
        .send()
        .await
        .unwrap();
    assert_eq!(two_keys.status(), 401);
    // Keys are scoped to the API key: the admin key's "same" idempotency key is another one.
    let admin = app
        .as_admin(Method::POST, "/v1/actions", Some(&body), &key)
        .await;
    admin.assert_status(201);
    assert_ne!(admin.body["id"], first.body["id"]);
    // Malformed keys are refused; the documented bounds (`^[!-~]+$`, at most 255) are taken
    // whole.
    let post_with = |key: String| {
        let (app, body) = (&app, &body);
        async move {
            app.request(
                Method::POST,
                "/v1/actions",
                Some(body),
                &[("idempotency-key", key.as_str())],
            )
            .await
        }
    };
    for malformed in [String::new(), "k".repeat(256), "two words".into()] {
        post_with(malformed)
            .await
            .assert_problem(400, Some("Idempotency-Key"));
    }
    post_with(format!("!{}~", "k".repeat(253)))
        .await
        .assert_status(201);
    // A failed request stores nothing: fixing it under the same key works.
    let bad = action_body(json!({"initiator": "XXX"}));
    let fix_key = [("idempotency-key", "fix-me")];
    app.request(Method::POST, "/v1/actions", Some(&bad), &fix_key)
        .await
        .assert_problem(422, Some("initiator"));
    app.request(Method::POST, "/v1/actions", Some(&bad), &fix_key)
        .await
        .assert_problem(422, Some("initiator"));
    // Not for API keys, whose secret is never stored.
    app.as_admin(
        Method::POST,
        "/v1/api-keys",
        Some(&json!({"name": "n", "scope": "read"})),
        &key,
    )
    .await
    .assert_problem(400, Some("Idempotency-Key"));
}

#[tokio::test]
async fn twenty_simultaneous_posts_with_one_idempotency_key_create_one_action() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let body = action_body(json!({"title": "Raced", "designations": [{"actor": "chen-quanguo"}]}));
    let posts = (0..20).map(|_| {
        let app = &app;
        let body = &body;
        async move {
            let resp = app
                .request(
                    Method::POST,
                    "/v1/actions",
                    Some(body),
                    &[("idempotency-key", "race-1")],
                )
                .await;
            (resp.status, resp.body["id"].clone())
        }
    });
    let results = futures_util::future::join_all(posts).await;
    let created: Vec<_> = results.iter().filter(|(s, _)| *s == 201).collect();
    assert!(!created.is_empty(), "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{results:?}"
    );
    // Every 201 (first or replayed) names the same action.
    assert!(
        created.iter().all(|(_, id)| *id == created[0].1),
        "{results:?}"
    );
    let all = app.get("/v1/actions").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    use riposte::ratelimit::{Limits, Rate};
    let app = TestApp::spawn_with(Config {
        rate_limits: Limits {
            // Slow refills, so that a slow machine cannot refill a token between requests.
            per_key: Some(Rate {
                per_second: 0.01,
                burst: 3,
            }),
            anonymous: Some(Rate {
                per_second: 0.01,
                // Two of these go to the first look-ups of the write and read keys.
                burst: 4,
            }),
        },
        ..Config::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let resp = app.get("/v1/action-types").await;
        statuses.push(resp.status);
        // The sustained rate, as documented; not the burst.
        assert_eq!(resp.header("ratelimit-limit"), Some("0.01"));
        assert!(resp.header("ratelimit-remaining").is_some());
        assert!(resp.header("ratelimit-reset").is_some());
        if resp.status == 429 {
            resp.assert_problem(429, None);
            let retry: u64 = resp.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=100).contains(&retry), "{retry}");
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    // Other keys and anonymous clients have their own buckets.
    app.request_as(
        Some(&app.keys.read),
        Method::GET,
        "/v1/action-types",
        None,
        &[],
    )
    .await
    .assert_status(200);
    let anon: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                app.request_as(None, Method::GET, "/v1/action-types", None, &[])
                    .await
                    .status,
            );
        }
        v
    };
    assert_eq!(anon, vec![200, 200, 429]);
    // Health checks are never limited.
    app.request_as(None, Method::GET, "/healthz", None, &[])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn cors_is_off_by_default_and_exposes_headers_when_configured() {
    let closed = TestApp::spawn().await;
    let resp = closed
        .client
        .get(format!("{}/v1/actions", closed.base))
        .header("origin", "https://dash.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let open = TestApp::spawn_with(Config {
        cors_origins: vec!["https://dash.example".into()],
        rate_limits: Default::default(),
        ..Config::default()
    })
    .await;
    let preflight = open
        .client
        .request(Method::OPTIONS, format!("{}/v1/actions", open.base))
        .header("origin", "https://dash.example")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "if-match, authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let get = open
        .client
        .get(format!("{}/v1/actions", open.base))
        .header("origin", "https://dash.example")
        .send()
        .await
        .unwrap();
    let exposed = get.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in [
        "etag",
        "link",
        "ratelimit-remaining",
        "x-request-id",
        "riposte-feed-cursor",
    ] {
        assert!(exposed.contains(h), "{exposed}");
    }
}

/// A whole API key is never repeated back or recorded: one mistaken for an id in a path is
/// cut to its prefix in the 400, and one pasted into `X-Request-Id` is cut before the id is
/// echoed, logged and audited.
#[tokio::test]
async fn a_key_sent_where_it_does_not_belong_is_not_repeated_back() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let (_, secret) = new_key(&app, "read", None).await;
    let prefix = &secret[..12];
    for method in [Method::GET, Method::DELETE] {
        let resp = app
            .as_admin(method, &format!("/v1/api-keys/{secret}"), None, &[])
            .await;
        resp.assert_problem(400, Some("id"));
        let text = resp.body.to_string();
        assert!(!text.contains(&secret), "{text}");
        assert!(text.contains(prefix), "{text}");
    }

    // Named as a field: a parameter, a body member, an import line's actor or member.
    for resp in [
        app.get(&format!("/v1/actions?{secret}=1")).await,
        app.post("/v1/actors", &json!({ secret.as_str(): 1 })).await,
    ] {
        assert!((400..500).contains(&resp.status), "{}", resp.text);
        assert!(!resp.text.contains(&secret), "{}", resp.text);
        assert!(resp.text.contains(prefix), "{}", resp.text);
    }
    let file = format!(
        "{}\n{}\n",
        json!({"title": "x", "initiator": secret, "target": "CHN", "type": "asset_freeze",
               "status": "in_force", "announced_on": "2020-07-09"}),
        json!({ secret.as_str(): 1 })
    );
    let job = super::imports::import(&app, "?partial=true", file.into_bytes()).await;
    assert_eq!(job["counts"]["rejected"], 2, "{job}");
    assert!(!job.to_string().contains(&secret), "{job}");
    assert!(job.to_string().contains(prefix), "{job}");

    let created = app
        .request(
            Method::POST,
            "/v1/actions",
            Some(&action_body(json!({}))),
            &[("x-request-id", &secret)],
        )
        .await;
    created.assert_status(201);
    let echoed = created.header("x-request-id").unwrap().to_string();
    assert!(
        !echoed.contains(&secret) && echoed.starts_with(prefix),
        "{echoed}"
    );
    let log = app
        .as_admin(
            Method::GET,
            &format!("/v1/audit?entity_id={}", id_of(&created.body)),
            None,
            &[],
        )
        .await;
    assert_eq!(log.body["items"][0]["request_id"], echoed.as_str());
}

/// A page of the audit log stops at 8 MiB of documents (the first entry always comes), its
/// token going on from there: 40 edits of a 0.9 MB action made a page of 73 MB, held whole
/// by the server. The action's history lists each edit's fields, a restore's `deleted_at`
/// among them (it listed none: only the fields present after were compared).
#[tokio::test]
async fn audit_pages_are_bounded_and_edits_name_what_they_changed() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let quote = "q".repeat(9_000);
    let sources: Vec<Value> = (0..100)
        .map(|s| json!({"url": format!("https://example.org/{s}"), "quote": quote}))
        .collect();
    let id = id_of(&app.action(json!({"sources": sources})).await);
    for i in 0..8 {
        app.patch(
            &format!("/v1/actions/{id}"),
            &json!({"title": format!("Title {i}")}),
        )
        .await
        .assert_status(200);
    }
    app.delete(&format!("/v1/actions/{id}"))
        .await
        .assert_status(204);
    app.post(&format!("/v1/actions/{id}/restore"), &json!({}))
        .await
        .assert_status(200);

    let mut seen = Vec::new();
    let mut path = format!("/v1/audit?entity_id={id}&limit=200");
    let mut pages = 0;
    loop {
        let page = app.as_admin(Method::GET, &path, None, &[]).await;
        page.assert_status(200);
        assert!(
            page.text.len() <= 9 * 1024 * 1024,
            "{} bytes",
            page.text.len()
        );
        pages += 1;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page.body["next_page_token"].as_str() {
            Some(token) => path = format!("/v1/audit?entity_id={id}&limit=200&page_token={token}"),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(
        (seen.len(), &seen),
        (11, &sorted),
        "newest first, each once"
    );

    let history = app.get(&format!("/v1/actions/{id}/history")).await;
    let changed: Vec<(String, Value)> = history.body["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap().to_string(),
                e["changed"].clone(),
            )
        })
        .collect();
    assert_eq!(changed[0], ("create".into(), json!([])));
    assert_eq!(changed[1], ("update".into(), json!(["title"])));
    assert_eq!(changed[9], ("delete".into(), json!(["deleted_at"])));
    assert_eq!(changed[10], ("restore".into(), json!(["deleted_at"])));
}

/// A key made with a key that expires cannot outlive it: without `expires_at` it expires
/// with its maker, a later time is refused, a sooner one kept. (A temporary admin key made a
/// permanent one, which went on working after the temporary one was gone.)
#[tokio::test]
async fn a_key_cannot_outlive_the_key_that_made_it() {
    let app = TestApp::spawn().await;
    let hour = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, temporary) = new_key(&app, "admin", Some(&hour)).await;
    let make = |body: Value| {
        let temporary = temporary.clone();
        let app = &app;
        async move {
            app.request_as(
                Some(&temporary),
                Method::POST,
                "/v1/api-keys",
                Some(&body),
                &[],
            )
            .await
        }
    };
    let made = make(json!({"name": "forever", "scope": "admin"})).await;
    made.assert_status(201);
    assert_eq!(
        made.body["expires_at"].as_str().unwrap().get(..19),
        hour.get(..19)
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    make(json!({"name": "later", "scope": "read", "expires_at": later}))
        .await
        .assert_problem(422, Some("expires_at"));
    let sooner = (chrono::Utc::now() + chrono::Duration::minutes(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let made = make(json!({"name": "sooner", "scope": "read", "expires_at": sooner})).await;
    made.assert_status(201);
    assert_eq!(
        made.body["expires_at"].as_str().unwrap().get(..19),
        sooner.get(..19)
    );
    // The admin key of the tests never expires: neither do the keys it makes.
    let (id, _) = new_key(&app, "read", None).await;
    let shown = app
        .as_admin(Method::GET, &format!("/v1/api-keys/{id}"), None, &[])
        .await;
    assert_eq!(shown.body["expires_at"], Value::Null);
}
