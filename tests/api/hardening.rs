//! The defects a hostile review found (issue #11): each test fails on the code before the fix.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use super::contract::resolve;
use super::helpers::{action_body, TestApp};

/// A hundred thousand tags (400 KB, under the body limit) are refused by their count, in one
/// short error, on create and on patch; the per-item rules do not run over them.
#[tokio::test]
async fn an_over_long_list_is_refused_by_its_count() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let tags: Vec<String> = vec!["x".to_string(); 100_000];
    let resp = app
        .post("/v1/actions", &action_body(json!({"tags": tags})))
        .await;
    resp.assert_problem(422, Some("tags"));
    assert_eq!(
        resp.body["errors"].as_array().unwrap().len(),
        1,
        "{}",
        resp.text
    );
    assert!(resp.text.len() < 2_000, "{} bytes", resp.text.len());
    assert!(resp.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("100000 given"));

    let id = app.action(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .patch(&format!("/v1/actions/{id}"), &json!({"tags": tags}))
        .await;
    resp.assert_problem(422, Some("tags"));
    assert_eq!(resp.body["errors"].as_array().unwrap().len(), 1);

    let aliases: Vec<String> = vec![String::new(); 50_000];
    let resp = app
        .patch("/v1/actors/chen-quanguo", &json!({"aliases": aliases}))
        .await;
    resp.assert_problem(422, Some("aliases"));
    assert_eq!(resp.body["errors"].as_array().unwrap().len(), 1);
}

/// A problem lists at most 100 errors and says how many more there were.
#[tokio::test]
async fn a_problem_lists_the_first_hundred_errors_and_counts_the_rest() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let designations: Vec<Value> = (0..1000)
        .map(|i| json!({"actor": format!("nobody-{i}")}))
        .collect();
    let resp = app
        .post(
            "/v1/actions",
            &action_body(json!({"designations": designations})),
        )
        .await;
    resp.assert_problem(422, Some("designations[0].actor"));
    assert_eq!(resp.body["errors"].as_array().unwrap().len(), 100);
    let detail = resp.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("1000 fields") && detail.contains("900 more"),
        "{detail}"
    );
    // Distinct duplicates are found in linear time and reported per item.
    let tags: Vec<String> = (0..50).map(|_| "same".to_string()).collect();
    let resp = app
        .post("/v1/actions", &action_body(json!({"tags": tags})))
        .await;
    resp.assert_problem(422, Some("tags[49]"));
    assert_eq!(resp.body["errors"].as_array().unwrap().len(), 49);
}

/// Only `YYYY-MM-DD` with a year from 0001 to 9999 is a date, in bodies and in queries; the
/// same range holds for timestamps.
#[tokio::test]
async fn dates_outside_years_one_to_9999_are_refused() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    for bad in [
        "-001-01-01",
        "+202-01-01",
        "0000-01-01",
        "10000-01-01",
        "2020-1-01",
        " 2020-01-01",
        "0000",
        "0000-05",
        "+2020",
    ] {
        let resp = app
            .post("/v1/actions", &action_body(json!({"announced_on": bad})))
            .await;
        resp.assert_problem(422, Some("announced_on"));
        let resp = app
            .post("/v1/actions", &action_body(json!({"effective_from": bad})))
            .await;
        resp.assert_problem(422, Some("effective_from"));
        let resp = app
            .get(&format!("/v1/actions?from={}", urlencode(bad)))
            .await;
        resp.assert_problem(400, Some("from"));
    }
    // The edges of the range are dates like any other.
    let first = app.action(json!({"announced_on": "0001-01-01"})).await;
    assert_eq!(first["announced_on"], "0001-01-01");
    let last = app.action(json!({"announced_on": "9999-12-31"})).await;
    assert_eq!(last["announced_on"], "9999-12-31");
    // The dyad's default timeline still works with them in it.
    app.get("/v1/dyads/USA/CHN/timeline?interval=year&from=2019-01-01&to=2021-01-01")
        .await
        .assert_status(200);

    for bad in [
        "+10000-01-01T00:00:00Z",
        "0000-12-31T23:00:00Z",
        "-0001-01-01T00:00:00Z",
        "2030-01-01",
    ] {
        let resp = app
            .as_admin(
                Method::POST,
                "/v1/api-keys",
                Some(&json!({"name": "k", "scope": "read", "expires_at": bad})),
                &[],
            )
            .await;
        resp.assert_problem(422, Some("expires_at"));
        let resp = app
            .get(&format!("/v1/actions?updated_since={}", urlencode(bad)))
            .await;
        resp.assert_problem(400, Some("updated_since"));
        let resp = app
            .as_admin(
                Method::GET,
                &format!("/v1/audit?since={}", urlencode(bad)),
                None,
                &[],
            )
            .await;
        resp.assert_problem(400, Some("since"));
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Page tokens are signed: a forged one (here carrying year -5000, which used to reach
/// PostgreSQL and come back as a 500) is a 400 on every paged endpoint, whatever the sort.
#[tokio::test]
async fn forged_page_tokens_are_400s() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let first = app.action(json!({})).await;
    let id = first["id"].as_str().unwrap();
    let forge = |key: Value| {
        // The shape of an unsigned token of the old format, and a signed-looking one.
        let json = json!({"k": key, "f": "0@/v1/actions"}).to_string();
        let plain = URL_SAFE_NO_PAD.encode(json.as_bytes());
        let dotted = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key.to_string().as_bytes()),
            URL_SAFE_NO_PAD.encode([7u8; 16])
        );
        [plain, dotted]
    };
    let uuid = "0a1f0000-0000-4000-8000-000000000001";
    let cases = [
        ("/v1/actions?", json!([{"d": "-5000-01-01"}, uuid])),
        (
            "/v1/actions?sort=updated_at&",
            json!([{"t": "-5000-01-01T00:00:00Z"}, uuid]),
        ),
        (
            "/v1/actions?sort=severity&",
            json!([{"f": 9221120237041090560u64}, uuid]),
        ),
        (
            &*format!("/v1/actions/{id}/responses?"),
            json!([{"d": "-5000-01-01"}, uuid]),
        ),
        (
            "/v1/actors/chen-quanguo/designations?",
            json!([{"d": "-5000-01-01"}, uuid]),
        ),
        ("/v1/actors?", json!("\u{0}")),
    ];
    for (path, key) in cases {
        for token in forge(key.clone()) {
            let resp = app.get(&format!("{path}page_token={token}")).await;
            resp.assert_problem(400, Some("page_token"));
        }
    }
    for token in forge(json!(["-5000-01-01T00:00:00Z", uuid])) {
        let resp = app
            .as_admin(
                Method::GET,
                &format!("/v1/api-keys?page_token={token}"),
                None,
                &[],
            )
            .await;
        resp.assert_problem(400, Some("page_token"));
    }
    for token in forge(json!(-5)) {
        let resp = app
            .as_admin(
                Method::GET,
                &format!("/v1/audit?page_token={token}"),
                None,
                &[],
            )
            .await;
        resp.assert_problem(400, Some("page_token"));
    }
}

