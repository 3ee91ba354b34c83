//! Request extractors that turn every malformed input into a precise problem+json error,
//! naming the field at fault (actix's own extractors answer with plain-text messages).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};
use crate::limits::MAX_BODY_BYTES;

/// How long a request body may take to arrive, from the first byte the handler waits for to
/// the last (at least 100 KiB/s for the largest body). A client that stops sending gets 408
/// and the connection is closed, so it cannot hold a worker's connection slot for ever.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `Idempotency-Key` header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// SHA-256 of the request body's JSON value, left in the request's extensions by
/// `JsonBody` (for `Idempotency-Key`): of its canonical form (`canonical_json`) when it
/// reads, so that a retry layer that serializes its payload again (other whitespace, key
/// order or escapes) is the same request; of the raw bytes otherwise.
#[derive(Debug, Clone)]
pub struct BodyHash(pub Vec<u8>);

/// `value` written with each object's keys sorted and no whitespace: one text per JSON
/// value, whatever the order its keys came in.
fn canonical_json(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::Value::from(key.as_str()).to_string().as_bytes());
                out.push(b':');
                canonical_json(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        // One text per number: `5`, `5.0` and `5e0` are one value, which serializers of
        // floats write differently. Integral floats short of 2^53 (where every integer is
        // exact) as integers; the rest as serde_json writes them (the shortest that reads
        // back the same).
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                out.extend_from_slice((f as i64).to_string().as_bytes())
            }
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// A JSON request body, parsed strictly: every unreadable field is reported at once (422),
/// malformed JSON is a 400.
pub struct JsonBody<T>(pub T);

/// A JSON request body whose unreadable fields are reported together with the rules the
/// rest breaks: the value (stand-ins in place of what could not be read, see
/// `validation`) and the faults, for the service to merge with its own verdict.
pub struct Checked<T>(pub T, pub Vec<FieldError>);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { parse_json(&body.await?).map(JsonBody) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Checked<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let (value, faults) = parse_lenient(&body.await?)?;
            Ok(Checked(value, faults))
        })
    }
}

