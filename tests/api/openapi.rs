use reqwest::Method;
use serde_json::Value;

use super::contract::document;
use super::helpers::TestApp;

#[tokio::test]
async fn served_document_equals_committed_document() {
    let app = TestApp::spawn().await;
    let served: Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        &served == document(),
        "the served OpenAPI document differs from openapi/openapi.json; regenerate it with \
         `cargo run -- openapi > openapi/openapi.json`"
    );
    // The generator the README tells people to use produces the committed bytes.
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    assert_eq!(riposte::openapi::document_json(), committed);
}

#[tokio::test]
async fn document_is_openapi_31_and_covers_every_route() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 17, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            if op.get("requestBody").is_some() {
                for status in ["400", "408", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
    // Every error response points at the problem schema, with an example.
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        let media = &response["content"]["application/problem+json"];
        assert_eq!(
            media["schema"]["$ref"], "#/components/schemas/Problem",
            "{name}"
        );
        assert!(
            media["example"]["detail"].is_string(),
            "{name} has no example"
        );
    }
}

#[tokio::test]
async fn docs_render_without_internet() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert!(redirect.status().is_redirection());
    let page = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    // Every script and stylesheet the page loads is served by riposte itself.
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let resp = app
            .client
            .get(format!("{}/docs/{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
    }
    assert!(!html.contains("//cdn") && !html.contains("unpkg.com"));
    let init = app
        .client
        .get(format!("{}/docs/swagger-initializer.js", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"));
}

/// The document and Swagger UI's files answer HEAD, and a client that has them gets a 304:
/// opening /docs again downloaded 1.7 MB each time, and HEAD /openapi.json was a 404.
#[tokio::test]
async fn docs_and_document_are_revalidated_not_downloaded_again() {
    let app = TestApp::spawn().await;
    for path in [
        "/openapi.json",
        "/docs/",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let url = format!("{}{path}", app.base);
        let full = app.client.get(&url).send().await.unwrap();
        assert_eq!(full.status(), 200, "{path}");
        assert_eq!(full.headers()["cache-control"], "no-cache", "{path}");
        let etag = full.headers()["etag"].to_str().unwrap().to_string();
        let type_ = full.headers()["content-type"].clone();
        let length = full.bytes().await.unwrap().len();
        assert!(length > 0, "{path}");

        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["etag"], etag.as_str(), "HEAD {path}");
        assert_eq!(head.headers()["content-type"], type_, "HEAD {path}");

        let again = app
            .client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str(), "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    // Unknown files stay problems.
    let missing = app
        .client
        .get(format!("{}/docs/nope.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

/// Examples are documentation people copy: each must be valid against its own schema.
#[test]
fn every_example_matches_its_schema() {
    let doc = document();
    let mut checked = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Some(example) = schema.get("example") {
            let validator = super::contract::validator(&format!("example {name}"), schema);
            let errors: Vec<String> = validator
                .iter_errors(example)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "example of {name}: {errors:?}");
            checked += 1;
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(content) = response.get("content").and_then(|c| c.as_object()) else {
                    continue;
                };
                for (media_type, media) in content {
                    if let (Some(example), Some(schema)) =
                        (media.get("example"), media.get("schema"))
                    {
                        let key = format!("example {method} {path} {status} {media_type}");
                        let validator = super::contract::validator(&key, schema);
                        let errors: Vec<String> = validator
                            .iter_errors(example)
                            .map(|e| e.to_string())
                            .collect();
                        assert!(errors.is_empty(), "{key}: {errors:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples");
}

/// Every `$ref` resolves, every operation id is unique, and every link names a real one.
#[test]
fn references_operation_ids_and_links_are_sound() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r);
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = document();
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        assert!(
            doc.pointer(r.trim_start_matches('#')).is_some(),
            "dangling reference {r}"
        );
    }
    let mut ids = std::collections::HashSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"]
                .as_str()
                .expect("every operation has an id");
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            // Generated clients name their methods after it: a verb and the resource in
            // camelCase (`listActions`), never utoipa's default, the handler's snake_case
            // name (`list`, `create`), which a forgotten `operation_id` would leave.
            assert!(
                id.chars().all(|c| c.is_ascii_alphanumeric())
                    && id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().any(|c| c.is_ascii_uppercase()),
                "operationId {id} is not a verb and a resource in camelCase; give its \
                 #[utoipa::path] an operation_id"
            );
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                if let Some(l) = response.get("links").and_then(Value::as_object) {
                    for link in l.values() {
                        let target = link["operationId"].as_str().expect("operationId");
                        assert!(ids.contains(target), "link to unknown operation {target}");
                        links += 1;
                    }
                }
            }
        }
    }
    assert!(links >= 10);
    // A list refers to its item's component: generated clients get one `Action`, not a copy
    // per list.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let lists: Vec<_> = schemas.keys().filter(|k| k.starts_with("List_")).collect();
    assert!(lists.len() >= 8, "{lists:?}");
    for list in lists {
        let item = &list["List_".len()..];
        assert_eq!(
            schemas[list]["properties"]["items"]["items"],
            serde_json::json!({ "$ref": format!("#/components/schemas/{item}") }),
            "{list}"
        );
    }
}

/// The fuzzing script (`scripts/schemathesis.sh`, run by CI) leaves out or picks operations
/// by id: an id renamed in the document would silently stop matching, and the fuzzer would
/// then wait for ever on the event stream.
#[test]
fn the_fuzzing_script_names_real_operations() {
    let script = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/schemathesis.sh"),
    )
    .unwrap();
    let doc = document();
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let named: Vec<&str> = script
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].ends_with("-operation-id"))
        .map(|w| w[1].trim_matches(|c| c == '"' || c == '\''))
        .collect();
    assert!(named.len() >= 3, "{named:?}");
    for id in named {
        assert!(
            ids.contains(&id),
            "scripts/schemathesis.sh names `{id}`, no operation's id"
        );
    }
}