/// A real token works on its own query and server only; every altered copy of it is a 400.
#[tokio::test]
async fn page_tokens_are_tamper_evident_and_bound_to_their_server() {
    let app = TestApp::spawn().await;
    let other = TestApp::spawn().await;
    for a in [&app, &other] {
        a.with_basics().await;
        for day in ["2020-01-01", "2020-01-02", "2020-01-03"] {
            a.action(json!({"announced_on": day})).await;
        }
    }
    let page = app.get("/v1/actions?limit=1").await;
    page.assert_status(200);
    let token = page.body["next_page_token"].as_str().unwrap().to_string();
    app.get(&format!("/v1/actions?limit=1&page_token={token}"))
        .await
        .assert_status(200);
    // Same filters, another server (another secret): refused.
    other
        .get(&format!("/v1/actions?limit=1&page_token={token}"))
        .await
        .assert_problem(400, Some("page_token"));
    // Other filters: refused.
    app.get(&format!(
        "/v1/actions?limit=1&initiator=USA&page_token={token}"
    ))
    .await
    .assert_problem(400, Some("page_token"));

    // Fuzz: flip, drop, insert and swap characters; never anything but the one valid token.
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        .chars()
        .collect();
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let original: Vec<char> = token.chars().collect();
    for _ in 0..300 {
        let mut t = original.clone();
        for _ in 0..1 + next(3) {
            let at = next(t.len());
            match next(3) {
                0 => t[at] = alphabet[next(alphabet.len())],
                1 => {
                    t.remove(at);
                }
                _ => t.insert(at, alphabet[next(alphabet.len())]),
            }
        }
        let t: String = t.into_iter().collect();
        if t == token {
            continue;
        }
        let resp = app
            .get(&format!("/v1/actions?limit=1&page_token={}", urlencode(&t)))
            .await;
        resp.assert_problem(400, Some("page_token"));
    }
}

fn limited(
    per_key: f64,
    key_burst: u32,
    anonymous: f64,
    anon_burst: u32,
) -> riposte::state::Config {
    use riposte::ratelimit::{Limits, Rate};
    riposte::state::Config {
        rate_limits: Limits {
            per_key: Some(Rate {
                per_second: per_key,
                burst: key_burst,
            }),
            anonymous: Some(Rate {
                per_second: anonymous,
                burst: anon_burst,
            }),
        },
        cors_origins: vec!["https://dash.example".into()],
        ..Default::default()
    }
}

/// Made-up keys (well-formed: the checksum is public) spend the address's budget: after it,
/// 429s, with no more database look-ups; they buy no bucket of their own.
#[tokio::test]
async fn made_up_keys_spend_the_address_budget() {
    let app = TestApp::spawn_with(limited(0.01, 1000, 0.01, 10)).await;
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let fake = riposte::auth::generate().secret;
        let resp = app
            .request_as(Some(&fake), Method::GET, "/v1/action-types", None, &[])
            .await;
        statuses.push(resp.status);
    }
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((unauthorized, limited), (10, 50), "{statuses:?}");
    // Malformed headers and no header at all draw on the same budget.
    for header in ["Bearer nonsense", "Basic abc", ""] {
        let resp = app
            .client
            .get(format!("{}/v1/action-types", app.base))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429, "{header:?}");
    }
    let resp = app
        .request_as(None, Method::GET, "/v1/action-types", None, &[])
        .await;
    resp.assert_problem(429, None);
    // The real keys are unaffected once known; their first look-up needs the address though.
}

/// One key is one bucket, whatever the spelling of its `Authorization` header; the header
/// states the documented rate, not the burst.
#[tokio::test]
async fn one_key_is_one_bucket_whatever_the_scheme_spelling() {
    let app = TestApp::spawn_with(limited(0.01, 6, 0.01, 100)).await;
    let mut statuses = Vec::new();
    for i in 0..18 {
        let scheme = ["Bearer", "bearer", "BEARER"][i % 3];
        let resp = app
            .client
            .get(format!("{}/v1/action-types", app.base))
            .header("authorization", format!("{scheme} {}", app.keys.read))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()["ratelimit-limit"].to_str().unwrap(),
            "0.01",
            "the rate, not the burst"
        );
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        6,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 12);
}