/// Whether the request says its body is JSON, in UTF-8: one `Content-Type`, of
/// `application/json` or `application/*+json`, with no other charset (JSON is UTF-8, RFC
/// 8259: a body sent as Latin-1 would be read as something else). Else why not.
fn json_content_type(req: &HttpRequest) -> Result<(), String> {
    const SEND: &str = "send the body as JSON with `Content-Type: application/json`";
    let mut given = req.headers().get_all(header::CONTENT_TYPE);
    let (Some(value), None) = (given.next(), given.next()) else {
        return Err(match req.headers().contains_key(header::CONTENT_TYPE) {
            true => format!("more than one Content-Type header; {SEND}"),
            false => SEND.into(),
        });
    };
    let value = value.to_str().map_err(|_| SEND.to_string())?;
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !json {
        return Err(SEND.into());
    }
    for param in parts {
        if let Some((name, charset)) = param.split_once('=') {
            let charset = charset.trim().trim_matches('"');
            // ASCII is UTF-8 too.
            let utf8 = ["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|c| charset.eq_ignore_ascii_case(c));
            if name.trim().eq_ignore_ascii_case("charset") && !utf8 {
                return Err(format!(
                    "JSON is read as UTF-8; `charset={charset}` is not taken: send the body in \
                     UTF-8, with `charset=utf-8` or no charset"
                ));
            }
        }
    }
    Ok(())
}

/// Reads a JSON body within the size and time limits, leaving its hash in the request's
/// extensions (for `Idempotency-Key`).
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Vec<u8>, AppError>> {
    let content_type = json_content_type(req);
    // A compressed JSON body would be read as its compressed bytes: "not valid JSON" for a
    // body the client sent right, in a form not taken here (bodies are at most 1 MiB).
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity");
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    let req = req.clone();
    async move {
        content_type.map_err(AppError::UnsupportedMediaType)?;
        if let Some(encoding) = encoding {
            return Err(AppError::UnsupportedMediaType(format!(
                "`Content-Encoding: {encoding}` is not taken for JSON bodies; send the JSON as \
                 it is (at most {MAX_BODY_BYTES} bytes)"
            )));
        }
        if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
            return Err(AppError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let mut body = Vec::with_capacity(declared_len.unwrap_or(1024).min(MAX_BODY_BYTES));
        let read = async {
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| AppError::BadRequest {
                    detail: format!("could not read the request body: {e}"),
                    errors: Vec::new(),
                })?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AppError::PayloadTooLarge {
                        limit: MAX_BODY_BYTES,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(())
        };
        tokio::time::timeout(BODY_READ_TIMEOUT, read)
            .await
            .map_err(|_| AppError::RequestTimeout {
                seconds: BODY_READ_TIMEOUT.as_secs(),
            })??;
        // Only a request that may be retried under a key needs it (the body is read twice).
        if req.headers().contains_key(IDEMPOTENCY_HEADER) {
            use sha2::Digest;
            let hashed = match crate::json::from_slice(&body) {
                Ok(value) => {
                    let mut text = Vec::with_capacity(body.len());
                    canonical_json(&value, &mut text);
                    sha2::Sha256::digest(&text)
                }
                Err(_) => sha2::Sha256::digest(&body),
            };
            req.extensions_mut().insert(BodyHash(hashed.to_vec()));
        }
        Ok(body)
    }
}

/// Parses a body: malformed JSON is a 400; a well-formed document is read field by field,
/// every unreadable value recorded (with the path of its field) and replaced by a stand-in or
/// left out, until the whole reads (see `validation`). Bounded: at most
/// `MAX_PROBLEM_ERRORS` faults are looked for, each costing one pass over the parsed value.
pub fn parse_lenient<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Vec<FieldError>), AppError> {
    let value: serde_json::Value = match crate::json::from_slice(body) {
        Ok(value) => value,
        Err(e)
            if e.classify() == serde_json::error::Category::Eof
                && body.iter().all(u8::is_ascii_whitespace) =>
        {
            return Err(AppError::BadRequest {
                detail: "the request body is empty; send a JSON object".into(),
                errors: Vec::new(),
            })
        }
        Err(e) => {
            // Named by the value's path where there is one: `severity` for 1e309, not just
            // "line 1 column 130".
            let errors = crate::json::failing_path(body)
                .map(|field| vec![FieldError::new(field, strip_position(&e.to_string()))])
                .unwrap_or_default();
            let detail = match e.classify() {
                // Well-formed, but an object gives a key twice (`json`).
                serde_json::error::Category::Data => format!("the request body is ambiguous: {e}"),
                _ => format!("the request body is not valid JSON: {e}"),
            };
            return Err(AppError::BadRequest { detail, errors });
        }
    };
    if !value.is_object() {
        // serde reads a struct from an array too, field by field in order: `["x"]` would set
        // the first field.
        return Err(AppError::invalid(vec![FieldError::new(
            "body",
            format!(
                "the request body is {}, not a JSON object",
                json_kind(&value)
            ),
        )]));
    }
    lenient(value).map_err(AppError::invalid)
}

/// What kind of JSON value this is, for messages.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a JSON value as `T` the way `parse_lenient` reads a body: every unreadable field is
/// recorded and given a stand-in (or left out), so the rules can run on the rest. `Err` with
/// the faults when no stand-in makes it readable.
pub fn lenient<T: DeserializeOwned>(
    mut value: serde_json::Value,
) -> Result<(T, Vec<FieldError>), Vec<FieldError>> {
    let mut faults: Vec<FieldError> = Vec::new();
    for _ in 0..=crate::limits::MAX_PROBLEM_ERRORS {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) => return Ok((parsed, faults)),
            Err(err) => err,
        };
        let segments: Vec<Step> = err.path().iter().map(Step::of).collect();
        let message = strip_position(&err.inner().to_string());
        let named = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string)
        };
        let (missing, unknown) = (named("missing field `"), named("unknown field `"));
        let (container, key) = match (&missing, &unknown) {
            (Some(name), _) | (_, Some(name)) => {
                // An unknown key is on the path already; a missing one is not.
                let mut container = segments.clone();
                if matches!(container.last(), Some(Step::Key(k)) if k == name) {
                    container.pop();
                }
                (container, Step::Key(name.clone()))
            }
            _ => match segments.split_last() {
                Some((last, parent)) => (parent.to_vec(), last.clone()),
                None => {
                    // The document as a whole is of the wrong kind (an array, a number).
                    faults.push(FieldError::new("body", message));
                    break;
                }
            },
        };
        let field = path_text(&container, &key);
        let repeated = faults.iter().any(|f| f.field == field);
        if !repeated {
            faults.push(FieldError::new(field.clone(), message));
        } else if missing.is_none() {
            // Its stand-in did not read either: nothing more can be learnt.
            break;
        }
        let Some(parent) = walk(&mut value, &container) else {
            break;
        };
        let name = match (&key, container.last()) {
            (Step::Key(name), _) => name.clone(),
            (Step::Index(_), Some(Step::Key(list))) => list.clone(),
            _ => String::new(),
        };
        let fixed = match (&key, parent) {
            (Step::Key(k), serde_json::Value::Object(map)) if missing.is_some() => {
                match crate::validation::stand_in(&name, &field) {
                    Some(v) => map.insert(k.clone(), v).is_none(),
                    None => false,
                }
            }
            // Unknown or unreadable: left out; if it was required, the next pass says it is
            // missing and it gets a stand-in.
            (Step::Key(k), serde_json::Value::Object(map)) => map.remove(k).is_some(),
            (Step::Index(i), serde_json::Value::Array(items)) => {
                match (
                    items.get_mut(*i),
                    crate::validation::stand_in(&name, &field),
                ) {
                    (Some(item), Some(v)) => {
                        *item = v;
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !fixed {
            break;
        }
    }
    Err(faults)
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn of(segment: &serde_path_to_error::Segment) -> Step {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => Step::Index(*index),
            Segment::Map { key } => Step::Key(key.clone()),
            Segment::Enum { variant } => Step::Key(variant.clone()),
            Segment::Unknown => Step::Key("?".into()),
        }
    }
}

/// `designations[0].actor`, as fields are named in problems.
fn path_text(container: &[Step], last: &Step) -> String {
    let mut text = String::new();
    for step in container.iter().chain([last]) {
        match step {
            Step::Key(k) if text.is_empty() => text.push_str(k),
            Step::Key(k) => {
                text.push('.');
                text.push_str(k);
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

fn walk<'v>(value: &'v mut serde_json::Value, steps: &[Step]) -> Option<&'v mut serde_json::Value> {
    steps.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Parses a whole document strictly, as the bundled data sets are read: every fault of it
/// at once (422), malformed JSON a 400.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let (value, faults) = parse_lenient(body)?;
    if faults.is_empty() {
        Ok(value)
    } else {
        Err(AppError::invalid(faults))
    }
}

/// A serde_json message without its " at line L column C".
pub fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message.to_string(),
    }
}

/// Query parameters, parsed strictly: unknown parameters, repeated parameters and bad values
/// are 400s naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string(), &[]).map(Query))
    }
}

