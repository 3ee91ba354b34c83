//! The OpenAPI 3.1 document. Served at `/openapi.json`, committed as `openapi/openapi.json`
//! (a test fails when they differ; `riposte openapi > openapi/openapi.json` regenerates it).

use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{AppError, FieldError, Problem, PROBLEM_JSON};

mod bounds;

const DESCRIPTION: &str = "\
riposte records actions and counter-actions between states (sanctions, threats, demands, \
easing) and the typed graph of which action answers which.

**Actors** are named by code in requests: ISO 3166-1 alpha-3 for states (`USA`), a lower-case \
slug for everything else (`chen-quanguo`). Responses embed actors as `{id, code, name, kind}`.

**Errors** are RFC 9457 `application/problem+json` documents with a stable `type`, a `title`, \
the `status`, a `detail` that says what to do, and for validation problems an `errors` list \
naming each field at fault. Malformed JSON and bad query or path parameters are 400; \
well-formed bodies that break a rule (wrong types, unknown fields or codes, bad dates, \
responses to later actions, cycles) are 422.

**Limits**: request bodies up to 1 MiB (413 beyond); `limit` 1..200, default 50 (400 beyond); \
per action at most 1000 designations, 100 sources, 100 responds_to edges, 100 status history \
entries and 50 tags; titles up to 500 characters, names 300, summaries and descriptions 10000.

**Authentication**: send an API key as `Authorization: Bearer rsk_...` (never in the URL). \
Reads are public unless the server runs with `RIPOSTE_PUBLIC_READ=false` (then they need a \
`read` key); every write needs a `write` key; API keys, webhooks and the audit log need `admin`. A \
missing, malformed, unknown, expired or revoked key is a 401 with `WWW-Authenticate`; a key of \
too narrow a scope is a 403. A key sent on a public read must be valid too.

**Concurrency**: single resources carry a strong `ETag`; PATCH and DELETE honour `If-Match` \
(412 when the resource changed; 428 without it when the server requires it). GETs answer \
`If-None-Match` with 304. Every change is written to the audit log with the key and the \
`X-Request-Id` (echoed on every response; sent by the client or made up by the server).

**Rate limits**: per API key (200 requests/s, bursts of 400 by default) and per client \
address for requests without a key (50/s, bursts of 100); where a limit is set, every `/v1` \
response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a request over the limit \
gets 429 with `Retry-After`.

**Pagination** is by cursor: pass `next_page_token` back as `page_token` with the same \
filters; the `Link` header carries the next page's URL. A token used with other filters is a \
400.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "riposte",
        description = DESCRIPTION,
        license(name = "MIT OR Apache-2.0"),
    ),
    components(
        schemas(
            Problem,
            FieldError,
            crate::models::enums::ActionSort,
            crate::analysis::dyad::Interval,
            crate::models::audit::AuditEntity,
            crate::models::audit::AuditOperation,
            crate::views::WebhookPayload
        ),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            PreconditionFailed,
            PreconditionRequired,
            TooManyRequests,
            Conflict,
            PayloadTooLarge,
            RequestTimeout,
            UploadTimeout,
            FileTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            ServiceUnavailable,
            ExportsBusy,
            InternalError
        )
    ),
    tags(
        (name = "actors", description = "States, IGOs, and the bodies, people and companies \
            they act through or designate"),
        (name = "actions", description = "Actions between states, and the response graph"),
        (name = "action types", description = "The taxonomy of actions"),
        (name = "analysis", description = "Who answered whom, how fast and how hard"),
        (name = "api keys", description = "Keys and their scopes (admin)"),
        (name = "audit", description = "The append-only log of every change (admin)"),
        (name = "changes", description = "Every committed change, as pages and as a live \
            stream, never skipping one"),
        (name = "health", description = "Liveness and readiness"),
        (name = "imports", description = "Bulk import of actions from NDJSON, PLOVER and GDELT \
            files, as jobs"),
        (name = "webhooks", description = "Changes POSTed to your URL as they happen, signed, \
            in order, at least once (admin)"),
    )
)]
pub struct ApiDoc;

/// The document as served. utoipa 5 writes link objects' fields in snake case
/// (`operation_id`); OpenAPI spells them `operationId`, `operationRef`, `requestBody`.
/// The document: the shared parts above, the paths of every route `controllers::routes`
/// registers, then the errors and headers every operation shares (`CommonErrors`).
pub fn api() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::controllers::routes)
        .split_for_parts();
    CommonErrors.modify(&mut api);
    api
}