/// A 429 carries the CORS headers, so that a browser can read it and its Retry-After.
#[tokio::test]
async fn rate_limited_answers_carry_cors_headers() {
    let app = TestApp::spawn_with(limited(100.0, 200, 0.01, 1)).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            app.client
                .get(format!("{}/v1/action-types", app.base))
                .header("origin", "https://dash.example")
                .send()
                .await
                .unwrap(),
        );
    }
    let resp = last.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    assert!(resp.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("retry-after"));
    // A preflight from an origin that is not allowed is refused in problem+json.
    let resp = app
        .client
        .request(Method::OPTIONS, format!("{}/v1/actions", app.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    // One title per problem type: the lower layer's refusal reads as riposte's own 400.
    if status == 400 {
        assert_eq!(
            (&body["type"], &body["title"]),
            (
                &json!("/problems/bad-request"),
                &json!("The request is malformed")
            )
        );
    }
}

/// A body that stops arriving gets 408 and its connection closed, within the documented
/// time; ten of them at once do not keep the server from answering others.
#[tokio::test]
async fn a_stalled_body_gets_408_and_its_connection_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..10 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /v1/actors HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"code\":",
            app.keys.write
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        stalled.push(socket);
    }
    // Others are served meanwhile.
    app.get("/v1/action-types").await.assert_status(200);
    for mut socket in stalled {
        let mut answer = Vec::new();
        // Read to the end: the server must close the connection (bounded by the test's
        // own timeout, well past the documented 10 s).
        tokio::time::timeout(
            std::time::Duration::from_secs(40),
            socket.read_to_end(&mut answer),
        )
        .await
        .expect("the server closes a stalled connection")
        .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
    }
}

/// An authority acts for the initiator: it is the initiator, belongs to it, or sits under it.
#[tokio::test]
async fn an_authority_must_act_for_the_initiator() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    app.actor(
        json!({"code": "us-ofac", "name": "OFAC", "kind": "government_body",
        "country": "USA", "parent": "us-treasury"}),
    )
    .await;
    app.actor(
        json!({"code": "chn-mfa", "name": "Ministry of Foreign Affairs",
        "kind": "government_body", "country": "CHN"}),
    )
    .await;
    // China's action with a US authority: refused, saying why.
    let resp = app
        .post(
            "/v1/actions",
            &action_body(json!({"initiator": "CHN", "target": "USA", "authority": "us-ofac"})),
        )
        .await;
    resp.assert_problem(422, Some("authority"));
    assert!(resp.text.contains("does not act for"), "{}", resp.text);
    // The initiator's own bodies, directly or through a parent, and the state itself.
    for (initiator, target, authority) in [
        ("USA", "CHN", "us-ofac"),
        ("USA", "CHN", "us-treasury"),
        ("CHN", "USA", "chn-mfa"),
        ("CHN", "USA", "CHN"),
    ] {
        app.action(json!({"initiator": initiator, "target": target, "authority": authority}))
            .await;
    }
    // A patch that moves the initiator away from its authority is refused too.
    let id = app.action(json!({"authority": "us-ofac"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"initiator": "CHN", "target": "USA"}),
        )
        .await;
    resp.assert_problem(422, Some("authority"));
}

/// Every POST that accepts `Idempotency-Key` replays its first answer (status, Location,
/// ETag, body) to a retry, and does the work once.
#[tokio::test]
async fn every_post_with_an_idempotency_key_replays_its_first_answer() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = app.action(json!({})).await;
    let action_id = action["id"].as_str().unwrap().to_string();
    app.delete(&format!("/v1/actions/{action_id}"))
        .await
        .assert_status(204);
    app.actor(
        json!({"code": "gone-body", "name": "Gone", "kind": "government_body",
        "country": "USA"}),
    )
    .await;
    app.delete("/v1/actors/gone-body").await.assert_status(204);

    let posts: [(&str, Value, u16); 4] = [
        (
            "/v1/actors",
            json!({"code": "FRA", "name": "France", "kind": "state"}),
            201,
        ),
        (
            "/v1/actions",
            action_body(json!({"title": "Tariffs replayed"})),
            201,
        ),
        (&*format!("/v1/actions/{action_id}/restore"), json!({}), 200),
        ("/v1/actors/gone-body/restore", json!({}), 200),
    ];
    for (i, (path, body, status)) in posts.iter().enumerate() {
        let key = format!("retry-{i}");
        let headers = [("idempotency-key", key.as_str())];
        let first = app.request(Method::POST, path, Some(body), &headers).await;
        first.assert_status(*status);
        assert!(first.header("idempotent-replayed").is_none());
        let again = app.request(Method::POST, path, Some(body), &headers).await;
        again.assert_status(*status);
        assert_eq!(again.header("idempotent-replayed"), Some("true"), "{path}");
        assert_eq!(again.text, first.text, "{path}");
        assert_eq!(again.header("etag"), first.header("etag"), "{path}");
        assert!(first.header("etag").is_some(), "{path}");
        assert_eq!(again.header("location"), first.header("location"), "{path}");
    }
    // Done once: one France, one "Tariffs replayed".
    let france = app.get("/v1/actors?kind=state").await;
    let codes: Vec<&str> = france.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["code"].as_str())
        .filter(|c| *c == "FRA")
        .collect();
    assert_eq!(codes, ["FRA"]);
    let once = app.get("/v1/actions?q=replayed").await;
    assert_eq!(once.body["items"].as_array().unwrap().len(), 1);
    // Keys are refused where no answer could be replayed.
    let resp = app
        .as_admin(
            Method::POST,
            "/v1/api-keys",
            Some(&json!({"name": "k", "scope": "read"})),
            &[("idempotency-key", "k1")],
        )
        .await;
    resp.assert_problem(400, None);
}