/// The routes actix serves and the document's operations come from one list: every documented
/// operation reaches its handler (no 404 for the route, no 405), whatever it then answers.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    let doc = document();
    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut url = path.clone();
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().unwrap();
                    let value = param["example"].as_str().unwrap_or("x");
                    url = url.replace(&format!("{{{name}}}"), value);
                }
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let streams = op["responses"]["200"]["content"]
                .get("text/event-stream")
                .is_some();
            if streams {
                // An endless stream: routed when its headers arrive with 200.
                let resp = app
                    .client
                    .get(format!("{}{url}", app.base))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200, "{method} {url}");
                sent += 1;
                continue;
            }
            let body = op.get("requestBody").map(|_| serde_json::json!({}));
            let resp = app.as_admin(method.clone(), &url, body.as_ref(), &[]).await;
            let unrouted = resp.status == 405
                || (resp.status == 404
                    && resp.body["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("no resource at")));
            assert!(!unrouted, "{method} {url}: {}", resp.text);
            sent += 1;
        }
    }
    assert!(sent >= 27, "{sent} operations");
}

/// The parameters' bounds the document states are the ones the server enforces: the
/// attributes write them as literals (`#[param(maximum = 200)]`), so a change of
/// `limits.rs` alone would leave generated clients refusing, or sending, the wrong values.
#[test]
fn parameter_bounds_are_the_servers() {
    use riposte::limits::{MAX_IDEMPOTENCY_KEY_LEN, MAX_PAGE_SIZE};
    let mut limits = 0;
    let mut keys = 0;
    for (path, item) in document()["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(params) = op["parameters"].as_array() else {
                continue;
            };
            for p in params {
                let schema = &p["schema"];
                match p["name"].as_str() {
                    Some("limit") => {
                        limits += 1;
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert_eq!(schema["maximum"], MAX_PAGE_SIZE, "{method} {path}");
                    }
                    Some("Idempotency-Key") => {
                        keys += 1;
                        assert_eq!(
                            schema["maxLength"], MAX_IDEMPOTENCY_KEY_LEN,
                            "{method} {path}"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(limits >= 8 && keys >= 4, "{limits} limits, {keys} keys");
}