/// The document as served, a JSON value.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(api()).expect("the OpenAPI document serialises");
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for op in paths
            .values_mut()
            .filter_map(|i| i.as_object_mut())
            .flat_map(|i| i.values_mut())
        {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for link in responses
                .values_mut()
                .filter_map(|r| r.get_mut("links").and_then(|l| l.as_object_mut()))
                .flat_map(|links| links.values_mut())
                .filter_map(|l| l.as_object_mut())
            {
                for (from, to) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(from) {
                        if !(value.is_string() && value.as_str() == Some("")) {
                            link.insert(to.to_string(), value);
                        }
                    }
                }
            }
        }
    }
    doc["webhooks"] = webhooks();
    list_items_by_reference(&mut doc);
    bounds::state(&mut doc);
    doc
}

/// utoipa 5 copies a generic's argument into each `List_<T>` instead of referring to it
/// (juhaku/utoipa#1586), so generated clients had a second type per list
/// (`ListActionItemsItem` beside `Action`). Where the copy is the component, refer to it.
fn list_items_by_reference(doc: &mut serde_json::Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    let lists: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|k| Some((k.clone(), k.strip_prefix("List_")?.to_string())))
        .collect();
    for (list, item) in lists {
        let Some(component) = schemas.get(&item).cloned() else {
            continue;
        };
        if let Some(items) = schemas[&list].pointer_mut("/properties/items/items") {
            if *items == component {
                *items = json!({ "$ref": format!("#/components/schemas/{item}") });
            }
        }
    }
}

/// What a subscription's `url` receives (OpenAPI 3.1 `webhooks`), for clients generated from
/// the document. utoipa 5 has no attribute for it; the body's schema is `WebhookPayload`,
/// the type the delivery worker serialises.
fn webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str, example: &str| {
        json!({"name": name, "in": "header", "required": true, "description": description,
               "schema": {"type": "string"}, "example": example})
    };
    json!({"change": {"post": {
        "tags": ["webhooks"],
        "operationId": "receiveChange",
        "summary": "One change of the feed, POSTed to a subscription's url",
        "description": "Sent in feed order, one at a time, at least once (drop duplicates by \
            `webhook-id`). Verify `webhook-signature` over the raw body before parsing it; \
            see docs/API.md for the retry schedule.",
        "parameters": [
            header("webhook-id", "`chg_<cursor>_<the entry's at, in microseconds since \
                1970>`: the same for every attempt and redelivery of the entry, and unique \
                across deployments and database restores", "chg_1042_1796040000123456"),
            header("webhook-timestamp", "The attempt's time, Unix seconds", "1795953600"),
            header("webhook-signature", "`v1,<base64 HMAC-SHA256>` of \
                `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's bytes \
                (after `whsec_`, base64-decoded); for a day after a rotation, a second one, \
                space-separated, with the old secret",
                "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
        ],
        "requestBody": {"required": true, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/WebhookPayload"}}}},
        "responses": {
            "2XX": {"description": "Delivered: the next entry follows"},
            "410": {"description": "Gone: the subscription is disabled, without retries"},
            "default": {"description": "Not delivered (as are redirects and no answer in \
                time): tried again with backoff, after `Retry-After` if given"},
        },
    }}})
}

/// The document as committed, pretty-printed with a final newline.
pub fn document_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// The bytes of a file sent as it is (`type: string, format: binary`): what generated
/// clients take as a file to upload.
pub struct FileBody;

impl utoipa::PartialSchema for FileBody {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for FileBody {}

/// A problem+json response: its description and an example of its body.
fn problem(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .example(Some(example))
            .build(),
    )
}

macro_rules! problem_response {
    ($name:ident, $description:literal, $error:expr) => {
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                // The example is rendered as the error itself is, so the two cannot drift.
                let error: crate::error::AppError = $error;
                let example = serde_json::to_value(error.problem()).unwrap_or_default();
                (
                    stringify!($name),
                    problem($description, example).build().into(),
                )
            }
        }
    };
}