/// No POST ignores an `Idempotency-Key`: those whose document does not offer it refuse it
/// with a 400 that says why and does nothing. Imports, redeliveries and rotations took the
/// header and did the work again on a retry (a docs review: a retried rotation ended the
/// first secret's overlap).
#[tokio::test]
async fn every_post_that_cannot_honour_an_idempotency_key_refuses_it() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let hook = app
        .as_admin(
            Method::POST,
            "/v1/webhooks",
            Some(&json!({"url": "https://example.com/hook"})),
            &[],
        )
        .await;
    hook.assert_status(201);
    let hook_id = hook.body["id"].as_str().unwrap().to_string();
    let document = super::contract::document();
    let mut refused = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(post) = item.get("post") else {
            continue;
        };
        let offers = post["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
        if offers {
            continue;
        }
        let url = path.replace("{id}", &hook_id);
        // A body each would take: the key is what is refused.
        let body = match path.as_str() {
            "/v1/api-keys" => json!({"name": "n", "scope": "read"}),
            "/v1/webhooks" => json!({"url": "https://example.com/other"}),
            "/v1/webhooks/{id}/redeliver" => json!({"from_cursor": "0"}),
            _ => action_body(json!({})),
        };
        let resp = app
            .as_admin(
                Method::POST,
                &url,
                Some(&body),
                &[("idempotency-key", "once")],
            )
            .await;
        resp.assert_problem(400, Some("Idempotency-Key"));
        assert!(
            resp.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("not supported here: "),
            "{url}: {}",
            resp.text
        );
        refused.push(path.as_str());
    }
    refused.sort_unstable();
    assert_eq!(
        refused,
        [
            "/v1/api-keys",
            "/v1/imports",
            "/v1/webhooks",
            "/v1/webhooks/{id}/redeliver",
            "/v1/webhooks/{id}/rotate-secret"
        ]
    );
    // Nothing was done: no job, the subscription as it was.
    let jobs = app.get("/v1/imports").await;
    assert_eq!(jobs.body["items"], json!([]), "{}", jobs.text);
    let now = app
        .as_admin(Method::GET, &format!("/v1/webhooks/{hook_id}"), None, &[])
        .await;
    assert_eq!(now.body["version"], hook.body["version"], "{}", now.text);
}

/// Refusals say what to send, in the client's terms: not the standard library's words for a
/// bad integer, not an actor code as the example of a list of types, not "give
/// status_changed_on" to a client that gave it (an adversarial review).
#[tokio::test]
async fn refusals_say_what_to_send() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let message = |resp: &super::helpers::Resp| {
        resp.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let huge = app.get("/v1/dyads?limit=99999999999999999999").await;
    huge.assert_problem(400, Some("limit"));
    assert_eq!(
        message(&huge),
        "must be a whole number; this one is far too large"
    );
    let word = app.get("/v1/actions?limit=ten").await;
    word.assert_problem(400, Some("limit"));
    assert_eq!(message(&word), "must be a whole number");
    let empty = app.get("/v1/changes?type=visa_ban,").await;
    empty.assert_problem(400, Some("type"));
    assert!(
        message(&empty).ends_with("e.g. `asset_freeze,visa_ban`"),
        "{}",
        empty.text
    );
    for path in ["/v1/counts?actor=", "/v1/dyads?actor=%20"] {
        app.get(path).await.assert_problem(400, Some("actor"));
    }
    let action = app
        .action(json!({"status": "in_force", "announced_on": "2020-07-09"}))
        .await;
    let early = app
        .patch(
            &format!("/v1/actions/{}", action["id"].as_str().unwrap()),
            &json!({"status": "lifted", "status_changed_on": "2020-01-01"}),
        )
        .await;
    early.assert_problem(422, Some("status_changed_on"));
    assert_eq!(
        message(&early),
        "2020-01-01 is before the last recorded status change (in_force, 2020-07-09); give \
         status_changed_on on or after 2020-07-09"
    );
}

/// The smaller contract breaks of the review.
#[tokio::test]
async fn smaller_contract_breaks_are_fixed() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let action = app.action(json!({})).await;
    let id = action["id"].as_str().unwrap().to_string();

    // Unknown query parameters are 400s everywhere.
    app.get("/v1/action-types?bogus=1")
        .await
        .assert_problem(400, Some("bogus"));
    app.as_admin(Method::GET, "/v1/audit?bogus=1", None, &[])
        .await
        .assert_problem(400, Some("bogus"));

    // A dyad is two different states or IGOs.
    app.get("/v1/dyads/USA/USA")
        .await
        .assert_problem(400, Some("b"));
    app.get("/v1/dyads/USA/USA/timeline")
        .await
        .assert_problem(400, Some("b"));
    let person = app.get("/v1/dyads/USA/chen-quanguo").await;
    person.assert_problem(400, Some("b"));
    assert!(
        person
            .text
            .contains("GET /v1/actors/chen-quanguo/designations"),
        "says where a person's measures are: {}",
        person.text
    );
    app.get("/v1/dyads/xinjiang-psb/USA")
        .await
        .assert_problem(400, Some("a"));
    app.get("/v1/dyads?actor=chen-quanguo")
        .await
        .assert_problem(400, Some("actor"));

    // HEAD answers like GET, without a body.
    for path in ["/v1/actions", &*format!("/v1/actions/{id}"), "/healthz"] {
        let resp = app
            .client
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers().contains_key("etag") || path == "/healthz");
        assert!(resp.bytes().await.unwrap().is_empty());
    }

    // An id has one written form.
    let simple = id.replace('-', "");
    for other in [
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        simple.clone(),
    ] {
        app.get(&format!("/v1/actions/{}", urlencode(&other)))
            .await
            .assert_problem(400, Some("id"));
        let resp = app
            .post(
                "/v1/actions",
                &action_body(json!({"announced_on": "2021-01-01",
                    "responds_to": [{"action": other, "relation": "retaliates"}]})),
            )
            .await;
        resp.assert_problem(422, Some("responds_to[0].action"));
    }
    app.get(&format!("/v1/actions/{}", id.to_uppercase()))
        .await
        .assert_status(200);
    app.as_admin(
        Method::GET,
        &format!("/v1/audit?entity_id={simple}"),
        None,
        &[],
    )
    .await
    .assert_problem(400, Some("entity_id"));
    app.as_admin(Method::GET, &format!("/v1/audit?entity_id={id}"), None, &[])
        .await
        .assert_status(200);

    // Codes are unique whatever their case.
    let resp = app
        .post(
            "/v1/actors",
            &json!({"code": "usa", "name": "Not the US", "kind": "igo"}),
        )
        .await;
    resp.assert_problem(409, None);
}

