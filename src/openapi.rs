//! The OpenAPI 3.1 document. Served at `/openapi.json`, committed as `openapi/openapi.json`
//! (a test fails when they differ; `riposte openapi > openapi/openapi.json` regenerates it).

use serde_json::json;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::controllers::{action_types, actions, actors, health};
use crate::error::{FieldError, Problem, PROBLEM_JSON};

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
    paths(
        actors::list,
        actors::create,
        actors::get,
        actors::update,
        actors::delete,
        action_types::list,
        actions::list,
        actions::create,
        actions::get,
        actions::update,
        actions::delete,
        actions::responses,
        actions::history,
        health::healthz,
        health::readyz,
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            ServiceUnavailable,
            InternalError
        )
    ),
    modifiers(&CommonErrors),
    tags(
        (name = "actors", description = "States, IGOs, and the bodies, people and companies \
            they act through or designate"),
        (name = "actions", description = "Actions between states, and the response graph"),
        (name = "action types", description = "The taxonomy of actions"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// The document as served and committed, pretty-printed with a final newline.
pub fn document_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

macro_rules! problem_response {
    ($name:ident, $status:literal, $description:literal, $type_:literal, $title:literal, $detail:literal) => {
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let example = json!({
                    "type": $type_,
                    "title": $title,
                    "status": $status,
                    "detail": $detail,
                });
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(
                            PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .example(Some(example))
                                .build(),
                        )
                        .build()
                        .into(),
                )
            }
        }
    };
}

problem_response!(
    BadRequest,
    400,
    "Malformed request: unparsable JSON, or a bad query or path parameter",
    "/problems/bad-request",
    "The request is malformed",
    "parameter `limit`: 500 is out of range; limit must be between 1 and 200"
);
problem_response!(
    NotFound,
    404,
    "No such record",
    "/problems/not-found",
    "Not found",
    "action 0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a60 does not exist"
);
problem_response!(Conflict, 409,
    "The change conflicts with existing records (duplicate code, record still referenced)",
    "/problems/conflict", "The request conflicts with the current state",
    "actor `CHN` is still referenced: initiator, target or authority of 3 action(s); remove those references first");
problem_response!(
    PayloadTooLarge,
    413,
    "The body exceeds 1 MiB",
    "/problems/payload-too-large",
    "The request body is too large",
    "request body exceeds the limit of 1048576 bytes"
);
problem_response!(
    UnsupportedMediaType,
    415,
    "The body is not sent as JSON",
    "/problems/unsupported-media-type",
    "The request body must be JSON",
    "send the body as JSON with `Content-Type: application/json`"
);
problem_response!(
    Unprocessable,
    422,
    "Well-formed but not acceptable; `errors` names each field at fault",
    "/problems/validation",
    "The request is not valid",
    "initiator: unknown actor code `XXX`"
);
problem_response!(
    ServiceUnavailable,
    503,
    "The database is unreachable or busy; retry after `Retry-After` seconds",
    "/problems/unavailable",
    "The service is temporarily unavailable",
    "no database connection is available; retry in a few seconds"
);
problem_response!(
    InternalError,
    500,
    "A bug; it is logged",
    "/problems/internal",
    "Internal server error",
    "an unexpected error occurred; it has been logged. Retry later, and report it if it persists"
);

/// Adds the errors every operation can give, so each path lists only its own.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let reference = |name: &str| RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                let mut add = |status: &str, name: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| reference(name));
                };
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if has_params || op.request_body.is_some() {
                    add("400", "BadRequest");
                }
                if op.request_body.is_some() {
                    add("413", "PayloadTooLarge");
                    add("415", "UnsupportedMediaType");
                    add("422", "Unprocessable");
                }
                add("500", "InternalError");
                if path != "/healthz" {
                    add("503", "ServiceUnavailable");
                }
            }
        }
    }
}
