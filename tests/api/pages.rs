//! The dashboard's pages and assets as HTTP sees them (the browser tests in
//! tests/browser.rs drive them in Chromium). Pages are not API operations, so these requests
//! bypass the OpenAPI contract check.

use std::collections::BTreeSet;

use super::helpers::TestApp;

async fn fetch(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(tag) = etag {
        req = req.header("if-none-match", tag);
    }
    req.send().await.expect("request sent")
}

#[tokio::test]
async fn every_page_path_serves_the_shell_with_its_security_headers() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/search?q=sanctions",
        "/dyads/USA/CHN?interval=year",
        "/actions/0a1f0000-0000-4000-8000-000000000006",
        "/actions/0a1f0000-0000-4000-8000-000000000006/chain",
        "/actors/chen-quanguo?as_of=2020-07-08",
    ] {
        let resp = fetch(&app, path, None).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = resp.text().await.unwrap();
        assert!(body.contains(r#"<main id="view""#), "{path}: {body}");
    }
    // Near misses of page paths are the API's problem+json 404s.
    for path in [
        "/dyads/USA",
        "/actions/not-a-uuid",
        "/actors/a/b",
        "/assets/nope.js",
    ] {
        let resp = fetch(&app, path, None).await;
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
    }
}

/// A browser asking for HTML at an address outside the API that names no page gets the
/// shell as a 404 (its script says "No such page"); API clients, and every path under /v1,
/// get the problem+json 404 whatever they accept.
#[tokio::test]
async fn an_unknown_page_is_the_shell_for_browsers_and_a_problem_for_clients() {
    let app = TestApp::spawn().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let get = |path: &str, accept: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .header("accept", accept)
            .send()
    };
    for path in [
        "/nope",
        "/search/",
        "/actors/USA/",
        "/dyads/USA/CHN/",
        "/index.html",
        "/actors/%E0%A4%A",
        "/actors/%FF",
        "/dyads/USA/%ZZ",
        "/dyads/USA/%+F",
    ] {
        let resp = get(path, browser).await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(h["vary"], "Accept");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = resp.text().await.unwrap();
        assert!(body.contains(r#"<main id="view""#), "{path}: {body}");
    }
    for (path, accept) in [
        ("/nope", "application/json"),
        ("/nope", "*/*"),
        ("/nope", "text/html;q=0, application/json"),
        ("/actors/%E0%A4%A", "application/json"),
        ("/v1/nope", browser),
        ("/v1", browser),
    ] {
        let resp = get(path, accept).await.unwrap();
        assert_eq!(resp.status(), 404, "{path} {accept}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/problem+json",
            "{path} {accept}"
        );
    }
    // Other methods stay the API's.
    let resp = app
        .client
        .post(format!("{}/nope", app.base))
        .header("accept", browser)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

/// Every answer forbids content sniffing and framing: /docs, where an admin may paste a key
/// and try a DELETE, could be framed by another site (clickjacking), and JSON answers had no
/// `nosniff`.
#[tokio::test]
async fn every_answer_refuses_sniffing_and_framing() {
    let app = TestApp::spawn().await;
    for path in [
        "/docs/",
        "/openapi.json",
        "/v1/actions",
        "/",
        "/nope",
        "/healthz",
    ] {
        let resp = fetch(&app, path, None).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    // An error a middleware gives (a malformed consistency token) too.
    let refused = app
        .client
        .get(format!("{}/v1/actions", app.base))
        .header("riposte-consistency", "junk")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    assert_eq!(refused.headers()["x-frame-options"], "DENY");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

/// Every file the shell links and every module the scripts import is served, with a type
/// the browser accepts for it: a file missing from the binary's list fails here.
#[tokio::test]
async fn every_asset_the_pages_reference_is_served() {
    let app = TestApp::spawn().await;
    let shell = fetch(&app, "/", None).await.text().await.unwrap();
    let mut todo: Vec<String> = references(&shell, "/");
    let mut seen = BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let resp = fetch(&app, &path, None).await;
        assert_eq!(resp.status(), 200, "{path} is referenced but not served");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        let expected = match path.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert_eq!(kind, expected, "{path}");
        if path.ends_with(".js") && !path.contains("/vendor/") {
            let text = resp.text().await.unwrap();
            let base = &path[..path.rfind('/').unwrap() + 1];
            todo.extend(references(&text, base));
        }
    }
    assert!(seen.len() >= 12, "only {seen:?}");
}

/// `"/assets/..."` links of HTML and `from './x.js'` imports of modules, as absolute paths.
fn references(text: &str, base: &str) -> Vec<String> {
    let links = text
        .split("\"/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|path| format!("/assets/{path}"));
    let imports = text
        .split(" from '")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .map(|relative| resolve(base, relative));
    links.chain(imports).collect()
}

fn resolve(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = base.trim_end_matches('/').split('/').collect();
    for seg in relative.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn assets_revalidate_with_their_etag() {
    let app = TestApp::spawn().await;
    for path in ["/", "/assets/app.js"] {
        let first = fetch(&app, path, None).await;
        assert_eq!(first.headers()["cache-control"], "no-cache");
        let tag = first.headers()["etag"].to_str().unwrap().to_string();
        let again = fetch(&app, path, Some(&tag)).await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
        // Weak comparison, as If-None-Match has it: a proxy may have weakened the tag.
        let weak = fetch(&app, path, Some(&format!("\"other\", W/{tag}"))).await;
        assert_eq!(weak.status(), 304, "{path}");
        let stale = fetch(&app, path, Some("\"other\"")).await;
        assert_eq!(stale.status(), 200, "{path}");
    }
}