/// A server on the seed with one webhook subscription (the seed has none: it would
/// deliver), and the committed OpenAPI document, for tests that try what it documents.
struct Seeded {
    app: TestApp,
    doc: Value,
    webhook_id: String,
}

impl Seeded {
    async fn start() -> Seeded {
        let app = TestApp::spawn().await;
        riposte::seed::run(&app.state, "xinjiang-2020")
            .await
            .unwrap();
        let doc =
            serde_json::from_str(include_str!("../../openapi/openapi.json")).expect("the document");
        let webhook = app
            .as_admin(
                Method::POST,
                "/v1/webhooks",
                Some(&json!({"url": "https://hooks.example.org/riposte"})),
                &[],
            )
            .await;
        webhook.assert_status(201);
        let webhook_id = webhook.body["id"].as_str().unwrap().to_string();
        Seeded {
            app,
            doc,
            webhook_id,
        }
    }
}

/// `path` with each path parameter of `op` given its example (the subscription's id under
/// `/v1/webhooks/`); None when one has neither.
fn filled_path(path: &str, op: &Value, webhook_id: &str) -> Option<String> {
    let mut url = path.to_string();
    for param in op["parameters"].as_array().into_iter().flatten() {
        if param["in"] == "path" {
            let name = param["name"].as_str().unwrap();
            let value = param["example"]
                .as_str()
                .or(path.starts_with("/v1/webhooks/").then_some(webhook_id))?;
            url = url.replace(&format!("{{{name}}}"), value);
        }
    }
    Some(url)
}

/// Every request example of the committed OpenAPI document works against the seeded data,
/// with the documented success status ("Try it out" in /docs must not give a 422).
#[tokio::test]
async fn every_documented_request_example_works_on_the_seed() {
    let Seeded {
        app,
        doc,
        webhook_id,
    } = Seeded::start().await;
    let mut sent = 0;
    // A file upload's example is a file: its job must store every line of it, on the seed
    // alone (before the JSON examples below add their actors).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let content = &op["requestBody"]["content"]["application/x-ndjson"];
            let Some(file) = content["example"].as_str() else {
                continue;
            };
            assert_eq!(method, "post", "{method} {path}: a file is POSTed");
            let job = super::imports::import(&app, "", file.as_bytes().to_vec()).await;
            assert_eq!(
                (job["state"].as_str(), &job["counts"]["rejected"]),
                (Some("succeeded"), &json!(0)),
                "POST {path} with its documented example: {job}"
            );
            sent += 1;
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"]["application/json"].as_object() else {
                continue;
            };
            let example = content.get("example").cloned().unwrap_or_else(|| {
                let reference = content["schema"]["$ref"].as_str().expect("a schema ref");
                let name = reference.rsplit('/').next().unwrap();
                doc["components"]["schemas"][name]["example"].clone()
            });
            assert!(!example.is_null(), "{method} {path} has no request example");
            let url = filled_path(path, op, &webhook_id)
                .unwrap_or_else(|| panic!("{method} {path}: no example for a path parameter"));
            let expected: u16 = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter_map(|k| k.parse::<u16>().ok())
                .filter(|s| (200..300).contains(s))
                .min()
                .unwrap();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app
                .as_admin(method.clone(), &url, Some(&example), &[])
                .await;
            assert_eq!(
                resp.status, expected,
                "{method} {url} with its documented example: {}",
                resp.text
            );
            sent += 1;
        }
    }
    assert!(sent >= 5, "only {sent} examples sent");
}

/// Every query parameter the committed document lists for a read is one the endpoint takes:
/// given alone, with its example (or the first value its schema allows), on the seed, it is
/// never the parameter a 400 names. A parameter listed but refused (a list's paging on the
/// export, say) fails here.
#[tokio::test]
async fn every_documented_query_parameter_is_taken() {
    let Seeded {
        app,
        doc,
        webhook_id,
    } = Seeded::start().await;
    // A value for a parameter: its example, else the first its schema allows.
    let value_of = |param: &Value| -> Option<String> {
        let schema = resolve(&doc, &param["schema"]);
        let example = match &param["example"] {
            Value::Null => schema["example"].clone(),
            given => given.clone(),
        };
        let plain = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
            other => Some(other.to_string()),
        };
        match example {
            Value::Array(items) => items.first().and_then(plain),
            Value::Null => {
                let items = resolve(&doc, &schema["items"]);
                let enumerated = schema["enum"][0].clone();
                let enumerated = match enumerated {
                    Value::Null => items["enum"][0].clone(),
                    e => e,
                };
                if !enumerated.is_null() {
                    return plain(&enumerated);
                }
                let kind = schema["type"].as_str().or(schema["type"][0].as_str());
                match kind {
                    Some("boolean") => Some("true".into()),
                    Some("integer") => Some(schema["minimum"].as_i64().unwrap_or(1).to_string()),
                    _ => None,
                }
            }
            other => plain(&other),
        }
    };
    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        // An import or API key of the caller's own: none on the seed.
        let Some(base) = filled_path(path, op, &webhook_id) else {
            continue;
        };
        let streams = op["responses"]["200"]["content"]
            .get("text/event-stream")
            .is_some();
        for param in params.iter().filter(|p| p["in"] == "query") {
            let name = param["name"].as_str().unwrap();
            // A page token is only ever one the server gave.
            let Some(value) = value_of(param).filter(|_| name != "page_token") else {
                continue;
            };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(name, &value)
                .finish();
            let url = format!("{base}?{query}");
            let (status, fields, text) = if streams {
                let resp = app
                    .client
                    .get(format!("{}{url}", app.base))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let text = match status {
                    200 => String::new(),
                    _ => resp.text().await.unwrap(),
                };
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let fields = body["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect();
                (status, fields, text)
            } else {
                let resp = app.as_admin(Method::GET, &url, None, &[]).await;
                (resp.status, resp.error_fields(), resp.text)
            };
            assert!(
                status != 400 || !fields.iter().any(|f| f == name),
                "GET {url}: the documented parameter {name} is refused: {text}"
            );
            assert!(status < 500, "GET {url}: {text}");
            sent += 1;
        }
    }
    assert!(sent >= 40, "only {sent} parameters sent");
}