problem_response!(
    BadRequest,
    "Malformed request: unparsable JSON, or a bad query or path parameter",
    AppError::bad_param(
        "limit",
        "500 is out of range; limit must be between 1 and 200"
    )
);
problem_response!(
    NotFound,
    "No such record",
    AppError::not_found("action 0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a60")
);
problem_response!(
    Unauthorized,
    "No valid API key: missing, malformed, unknown, expired or revoked (see `WWW-Authenticate`)",
    AppError::Unauthorized {
        detail: "this operation needs an API key with `write` scope, sent as \
                 `Authorization: Bearer rsk_...`"
            .into(),
        invalid_token: false,
    }
);
problem_response!(
    Forbidden,
    "The API key's scope does not allow this operation",
    AppError::Forbidden(
        "the key `dashboard` has `read` scope; this operation needs `write`".into()
    )
);
problem_response!(
    PreconditionFailed,
    "`If-Match` does not match the resource's current ETag: it changed since it was read",
    AppError::PreconditionFailed(
        "the resource's current ETag is \"9f2c0d1e\", not \"41aa07b2\"; GET it again, \
         reapply your change and retry"
            .into()
    )
);
problem_response!(
    PreconditionRequired,
    "The server requires `If-Match` on changes (`--require-if-match true`)",
    AppError::if_match_required()
);
problem_response!(
    TooManyRequests,
    "Over the rate limit; retry after `Retry-After` seconds (see the `RateLimit-*` headers)",
    AppError::rate_limited("200", 1)
);
problem_response!(
    Conflict,
    "The change conflicts with existing records (duplicate code, record still referenced), \
     or was undone for a concurrent write after the server's own tries (`Retry-After`)",
    AppError::Conflict(
        "actor `CHN` is still referenced: initiator, target or authority of 3 action(s); \
         remove those references first"
            .into()
    )
);
problem_response!(
    PayloadTooLarge,
    "The body exceeds 1 MiB",
    AppError::PayloadTooLarge {
        limit: crate::limits::MAX_BODY_BYTES
    }
);
problem_response!(
    RequestTimeout,
    "The body did not arrive within 10 s; the connection is closed",
    AppError::RequestTimeout {
        seconds: crate::extract::BODY_READ_TIMEOUT.as_secs()
    }
);
problem_response!(
    UploadTimeout,
    "The file did not arrive in time: 10 s without data, more than 2 h in all, or slower than \
     16 KiB/s on average once 30 s behind that pace (docs/LIMITS.md); the connection is closed",
    crate::controllers::imports::upload_too_slow(
        &crate::state::ImportUpload::default(),
        480,
        std::time::Duration::from_secs(31)
    )
);
problem_response!(
    FileTooLarge,
    "The file exceeds 2 GiB once decompressed",
    AppError::PayloadTooLarge {
        limit: crate::limits::MAX_IMPORT_BYTES as usize
    }
);
problem_response!(
    UnsupportedMediaType,
    "The body's media type or encoding is not one this operation reads",
    AppError::UnsupportedMediaType(
        "send the body as JSON with `Content-Type: application/json`".into()
    )
);
problem_response!(
    Unprocessable,
    "Well-formed but not acceptable; `errors` names each field at fault",
    AppError::invalid(vec![FieldError::new(
        "initiator",
        "unknown actor code `XXX`"
    )])
);
problem_response!(
    ServiceUnavailable,
    "The database is unreachable or busy; retry after `Retry-After` seconds",
    AppError::no_connection("Timeout occurred while waiting for a slot to become available")
);
/// 503 of `GET /v1/actions/export` when every export slot is taken.
pub struct ExportsBusy;

impl<'r> ToResponse<'r> for ExportsBusy {
    fn response() -> (&'r str, RefOr<Response>) {
        let example = serde_json::to_value(AppError::exports_busy().problem()).unwrap_or_default();
        (
            "ExportsBusy",
            problem(
                "Every export slot of this server is taken (`--max-exports`, by default a \
                 quarter of `--pool-size`), or the database is unreachable or busy; retry \
                 after `Retry-After` seconds",
                example,
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Object::with_type(Type::Integer))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            )
            .build()
            .into(),
        )
    }
}

problem_response!(
    InternalError,
    "A bug; it is logged",
    AppError::Internal("an example".into())
);

