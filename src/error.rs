//! The one application error type. Every failure a handler can meet converts into it, and it
//! renders as an RFC 9457 `application/problem+json` body.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One thing wrong with one field of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// Where the problem is: a body field as a dotted path (`designations[0].actor`), or the
    /// name of a query or path parameter.
    #[schema(example = "designations[0].actor")]
    pub field: String,
    /// What is wrong, and what would be accepted.
    #[schema(example = "unknown actor code `chen-quan-guo`")]
    pub message: String,
}

impl FieldError {
    /// The error with every whole API key in its field and message cut to its printed
    /// prefix (`logging::hide_keys`): what is said back quotes what was sent, and a key sent
    /// where it does not belong (a parameter's name, an actor code) is not repeated.
    pub fn without_keys(self) -> Self {
        FieldError {
            field: crate::logging::hide_keys(&self.field),
            message: crate::logging::hide_keys(&self.message),
        }
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "The request is not valid",
    "status": 422,
    "detail": "2 fields are not valid",
    "errors": [
        {"field": "initiator", "message": "unknown actor code `XXX`"},
        {"field": "announced_on", "message": "expected a date as YYYY-MM-DD, YYYY-MM or YYYY"}
    ]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, so clients can branch on it.
    #[serde(rename = "type")]
    #[schema(example = "/problems/not-found")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this occurrence, and what to do about it.
    pub detail: String,
    /// Per-field details, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The request is malformed: unparsable JSON, bad query or path parameters.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// No usable API key; `invalid_token` when one was sent but refused.
    #[error("{detail}")]
    Unauthorized { detail: String, invalid_token: bool },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{0}")]
    Conflict(String),
    /// PostgreSQL undid the write for waiting on a concurrent one (a deadlock, a
    /// serialization failure): nothing of it was kept. Writes are run again on this before
    /// it is answered (`service::WRITE_ATTEMPTS`); a 409 with `Retry-After`.
    #[error("{0}")]
    Contended(String),
    /// A value that another record already holds (a unique key): a 409 naming its field.
    #[error("{field}: {message}")]
    Taken { field: String, message: String },
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body did not arrive in time; the connection is closed.
    #[error(
        "the request body did not arrive within {seconds} s; send it whole and promptly, \
         or retry"
    )]
    RequestTimeout { seconds: u64 },
    /// An upload that took too long in all, or arrived too slowly (its detail says which);
    /// the connection is closed.
    #[error("{0}")]
    UploadTooSlow(String),
    /// Well-formed, but not acceptable: wrong types, unknown fields or codes, broken rules.
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The method is not one the path takes; `allow` lists those it does.
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    /// Over a rate limit; `retry_after` seconds until a request is let through.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// The database cannot be reached or has no free connection right now.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the detail is logged, not shown.
    #[error("{0}")]
    Internal(String),
    /// An error a layer below riposte answered in plain text (actix-cors refusing a
    /// preflight, actix-http's own limits), given a problem document like every other.
    #[error("{detail}")]
    Relayed { status: StatusCode, detail: String },
}

/// Keeps the first `MAX_PROBLEM_ERRORS` of a problem's errors, so that the answer to a
/// request with a hundred thousand faults stays small; says how many were left out.
fn cap_errors(errors: &mut Vec<FieldError>) -> String {
    let total = errors.len();
    if total <= crate::limits::MAX_PROBLEM_ERRORS {
        return String::new();
    }
    errors.truncate(crate::limits::MAX_PROBLEM_ERRORS);
    format!(
        "; the first {} are listed, {} more are not",
        crate::limits::MAX_PROBLEM_ERRORS,
        total - crate::limits::MAX_PROBLEM_ERRORS
    )
}