/// Every operation of the API refuses a query parameter it does not document, with a 400
/// naming it and offering exactly the documented ones, before it reads or changes anything.
/// (`history?limit=1`, `chain?x=1`, `PATCH ...?x=1` were answered as if it were not there;
/// an export's 400 once offered its refused `limit` and left out its `format`.)
#[tokio::test]
async fn every_operation_refuses_an_unknown_query_parameter() {
    let Seeded {
        app,
        doc,
        webhook_id,
    } = Seeded::start().await;
    let before = app.get("/v1/changes?after=0&limit=1000").await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            // The parameter is refused before the path is read: any id will do.
            let base = filled_path(path, op, &webhook_id).unwrap_or_else(|| {
                path.split('/')
                    .map(|s| match s.starts_with('{') {
                        true => "0a1f0000-0000-4000-8000-000000000001",
                        false => s,
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            });
            let url = format!("{}{base}?zz_unknown=1", app.base);
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let resp = app
                .client
                .request(method.clone(), &url)
                .bearer_auth(&app.keys.admin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 400, "{method} {url}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["errors"][0]["field"], "zz_unknown", "{method} {url}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            let mut documented: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let mut offered: Vec<&str> = match message.split_once("expected one of") {
                Some((_, list)) => list.split('`').skip(1).step_by(2).collect(),
                None => {
                    assert!(message.ends_with("takes no query parameters"), "{message}");
                    Vec::new()
                }
            };
            offered.sort();
            documented.sort();
            assert_eq!(offered, documented, "{method} {url}: {message}");
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} operations checked");
    // Nothing was changed on the way.
    let after = app.get("/v1/changes?after=0&limit=1000").await.body;
    assert_eq!(after["items"], before["items"]);
}

/// Every field at fault is reported in one problem, unreadable values and broken rules
/// together; a stand-in for an unreadable value causes no error of its own elsewhere.
#[tokio::test]
async fn every_field_at_fault_is_reported_at_once() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let earlier = app.action(json!({"announced_on": "2020-01-01"})).await;
    let earlier_id = earlier["id"].as_str().unwrap();

    let resp = app
        .post(
            "/v1/actions",
            &json!({
                "title": "",
                "initiator": "XXX",
                "target": "CHN",
                "type": "no_such_type",
                "status": "in_force",
                "announced_on": "2020-13-45",
                "responds_to": [{"action": earlier_id, "relation": "retaliates"}],
                "severity": "very",
                "bogus": 1,
                "tags": ["ok", 7, "ok"]
            }),
        )
        .await;
    resp.assert_problem(422, None);
    let mut fields = resp.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "announced_on",
            "bogus",
            "initiator",
            "severity",
            "tags[1]",
            "tags[2]",
            "title",
            "type"
        ],
        "{}",
        resp.text
    );
    // Missing required fields are named too, with the rest checked.
    let resp = app
        .post("/v1/actions", &json!({"initiator": "USA", "target": "USA"}))
        .await;
    let fields = resp.error_fields();
    for f in ["title", "type", "status", "announced_on", "target"] {
        assert!(fields.iter().any(|x| x == f), "{f}: {}", resp.text);
    }
    // Patches: an unreadable date and an over-long title together.
    let id = app.action(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .patch(
            &format!("/v1/actions/{id}"),
            &json!({"effective_from": "yesterday", "title": "x".repeat(501), "status": "nope"}),
        )
        .await;
    resp.assert_problem(422, None);
    let mut fields = resp.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["effective_from", "status", "title"],
        "{}",
        resp.text
    );
    // An unreadable body is a 422 even with a stale If-Match (which alone is a 412).
    let resp = app
        .request(
            Method::PATCH,
            &format!("/v1/actions/{id}"),
            Some(&json!({"effective_from": "yesterday"})),
            &[("if-match", "\"stale\"")],
        )
        .await;
    resp.assert_problem(422, Some("effective_from"));
    app.request(
        Method::PATCH,
        &format!("/v1/actions/{id}"),
        Some(&json!({"title": "Fine"})),
        &[("if-match", "\"stale\"")],
    )
    .await
    .assert_problem(412, None);
    // Actors alike.
    let resp = app
        .post(
            "/v1/actors",
            &json!({"code": "Bad Code", "name": "", "kind": "martian", "country": "CHN"}),
        )
        .await;
    let mut fields = resp.error_fields();
    fields.sort();
    assert_eq!(fields, ["kind", "name"], "{}", resp.text);
    let resp = app
        .post(
            "/v1/actors",
            &json!({"code": "Bad Code", "name": "", "kind": "person", "country": "CHN", "aliases": [1]}),
        )
        .await;
    let mut fields = resp.error_fields();
    fields.sort();
    assert_eq!(fields, ["aliases[0]", "code", "name"], "{}", resp.text);
    // Nothing was written by any of them.
    assert_eq!(
        app.get("/v1/actions").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// One bounded field of a request body, found in the committed document.
struct Bounded {
    /// The schema that states the bound.
    schema: String,
    /// Where the field is in the body (`sources`, 0, `publisher`).
    at: Vec<Value>,
    /// The name a problem gives it (`sources[0].publisher`).
    name: String,
    kind: BoundKind,
}

#[derive(Clone, Copy)]
enum BoundKind {
    Chars(usize),
    Maximum(f64),
    /// A list of strings: at most `items` of at most `chars` characters. `Count` is the edge
    /// of the count, `ItemChars` of the first string's length.
    Count {
        items: usize,
        chars: usize,
    },
    ItemChars {
        items: usize,
        chars: usize,
    },
    /// A list of objects, tried past its count only (with copies of one valid item): as
    /// many valid, distinct items as the count allows would need stored actors and actions
    /// of their own.
    Objects(usize),
}

/// The bounded fields of `schema`, and one level down into its lists of objects; `example`
/// gets the item schema's example where it has no item, so that every field can be set.
fn bounded_fields(doc: &Value, schema: &str, example: &mut Value) -> Vec<Bounded> {
    let mut found = Vec::new();
    let properties = doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap();
    for (property, spec) in properties {
        let spec = resolve(doc, spec);
        let mut field = |name: String, kind| {
            found.push(Bounded {
                schema: schema.to_string(),
                at: vec![json!(property)],
                name,
                kind,
            })
        };
        if let Some(n) = spec["maxLength"].as_u64() {
            field(property.clone(), BoundKind::Chars(n as usize));
        }
        if let Some(max) = spec["maximum"].as_f64() {
            field(property.clone(), BoundKind::Maximum(max));
        }
        let Some(items) = spec.get("items").map(|i| resolve(doc, i)) else {
            continue;
        };
        let max_items = spec["maxItems"].as_u64().map(|n| n as usize);
        if items.get("properties").is_none() {
            let items = max_items.unwrap_or(3);
            let chars = spec["items"]["maxLength"].as_u64().map(|n| n as usize);
            if max_items.is_some() {
                let chars = chars.unwrap_or(8);
                field(property.clone(), BoundKind::Count { items, chars });
            }
            if let Some(chars) = chars {
                field(
                    format!("{property}[0]"),
                    BoundKind::ItemChars { items, chars },
                );
            }
            continue;
        }
        if let Some(n) = max_items {
            field(property.clone(), BoundKind::Objects(n));
        }
        if example[property].get(0).is_none() {
            let item = items
                .get("example")
                .expect("an item schema with an example");
            example[property] = json!([item]);
        }
        {
            let name = spec["items"]["$ref"].as_str().unwrap().rsplit('/').next();
            found.extend(
                bounded_fields(doc, name.unwrap(), &mut example[property][0])
                    .into_iter()
                    .map(|mut b| {
                        b.name = format!("{property}[0].{}", b.name);
                        b.at.splice(0..0, [json!(property), json!(0)]);
                        b
                    }),
            );
        }
    }
    found
}

impl Bounded {
    /// The value at the bound (None: left as the example has it) and the value just past it.
    fn edge(&self, example: &Value) -> (Option<Value>, Value) {
        let text = |n: usize| json!("x".repeat(n));
        // Distinct strings, as tags and aliases must be.
        let strings = |count: usize, chars: usize| -> Vec<Value> {
            (0..count).map(|i| json!(format!("{i:x<chars$}"))).collect()
        };
        match self.kind {
            BoundKind::Chars(n) => (Some(text(n)), text(n + 1)),
            BoundKind::Maximum(max) => (Some(json!(max)), json!(max + 1.0)),
            BoundKind::Count { items, chars } => (
                Some(Value::Array(strings(items, chars))),
                Value::Array(strings(items + 1, chars)),
            ),
            BoundKind::ItemChars { items, chars } => {
                let mut past = strings(items, chars);
                past[0] = text(chars + 1);
                (
                    Some(Value::Array(strings(items, chars))),
                    Value::Array(past),
                )
            }
            BoundKind::Objects(n) => {
                let one = self.get(example).and_then(|l| l.get(0)).cloned();
                (None, Value::Array(vec![one.unwrap_or_default(); n + 1]))
            }
        }
    }

    fn get<'a>(&self, body: &'a Value) -> Option<&'a Value> {
        self.at.iter().try_fold(body, |v, step| match step {
            Value::Number(i) => v.get(i.as_u64()? as usize),
            key => v.get(key.as_str()?),
        })
    }

    fn set(&self, body: &mut Value, value: Value) {
        let (last, path) = self.at.split_last().unwrap();
        let mut target = body;
        for step in path {
            target = match step {
                Value::Number(i) => &mut target[i.as_u64().unwrap() as usize],
                key => &mut target[key.as_str().unwrap()],
            };
        }
        target[last.as_str().unwrap()] = value;
    }
}