/// Links from a created record to the operations on it, for clients and stateful testing.
fn add_links(openapi: &mut utoipa::openapi::OpenApi) {
    let targets: [(&str, &str, &str, &[&str]); 4] = [
        (
            "/v1/actions",
            "id",
            "$response.body#/id",
            &[
                "getAction",
                "updateAction",
                "deleteAction",
                "listActionResponses",
                "getActionHistory",
                "getActionChain",
                "restoreAction",
            ],
        ),
        (
            "/v1/actors",
            "actor",
            "$response.body#/code",
            &["getActor", "updateActor", "deleteActor", "restoreActor"],
        ),
        (
            "/v1/api-keys",
            "id",
            "$response.body#/id",
            &["getApiKey", "revokeApiKey"],
        ),
        (
            "/v1/webhooks",
            "id",
            "$response.body#/id",
            &[
                "getWebhook",
                "updateWebhook",
                "deleteWebhook",
                "listWebhookDeliveries",
                "redeliverWebhook",
                "rotateWebhookSecret",
            ],
        ),
    ];
    for (path, param, expression, operations) in targets {
        let Some(RefOr::T(created)) = openapi
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut("201"))
        else {
            continue;
        };
        for operation in operations {
            created.links.insert(
                operation.to_string(),
                RefOr::T(
                    LinkBuilder::new()
                        .operation_id(*operation)
                        .parameter(param, expression)
                        .build(),
                ),
            );
        }
    }
}

/// The read-your-writes headers of read replicas (`replicas.rs`): the token every committed
/// write answers with, and that reads may send back.
fn consistency(op: &mut utoipa::openapi::path::Operation, read: bool) {
    if read {
        op.parameters.get_or_insert_with(Vec::new).push(
            ParameterBuilder::new()
                .name("Riposte-Consistency")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The `Riposte-Consistency` token of a write's answer (also sent as the \
                     `riposte_consistency` cookie): the read then sees that write, served by a \
                     replica that has replayed it or else by the primary. Malformed: 400.",
                ))
                .example(Some(json!("0/3000148")))
                .schema(Some(Object::with_type(Type::String)))
                .build(),
        );
        // Whatever the read answers, once a database was chosen for it: a 304 or a 404 too.
        for response in op.responses.responses.values_mut() {
            if let RefOr::T(response) = response {
                response.headers.insert(
                    "Riposte-Served-By".into(),
                    HeaderBuilder::new()
                        .schema(Object::with_type(Type::String))
                        .description(Some(
                            "`primary` or `replica`: which database answered, on reads a \
                             server with read replicas may send to one",
                        ))
                        .build(),
                );
            }
        }
        return;
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('2') {
            continue;
        }
        response.headers.insert(
            "Riposte-Consistency".into(),
            HeaderBuilder::new()
                .schema(Object::with_type(Type::String))
                .description(Some(
                    "The primary's WAL position after this write committed (`X/Y`): send it \
                     back as `Riposte-Consistency` on reads to see this write",
                ))
                .build(),
        );
        response.headers.insert(
            "Set-Cookie".into(),
            HeaderBuilder::new()
                .schema(Object::with_type(Type::String))
                .description(Some(
                    "`riposte_consistency=<token>; Path=/; Max-Age=300; SameSite=Lax; \
                     HttpOnly`: the same token, for browsers",
                ))
                .build(),
        );
    }
}