/// Query parameters of which some may be given more than once (see `Repeatable`).
pub struct RepeatableQuery<T>(pub T);

/// Names the parameters of `T` that may be repeated. The values of a repeated parameter are
/// joined with its separator before parsing, so `?initiator=USA&initiator=CHN` reads like
/// `?initiator=USA,CHN`.
pub trait Repeatable {
    /// (name, separator) of each repeatable parameter.
    const REPEATABLE: &'static [(&'static str, &'static str)];
}

impl<T: DeserializeOwned + Repeatable> FromRequest for RepeatableQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string(), T::REPEATABLE).map(RepeatableQuery))
    }
}

pub fn parse_query<T: DeserializeOwned>(
    query: &str,
    repeatable: &[(&str, &str)],
) -> Result<T, AppError> {
    parse_query_offering(query, repeatable, &[], &[])
}

/// `parse_query` for a read that refuses some of `T`'s parameters (`hidden`: an export's
/// paging) and reads others itself (`extra`: its `format`): the message naming an unknown
/// parameter offers the ones the read takes.
pub fn parse_query_offering<T: DeserializeOwned>(
    query: &str,
    repeatable: &[(&str, &str)],
    hidden: &[&str],
    extra: &[&str],
) -> Result<T, AppError> {
    not_utf8(query)?;
    let mut merged: Vec<(String, String)> = Vec::new();
    // Position of each name in `merged`: linear in the number of parameters.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (key, value) in form_urlencoded_pairs(query) {
        match seen.get(&key).copied() {
            None => {
                seen.insert(key.clone(), merged.len());
                merged.push((key, value));
            }
            Some(at) => match repeatable.iter().find(|(name, _)| *name == key) {
                Some((_, separator)) => {
                    let joined = &mut merged[at].1;
                    joined.push_str(separator);
                    joined.push_str(&value);
                }
                // A repeated parameter would silently keep one value; refuse it instead.
                None => {
                    return Err(AppError::bad_param(
                        &key,
                        "given more than once; give it once",
                    ))
                }
            },
        }
    }
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    encoded.extend_pairs(&merged);
    let encoded = encoded.finish();
    let de = serde_urlencoded::Deserializer::new(url_pairs(&encoded));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let mut message = err.into_inner().to_string();
        let field = if path == "." {
            // serde names the unknown field in the message itself.
            message.split('`').nth(1).unwrap_or("query").to_string()
        } else {
            path
        };
        // The standard library's words for a bad integer, said for the client.
        match message.as_str() {
            "invalid digit found in string" => message = "must be a whole number".into(),
            "cannot parse integer from empty string" => {
                message = "must be a whole number, not empty".into()
            }
            "number too large to fit in target type" => {
                message = "must be a whole number; this one is far too large".into()
            }
            "number too small to fit in target type" => {
                message = "must be a whole number; this one is far too small".into()
            }
            _ => {}
        }
        if message.starts_with("unknown field") && !(hidden.is_empty() && extra.is_empty()) {
            let offered: Vec<String> = message
                .split_once(", expected")
                .map(|(_, list)| list.split('`').skip(1).step_by(2).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|name| !hidden.contains(name))
                .chain(extra.iter().copied())
                .map(|name| format!("`{name}`"))
                .collect();
            message = format!(
                "unknown field `{field}`, expected one of {}",
                offered.join(", ")
            );
        }
        AppError::bad_param(&field, message)
    })
}

/// Refuses a parameter whose name or value is not UTF-8 once percent-decoded (`q=%FF`): the
/// decoder would put U+FFFD in its place, and the search or look-up would run on text the
/// client never sent.
fn not_utf8(query: &str) -> Result<(), AppError> {
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .is_ok()
        };
        if !decoded(name) || !decoded(value) {
            let field = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            let shown: String = pair.chars().take(100).collect();
            return Err(AppError::bad_param(
                &field,
                format!(
                    "`{shown}` is not UTF-8 once percent-decoded; encode text as UTF-8 \
                     (`é` is `%C3%A9`)"
                ),
            ));
        }
    }
    Ok(())
}

fn url_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The query's pairs, decoded, in order.
pub fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    url_pairs(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Whether every `%` of a path starts an escape of two hex digits, and what they escape is
/// UTF-8: an address such as `/actors/%E0%A4%A` names no actor, and no page.
pub fn well_escaped(path: &str) -> bool {
    let bytes = path.as_bytes();
    let escapes_whole = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    escapes_whole
        && percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .is_ok()
}