/// Every bound the committed document states on a request body (`maxLength`, `maxItems`,
/// `maximum`) is the one the server enforces. Each request sets one field just past its
/// bound and every other bounded field of the body at its own: the 422 (which names every
/// field at fault at once) must name that field and no other, and stores nothing. Then the
/// body with every field at its bound succeeds. A server whose bound differs from the
/// document's, either way, fails here.
#[tokio::test]
async fn every_documented_bound_holds_at_its_edge() {
    let doc: Value =
        serde_json::from_str(include_str!("../../openapi/openapi.json")).expect("the document");
    let mut covered = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"]["application/json"].as_object() else {
                continue;
            };
            let schema = content["schema"]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next();
            let schema = schema.unwrap();
            let mut example = content
                .get("example")
                .unwrap_or(&doc["components"]["schemas"][schema]["example"])
                .clone();
            let fields = bounded_fields(&doc, schema, &mut example);
            let example = &example;
            if fields.is_empty() {
                continue;
            }
            // A server of its own for each operation: the last request changes the seed.
            let Seeded {
                app, webhook_id, ..
            } = Seeded::start().await;
            let url = filled_path(path, op, &webhook_id).unwrap();
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut at_bounds = example.clone();
            for field in &fields {
                if let (Some(at), _) = field.edge(example) {
                    field.set(&mut at_bounds, at);
                }
            }
            for field in &fields {
                let mut body = at_bounds.clone();
                field.set(&mut body, field.edge(example).1);
                let resp = app.as_admin(method.clone(), &url, Some(&body), &[]).await;
                assert_eq!(
                    (resp.status, resp.error_fields()),
                    (422, vec![field.name.clone()]),
                    "{method} {url} with {} past its bound: {}",
                    field.name,
                    resp.text
                );
                let property = field.at.last().unwrap().as_str().unwrap();
                covered.insert(format!("{}.{property}", field.schema));
            }
            let resp = app
                .as_admin(method.clone(), &url, Some(&at_bounds), &[])
                .await;
            assert!(
                (200..300).contains(&resp.status),
                "{method} {url} with every field at its bound: {}",
                resp.text
            );
        }
    }
    // Every bound the document states on a request body, or on the items of its lists, was
    // tried.
    let name_of = |r: &Value| {
        r["$ref"]
            .as_str()
            .map(|r| r.rsplit('/').next().unwrap().to_string())
    };
    let bodies: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| name_of(&op["requestBody"]["content"]["application/json"]["schema"]))
        .collect();
    let mut stated = std::collections::BTreeSet::new();
    for body in &bodies {
        let properties = doc["components"]["schemas"][body]["properties"].as_object();
        let items = properties
            .into_iter()
            .flatten()
            .filter_map(|(_, p)| name_of(&p["items"]));
        for name in items.chain([body.clone()]) {
            let properties = doc["components"]["schemas"][&name]["properties"].as_object();
            for (property, spec) in properties.into_iter().flatten() {
                if ["maxLength", "maxItems", "maximum"]
                    .iter()
                    .any(|k| spec.get(k).is_some())
                    || spec["items"].get("maxLength").is_some()
                {
                    stated.insert(format!("{name}.{property}"));
                }
            }
        }
    }
    let untried: Vec<_> = stated.difference(&covered).collect();
    assert!(untried.is_empty(), "bounds never tried: {untried:?}");
}