/// Adds the errors every operation can give, so each path lists only its own.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let reference = |name: &str| RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An API key: `rsk_` followed by 49 letters and digits"))
                        .build(),
                ),
            );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/v1/");
            let admin = ["/v1/api-keys", "/v1/audit", "/v1/webhooks"]
                .iter()
                .any(|p| path.starts_with(p));
            let operations = [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("patch", item.patch.as_mut()),
                ("delete", item.delete.as_mut()),
            ];
            // Streams: no representation to validate.
            let stream = ["/v1/events", "/v1/actions/export"].contains(&path.as_str());
            for (method, op) in operations {
                let Some(op) = op else { continue };
                let read = method == "get";
                let validated = api && read && !stream;
                // What an operation takes is declared by its handler (`controllers::IfMatch`).
                let conditional = op.parameters.iter().flatten().any(|p| p.name == "If-Match");
                // A reused key with another request is a 422 (`controllers::IdempotencyKey`).
                let idempotent = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.name == "Idempotency-Key");
                let responses = &mut op.responses.responses;
                let mut add = |status: &str, name: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| reference(name));
                };
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                // Under /v1 an unknown query parameter is a 400 even where none is known.
                if api || has_params || op.request_body.is_some() {
                    add("400", "BadRequest");
                }
                if op.request_body.is_some() {
                    add("408", "RequestTimeout");
                    add("413", "PayloadTooLarge");
                    add("415", "UnsupportedMediaType");
                    add("422", "Unprocessable");
                }
                if idempotent {
                    add("422", "Unprocessable");
                }
                if api {
                    add("401", "Unauthorized");
                    add("403", "Forbidden");
                    add("429", "TooManyRequests");
                }
                if conditional && !read {
                    add("412", "PreconditionFailed");
                    add("428", "PreconditionRequired");
                }
                add("500", "InternalError");
                add("503", "ServiceUnavailable");
                if validated {
                    op.responses.responses.insert(
                        "304".into(),
                        ResponseBuilder::new()
                            .description("Not modified: the `If-None-Match` ETag is current")
                            .build()
                            .into(),
                    );
                }
                if conditional || validated {
                    if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
                        ok.headers.insert(
                            "ETag".into(),
                            HeaderBuilder::new()
                                .schema(Object::with_type(Type::String))
                                .description(Some("Strong validator of this representation"))
                                .build(),
                        );
                    }
                    if read {
                        op.parameters.get_or_insert_with(Vec::new).push(
                            ParameterBuilder::new()
                                .name("If-None-Match")
                                .parameter_in(ParameterIn::Header)
                                .required(Required::False)
                                .description(Some("An ETag you hold; 304 when it is still current"))
                                .schema(Some(Object::with_type(Type::String)))
                                .build(),
                        );
                    }
                }
                if api {
                    consistency(op, read);
                    let key = SecurityRequirement::new("api_key", Vec::<String>::new());
                    // Public reads may go without a key; `{}` says so.
                    op.security = Some(if read && !admin {
                        vec![SecurityRequirement::default(), key]
                    } else {
                        vec![key]
                    });
                }
            }
        }
        add_links(openapi);
        declare_headers(openapi);
    }
}

fn header(description: &str, kind: Type) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Object::with_type(kind))
        .description(Some(description))
        .build()
}