impl AppError {
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        AppError::NotFound(format!("{what} does not exist"))
    }

    pub fn bad_param(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::BadRequest {
            detail: format!("parameter `{field}`: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    /// Several bad query parameters at once (must not be empty).
    pub fn bad_params(mut errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("parameter `{}`: {}", one.field, one.message),
            many => format!(
                "{} query parameters are not valid{}",
                many.len(),
                cap_errors(&mut errors)
            ),
        };
        AppError::BadRequest { detail, errors }
    }

    /// A validation failure from a list of field errors (must not be empty).
    pub fn invalid(mut errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!(
                "{} fields are not valid{}",
                many.len(),
                cap_errors(&mut errors)
            ),
        };
        AppError::Validation { detail, errors }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// A problem's type and title, one pair per status: an error a lower layer answered
    /// (`Relayed`) reads as riposte's own of the same status.
    fn parts(&self) -> (std::borrow::Cow<'static, str>, &'static str) {
        let status = self.status_code();
        let known = match status.as_u16() {
            400 => ("/problems/bad-request", "The request is malformed"),
            401 => ("/problems/unauthorized", "A valid API key is required"),
            403 => ("/problems/forbidden", "The API key's scope is too narrow"),
            404 => ("/problems/not-found", "Not found"),
            405 => ("/problems/method-not-allowed", "Method not allowed"),
            408 => (
                "/problems/request-timeout",
                "The request body arrived too slowly",
            ),
            409 => (
                "/problems/conflict",
                "The request conflicts with the current state",
            ),
            412 => (
                "/problems/precondition-failed",
                "The resource changed since you read it",
            ),
            413 => (
                "/problems/payload-too-large",
                "The request body is too large",
            ),
            415 => (
                "/problems/unsupported-media-type",
                "The request body's media type is not accepted",
            ),
            422 => ("/problems/validation", "The request is not valid"),
            428 => ("/problems/precondition-required", "If-Match is required"),
            429 => ("/problems/rate-limited", "Too many requests"),
            500 => ("/problems/internal", "Internal server error"),
            503 => (
                "/problems/unavailable",
                "The service is temporarily unavailable",
            ),
            _ => {
                let title = status.canonical_reason().unwrap_or("Error");
                let slug = title.to_ascii_lowercase().replace(' ', "-");
                return (format!("/problems/{slug}").into(), title);
            }
        };
        (known.0.into(), known.1)
    }

    /// A write PostgreSQL undid for a concurrent one, after the tries `service::write` gave it.
    pub fn contended() -> Self {
        AppError::Contended(
            "a concurrent change touched the same records and this one was undone; nothing of \
             it was kept: send it again"
                .into(),
        )
    }

    /// `If-Match` missing where the server requires it (`--require-if-match true`).
    pub fn if_match_required() -> Self {
        AppError::PreconditionRequired(
            "this server requires `If-Match` with the resource's current ETag for changes; GET \
             the resource and send its ETag"
                .into(),
        )
    }

    /// Over the rate limit of `limit` requests per second; a token is back in `retry_after`.
    pub fn rate_limited(limit: &str, retry_after: u64) -> Self {
        AppError::TooManyRequests {
            detail: format!(
                "rate limit of {limit} requests per second exceeded; retry in {retry_after} s"
            ),
            retry_after,
        }
    }

    /// No database connection to be had, for `cause`.
    pub fn no_connection(cause: impl std::fmt::Display) -> Self {
        AppError::Unavailable(format!(
            "no database connection is available ({cause}); retry in a few seconds"
        ))
    }

    /// Every export slot of this server taken (`--max-exports`).
    pub fn exports_busy() -> Self {
        AppError::Unavailable(
            "every export slot of this server is busy with other downloads; retry later".into(),
        )
    }

    pub fn problem(&self) -> Problem {
        let (type_, title) = self.parts();
        let detail = match self {
            AppError::Internal(_) => {
                "an unexpected error occurred; it has been logged. Retry later, and report it \
                 if it persists"
                    .to_string()
            }
            other => other.to_string(),
        };
        let mut errors = match self {
            AppError::BadRequest { errors, .. } | AppError::Validation { errors, .. } => {
                errors.clone()
            }
            AppError::Taken { field, message } => vec![FieldError::new(field, message.clone())],
            _ => Vec::new(),
        };
        // A message quoting what was sent must not repeat a whole API key (one mistaken for
        // an id in a path, say): it is cut to the prefix `riposte keys list` shows.
        let detail = crate::logging::hide_keys(&detail);
        errors = errors.into_iter().map(FieldError::without_keys).collect();
        Problem {
            type_: type_.into(),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

/// Headers every answer carries: no content sniffing, and no page of ours inside another
/// site's frame (/docs, where an admin may paste a key and try a DELETE, had neither).
pub const SECURITY_HEADERS: [(header::HeaderName, &str); 2] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::Conflict(_) | AppError::Contended(_) | AppError::Taken { .. } => {
                StatusCode::CONFLICT
            }
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RequestTimeout { .. } | AppError::UploadTooSlow(_) => {
                StatusCode::REQUEST_TIMEOUT
            }
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Relayed { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            log::error!("internal error: {cause}");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        // Here too: an error a middleware returns is rendered after the layer that adds them.
        for (name, value) in SECURITY_HEADERS {
            response.insert_header((name, value));
        }
        match self {
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            AppError::Contended(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            AppError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, allow.clone()));
            }
            AppError::RequestTimeout { .. } | AppError::UploadTooSlow(_) => {
                // What is left of the body would be read as the next request.
                response.insert_header((header::CONNECTION, "close"));
            }
            AppError::Unauthorized { invalid_token, .. } => {
                let challenge = if *invalid_token {
                    "Bearer realm=\"riposte\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"riposte\""
                };
                response.insert_header((header::WWW_AUTHENTICATE, challenge));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Turns the database's own refusals into client errors: the constraints in `migrations/` are
/// the last line of defence, and a violated one means the request (or a concurrent one) was at
/// fault, not the server.
impl From<DieselError> for AppError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => AppError::NotFound("the record does not exist".into()),
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("");
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        let message = constraint_message(constraint, info.message());
                        match unique_field(constraint) {
                            Some(field) => AppError::Taken {
                                field: field.into(),
                                message,
                            },
                            None => AppError::Conflict(message),
                        }
                    }
                    DatabaseErrorKind::ForeignKeyViolation => {
                        AppError::Conflict(constraint_message(constraint, info.message()))
                    }
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        let field = info.column_name().unwrap_or(constraint).to_string();
                        AppError::invalid_field(
                            &field,
                            constraint_message(constraint, info.message()),
                        )
                    }
                    // Two writes that each wait for the other (SQLSTATE 40P01): PostgreSQL
                    // undoes one of them whole, which may simply be run again.
                    DatabaseErrorKind::SerializationFailure => AppError::contended(),
                    _ if info.message().contains("deadlock detected") => AppError::contended(),
                    DatabaseErrorKind::ClosedConnection => {
                        AppError::Unavailable("the database connection was lost; retry".into())
                    }
                    // The server going down or coming back (SQLSTATE classes 57 and 08):
                    // the request may be retried once it is back.
                    _ if [
                        "terminating connection",
                        "the database system is starting up",
                        "the database system is shutting down",
                        "the database system is in recovery mode",
                        "server closed the connection",
                        "connection closed",
                    ]
                    .iter()
                    .any(|m| info.message().contains(m)) =>
                    {
                        AppError::Unavailable(
                            "the database is restarting or unreachable; retry in a few seconds"
                                .into(),
                        )
                    }
                    _ if info.message().contains("statement timeout") => {
                        AppError::Unavailable(format!(
                            "the database did not answer within {} s; retry later",
                            crate::db::STATEMENT_TIMEOUT.as_secs()
                        ))
                    }
                    // PostgreSQL text cannot hold NUL; anything else unknown is ours.
                    _ if info.message().contains("invalid byte sequence")
                        || info.message().contains("0x00") =>
                    {
                        AppError::BadRequest {
                            detail: "text must not contain NUL (\\u0000) characters".into(),
                            errors: Vec::new(),
                        }
                    }
                    _ => AppError::Internal(format!("database error: {}", info.message())),
                }
            }
            other => AppError::Internal(format!("database error: {other}")),
        }
    }
}

