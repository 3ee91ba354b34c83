//! Checks every response a test receives against the committed OpenAPI document: the status
//! must be documented for the operation, and a JSON body must match the documented schema for
//! its content type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

use super::helpers::Resp;

pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
        let text = std::fs::read_to_string(path).expect("openapi/openapi.json is committed");
        serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
    })
}

fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Resolves a local `$ref`.
pub fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
    }
    value
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

pub fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(key) {
        return v.clone();
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": document()["components"],
    });
    let compiled = Arc::new(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema for {key} does not compile: {e}")),
    );
    cache
        .lock()
        .unwrap()
        .insert(key.to_string(), compiled.clone());
    compiled
}

/// The headers of riposte's own making a client may act on; the others (Content-Type, Vary,
/// the security headers every answer carries) are HTTP's.
const DECLARED_HEADERS: &[&str] = &[
    "etag",
    "link",
    "location",
    "retry-after",
    "www-authenticate",
    "cache-control",
    "content-disposition",
    "idempotent-replayed",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-request-id",
    "riposte-consistency",
    "riposte-served-by",
    "set-cookie",
];

pub fn check(method: &str, full_path: &str, resp: &Resp) {
    let doc = document();
    let path = full_path.split('?').next().unwrap();
    let method = method.to_ascii_lowercase();
    let paths = doc["paths"].as_object().expect("paths");
    // Prefer a literal match over a templated one.
    let Some((template, item)) = paths
        .iter()
        .find(|(t, _)| *t == path)
        .or_else(|| paths.iter().find(|(t, _)| matches_template(t, path)))
    else {
        // Unknown paths must be problem+json 404s.
        assert_eq!(
            resp.status, 404,
            "undocumented path {path} answered {}",
            resp.status
        );
        assert_eq!(
            resp.header("content-type"),
            Some("application/problem+json")
        );
        return;
    };
    let Some(operation) = item.get(&method) else {
        assert_eq!(resp.status, 405, "undocumented method {method} {template}");
        return;
    };
    let status = resp.status.to_string();
    let response = operation["responses"]
        .get(&status)
        .or_else(|| operation["responses"].get("default"))
        .unwrap_or_else(|| {
            panic!(
                "{method} {template} answered {status}, which is not documented; body: {}",
                resp.text
            )
        });
    let response = resolve(doc, response);
    // Every header of these an answer carries is documented for it: a generated client only
    // exposes the headers the document names (an integrator's review found ETag, Link,
    // Retry-After, WWW-Authenticate and the RateLimit headers sent undocumented).
    let documented: Vec<String> = response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    for name in DECLARED_HEADERS {
        assert!(
            !resp.headers.contains_key(*name) || documented.iter().any(|d| d == name),
            "{method} {template} {status}: sends `{name}`, which is not documented for it \
             (documented: {documented:?})"
        );
    }
    let content = response.get("content").and_then(Value::as_object);
    if resp.text.is_empty() {
        // A text format (an export of nothing) may be empty; a JSON document may not.
        let text_only = content.is_some_and(|c| {
            c.keys()
                .all(|t| t != "application/json" && !t.ends_with("+json"))
        });
        assert!(
            content.is_none() || resp.status == 204 || text_only,
            "{method} {template} {status}: documented a body but sent none"
        );
        return;
    }
    let content_type = resp
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let content = content
        .unwrap_or_else(|| panic!("{method} {template} {status}: sent a body but documents none"));
    // A documented type may carry parameters (`text/plain; version=0.0.4`); its base type
    // is what must match.
    let media = content.get(&content_type).or_else(|| {
        content
            .iter()
            .find(|(t, _)| t.split(';').next().unwrap().trim() == content_type)
            .map(|(_, media)| media)
    });
    let media = media.unwrap_or_else(|| {
        panic!(
            "{method} {template} {status}: content type {content_type} is not documented \
             (documented: {:?})",
            content.keys().collect::<Vec<_>>()
        )
    });
    // Text formats (NDJSON, CSV) are checked by their own tests; their media type must be
    // documented all the same.
    let json = content_type == "application/json" || content_type.ends_with("+json");
    if let Some(schema) = media.get("schema").filter(|_| json) {
        let key = format!("{method} {template} {status} {content_type}");
        let validator = validator(&key, schema);
        let errors: Vec<String> = validator
            .iter_errors(&resp.body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{key}: the body does not match the documented schema:\n{}\nbody: {}",
            errors.join("\n"),
            resp.text
        );
    }
}