/// The headers riposte sends, on the answers that carry them (the contract test fails on one
/// sent and not declared here).
fn declare_headers(openapi: &mut utoipa::openapi::OpenApi) {
    let common = [
        (
            "X-Request-Id",
            header(
                "This request's id (the one sent in `X-Request-Id`, or one made up): it is in \
                 the server's log line and audit entries",
                Type::String,
            ),
        ),
        (
            "RateLimit-Limit",
            header(
                "Requests per second this client may make (when rate limits are on)",
                Type::String,
            ),
        ),
        (
            "RateLimit-Remaining",
            header(
                "Requests left in the current burst (up to twice the limit)",
                Type::Integer,
            ),
        ),
        (
            "RateLimit-Reset",
            header("Seconds until a request is allowed again", Type::Integer),
        ),
    ];
    let retry_after = header("Seconds to wait before retrying", Type::Integer);
    if let Some(components) = openapi.components.as_mut() {
        for (name, response) in components.responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            for (h, value) in &common {
                response.headers.insert(h.to_string(), value.clone());
            }
            // A read's answer, whatever its status, says which database was chosen for it
            // (`replicas::routing`), once one was.
            if [
                "NotFound",
                "BadRequest",
                "ServiceUnavailable",
                "InternalError",
            ]
            .contains(&name.as_str())
            {
                response.headers.insert(
                    "Riposte-Served-By".into(),
                    header(
                        "On a read: `primary` or `replica`, the database chosen for it",
                        Type::String,
                    ),
                );
            }
            match name.as_str() {
                "TooManyRequests" | "ServiceUnavailable" | "ExportsBusy" => {
                    response
                        .headers
                        .insert("Retry-After".into(), retry_after.clone());
                }
                "Conflict" => {
                    response.headers.insert(
                        "Retry-After".into(),
                        header(
                            "`1` when the write was undone for a concurrent one (a deadlock): \
                             nothing of it was kept and it may be sent again as it is; absent \
                             when the conflict is with stored records",
                            Type::Integer,
                        ),
                    );
                }
                "Unauthorized" => {
                    response.headers.insert(
                        "WWW-Authenticate".into(),
                        header(
                            "`Bearer realm=\"riposte\"`, with `error=\"invalid_token\"` when a \
                             key was sent and refused",
                            Type::String,
                        ),
                    );
                }
                _ => {}
            }
        }
    }
    let shared = openapi
        .components
        .as_ref()
        .map(|c| c.responses.clone())
        .unwrap_or_default();
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, op) in operations {
            let Some(op) = op else { continue };
            // Rate limits and read routing apply under /v1 only (`ratelimit.rs`,
            // `replicas::routing`): outside it, the shared responses are copied in without
            // their headers.
            if !path.starts_with("/v1/") {
                for response in op.responses.responses.values_mut() {
                    let RefOr::Ref(r) = response else { continue };
                    let name = r.ref_location.rsplit('/').next().unwrap_or_default();
                    if let Some(RefOr::T(mut copy)) = shared.get(name).cloned() {
                        copy.headers
                            .retain(|h, _| !h.starts_with("RateLimit") && h != "Riposte-Served-By");
                        *response = RefOr::T(copy);
                    }
                }
            }
            let takes = |name: &str| op.parameters.iter().flatten().any(|p| p.name == name);
            let tagged = takes("If-Match") || takes("If-None-Match");
            let idempotent = takes("Idempotency-Key");
            // A redelivery answers with the subscription's new revision ETag.
            let tagged = tagged || path.ends_with("/redeliver");
            let listed = method == "get"
                && op.responses.responses.get("200").is_some_and(|ok| match ok {
                    RefOr::T(ok) => ok.content.get("application/json").is_some_and(|c| {
                        matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.contains("/List_"))
                    }),
                    RefOr::Ref(_) => false,
                });
            // A read's 304 carries the consistency token its 200 would have (`replicas`).
            let token = match op.responses.responses.get("200") {
                Some(RefOr::T(ok)) => ok.headers.get("Riposte-Consistency").cloned(),
                _ => None,
            };
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if let (Some(token), "304") = (&token, status.as_str()) {
                    response
                        .headers
                        .insert("Riposte-Consistency".into(), token.clone());
                }
                // Rate limits apply under /v1 only (`ratelimit.rs`).
                for (h, value) in &common {
                    if h.starts_with("RateLimit") && !path.starts_with("/v1/") {
                        continue;
                    }
                    response
                        .headers
                        .entry(h.to_string())
                        .or_insert_with(|| value.clone());
                }
                // The consistency token goes as a cookie too, for browsers (`consistency`).
                if response.headers.contains_key("Riposte-Consistency") {
                    response
                        .headers
                        .entry("Set-Cookie".into())
                        .or_insert_with(|| {
                            header(
                                "`riposte_consistency=<token>; Path=/; Max-Age=300; \
                                 SameSite=Lax; HttpOnly`: the same token, for browsers",
                                Type::String,
                            )
                        });
                }
                let success = status.starts_with('2') && status != "204";
                if (tagged || idempotent) && (success || status == "304") {
                    response.headers.entry("ETag".into()).or_insert_with(|| {
                        header("Strong validator of this representation", Type::String)
                    });
                }
                if idempotent && success {
                    response.headers.insert(
                        "Idempotent-Replayed".into(),
                        header(
                            "`true` when this is the stored answer to an earlier request with \
                             the same `Idempotency-Key`",
                            Type::String,
                        ),
                    );
                }
                // A 304 carries the headers its 200 would have.
                if listed && (status == "200" || status == "304") {
                    response.headers.entry("Link".into()).or_insert_with(|| {
                        header(
                            "`<...>; rel=\"next\"` when there is a next page",
                            Type::String,
                        )
                    });
                }
                let secret = method == "post"
                    && (path == "/v1/api-keys"
                        || path == "/v1/webhooks"
                        || path.ends_with("/rotate-secret"));
                if success && (secret || path == "/v1/events") {
                    response.headers.insert(
                        "Cache-Control".into(),
                        header(
                            "`no-store` on answers holding a secret; `no-cache` on the event \
                             stream",
                            Type::String,
                        ),
                    );
                }
                if success && path == "/v1/actions/export" {
                    response.headers.insert(
                        "Content-Disposition".into(),
                        header(
                            "`attachment; filename=\"actions.ndjson\"` (or `.csv`)",
                            Type::String,
                        ),
                    );
                }
            }
        }
    }
}