/// An entry of a list of objects given as an array is refused by its place: serde reads a
/// struct from an array too, field by field in order, so `[["chen-quanguo"]]` was stored as
/// a designation and `[["https://..."]]` as a source, through the API and through imports.
#[tokio::test]
async fn a_list_entry_given_as_an_array_is_not_read_by_position() {
    let app = TestApp::spawn().await;
    app.with_basics().await;
    let earlier = app.action(json!({"announced_on": "2020-01-01"})).await;
    let earlier = earlier["id"].as_str().unwrap();
    let cases = [
        ("designations", json!([["chen-quanguo", "2020-07-09"]])),
        ("sources", json!([["https://example.org/a", "Example"]])),
        ("responds_to", json!([[earlier, "retaliates"]])),
        ("status_history", json!([["in_force", "2020-07-09"]])),
    ];
    for (field, list) in cases {
        let mut body = action_body(json!({}));
        body[field] = list;
        let resp = app.post("/v1/actions", &body).await;
        resp.assert_status(422);
        let error = &resp.body["errors"][0];
        assert_eq!(error["field"], format!("{field}[0]"), "{}", resp.body);
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("expected an object"),
            "{}",
            resp.body
        );
    }
    let created = app.action(json!({})).await;
    let path = format!("/v1/actions/{}", created["id"].as_str().unwrap());
    let resp = app
        .patch(&path, &json!({"designations": [["chen-quanguo"]]}))
        .await;
    resp.assert_status(422);
    assert_eq!(resp.body["errors"][0]["field"], "designations[0]");

    let line = action_body(json!({"designations": [["chen-quanguo"]]}));
    let job = super::imports::import(&app, "", format!("{line}\n").into_bytes()).await;
    assert_eq!(
        job["rejected_lines"][0]["errors"][0]["field"], "designations[0]",
        "{job}"
    );
}

/// Behind a reverse proxy every request comes from the proxy: with it trusted
/// (`--trusted-proxy`), each client it forwards has its own anonymous budget, named by the
/// rightmost address of `X-Forwarded-For` that is not a trusted proxy (what the client
/// writes further left changes nothing). Without it, the header is ignored: no client
/// buys a fresh budget by sending one.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_their_own_budgets() {
    let mut behind = limited(0.01, 1000, 0.01, 2);
    behind.trusted_proxies =
        riposte::client_addr::TrustedProxies::parse(&["127.0.0.0/8".into()]).unwrap();
    let app = TestApp::spawn_with(behind).await;
    assert_eq!(statuses(&app, "203.0.113.1", 3).await, [200, 200, 429]);
    assert_eq!(statuses(&app, "203.0.113.2", 2).await, [200, 200]);
    assert_eq!(
        statuses(&app, "198.51.100.9, 203.0.113.1, 127.0.0.5", 1).await,
        [429],
        "the client's own entry is not read past the nearest untrusted hop"
    );

    let direct = TestApp::spawn_with(limited(0.01, 1000, 0.01, 2)).await;
    assert_eq!(statuses(&direct, "203.0.113.1", 2).await, [200, 200]);
    assert_eq!(statuses(&direct, "203.0.113.2", 1).await, [429]);
}

/// The statuses of `n` anonymous GETs sent with `X-Forwarded-For: forwarded`.
async fn statuses(app: &TestApp, forwarded: &str, n: usize) -> Vec<u16> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(
            app.request_as(
                None,
                Method::GET,
                "/v1/action-types",
                None,
                &[("x-forwarded-for", forwarded)],
            )
            .await
            .status,
        );
    }
    got
}