/// The field whose value a unique key of our schema refused, where one field holds it.
fn unique_field(constraint: &str) -> Option<&'static str> {
    match constraint {
        "actors_code_key" | "actors_code_lower_key" => Some("code"),
        "actors_wikidata_id_key" => Some("wikidata_id"),
        "actions_external_key" => Some("external_id"),
        _ => None,
    }
}

/// Human wording for the named constraints of our schema.
fn constraint_message(constraint: &str, fallback: &str) -> String {
    let text = match constraint {
        "actors_code_key" => "an actor with this code already exists",
        "actors_code_lower_key" => {
            "another actor has this code in other letter case; codes are unique whatever \
             their case"
        }
        "actors_wikidata_id_key" => "another actor already has this wikidata_id",
        "actors_country_fkey" => {
            "the actor is the country of other actors; delete or move them first"
        }
        "actors_parent_id_fkey" => {
            "the actor is the parent of other actors; delete or move them first"
        }
        "actions_initiator_fkey" | "actions_target_fkey" => {
            "the actor is initiator or target of actions, so it must exist and stay a state or IGO"
        }
        "actions_authority_id_fkey" => "the actor is the authority of actions; delete those first",
        "designations_actor_id_fkey" => "the actor is designated by actions; delete those first",
        "responses_responds_to_id_fkey" => {
            "other actions respond to this action; delete those responses first"
        }
        "sources_action_url_key" => "the same source URL is given twice",
        "designations_pkey" => "the same actor is designated twice",
        "actions_external_key" => {
            "another action already has this external_id in this source_dataset"
        }
        "responses_pkey" => "the same action is answered twice",
        _ => return format!("the database refused the change ({constraint}): {fallback}"),
    };
    text.to_string()
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        log::warn!("no database connection: {err}");
        AppError::no_connection(err)
    }
}

impl From<crate::models::enums::CorruptValue> for AppError {
    fn from(err: crate::models::enums::CorruptValue) -> Self {
        AppError::Internal(err.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// An error with its causes, which say what went wrong (refused, no such host, TLS): the
/// top-level messages of tokio-postgres and reqwest ("error connecting to server", "error
/// sending request") leave them out.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
