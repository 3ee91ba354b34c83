//! `Idempotency-Key` for POSTs.
//!
//! Every write that accepts the header goes through `service::write_once`, which takes the
//! key and the handler's way of answering (`Once`): the answer is rendered and stored in the
//! same transaction as the record it describes, so a crash can leave neither half without the
//! other, and no write can take the key without storing its answer. A retry either replays
//! the first answer (`Written::Replayed`, a value like any other) or, if the first never
//! committed, does the work once. A transaction-scoped advisory lock on the key tells a retry
//! that arrives while the first request is still running (409).

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::schema::idempotency_keys;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// A POST's idempotency key, scoped to the API key that sent it.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key_id: Uuid,
    pub key: String,
    /// SHA-256 of the method, path and body.
    pub request_hash: Vec<u8>,
}

/// A write's answer as the handler renders it: what is stored, and replayed as it was. The
/// service stores it without knowing what the numbers mean.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
}

/// Renders a write's answer from what it wrote.
type Render<T> = Box<dyn Fn(&T) -> AppResult<Answer> + Send + Sync>;

/// How the answer to a write is rendered, and the key it is stored under (if any).
pub struct Once<T> {
    pub(super) idem: Option<Idempotency>,
    pub(super) render: Render<T>,
}

impl<T> Once<T> {
    pub fn new(
        idem: Option<Idempotency>,
        render: impl Fn(&T) -> AppResult<Answer> + Send + Sync + 'static,
    ) -> Self {
        Once {
            idem,
            render: Box::new(render),
        }
    }

    /// No key, and an answer nobody will send (the command line, seeds).
    pub fn none() -> Self {
        Once::new(None, |_| {
            Ok(Answer {
                status: 0,
                location: None,
                etag: None,
                body: String::new(),
            })
        })
    }
}

/// The outcome of a write with `Once`.
pub enum Written<T> {
    /// Done now, with its answer.
    Fresh(T, Answer),
    /// Done by an earlier request with the same key: its answer, and nothing done now.
    Replayed(Answer),
}

impl<T> Written<T> {
    /// What was written now; None for a replay.
    pub fn value(self) -> Option<T> {
        match self {
            Written::Fresh(value, _) => Some(value),
            Written::Replayed(_) => None,
        }
    }
}

impl Idempotency {
    /// The key `key` sent with `key_id`, for the request whose method, path and body hash to
    /// `request_hash` (a retry must be the same request).
    pub fn new(key_id: Uuid, key: String, request_hash: Vec<u8>) -> Self {
        Idempotency {
            key_id,
            key,
            request_hash,
        }
    }
}

#[derive(Queryable)]
struct Row {
    request_hash: Vec<u8>,
    status: i16,
    location: Option<String>,
    etag: Option<String>,
    body: String,
}

/// Call first inside the write's transaction: fails with 409 while another request holds the
/// key, 422 when the key was used for another request; the first answer when there is one.
pub(super) async fn begin(
    conn: &mut AsyncPgConnection,
    idem: &Idempotency,
) -> AppResult<Option<Answer>> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let locked: Locked = diesel::sql_query(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 7236112)) \
         AS locked",
    )
    .bind::<SqlUuid, _>(idem.key_id)
    .bind::<Text, _>(&idem.key)
    .get_result(conn)
    .await?;
    if !locked.locked {
        return Err(AppError::Conflict(format!(
            "a request with Idempotency-Key `{}` is still being processed; retry when it is \
             done to get its answer",
            idem.key
        )));
    }
    diesel::sql_query(format!(
        "DELETE FROM idempotency_keys WHERE key_id = $1 \
         AND created_at < now() - interval '{RETENTION_HOURS} hours'"
    ))
    .bind::<SqlUuid, _>(idem.key_id)
    .execute(conn)
    .await?;
    let stored: Option<Row> = idempotency_keys::table
        .find((idem.key_id, &idem.key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::location,
            idempotency_keys::etag,
            idempotency_keys::body,
        ))
        .first(conn)
        .await
        .optional()?;
    match stored {
        None => Ok(None),
        Some(row) if row.request_hash != idem.request_hash => Err(AppError::invalid_field(
            "Idempotency-Key",
            format!(
                "`{}` was already used for a different request; use a new key for a new request",
                idem.key
            ),
        )),
        Some(row) => Ok(Some(Answer {
            status: row.status as u16,
            location: row.location,
            etag: row.etag,
            body: row.body,
        })),
    }
}

/// Call last inside the write's transaction, with the answer about to be sent.
pub(super) async fn store(
    conn: &mut AsyncPgConnection,
    idem: &Idempotency,
    answer: &Answer,
) -> AppResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::key_id.eq(idem.key_id),
            idempotency_keys::idempotency_key.eq(&idem.key),
            idempotency_keys::request_hash.eq(&idem.request_hash),
            idempotency_keys::status.eq(answer.status as i16),
            idempotency_keys::location.eq(&answer.location),
            idempotency_keys::etag.eq(&answer.etag),
            idempotency_keys::body.eq(&answer.body),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
