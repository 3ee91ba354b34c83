//! Every size limit of the API in one place. Each is documented in README.md and the OpenAPI
//! description, and exceeding one is a 4xx that names it.

pub use crate::extract::MAX_BODY_BYTES;

/// Page size: `limit` defaults to this...
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// ...and may not exceed this (400 beyond).
pub const MAX_PAGE_SIZE: i64 = 200;

pub const MAX_CODE_LEN: usize = 100;
pub const MAX_NAME_LEN: usize = 300;
pub const MAX_TITLE_LEN: usize = 500;
pub const MAX_TEXT_LEN: usize = 10_000;
pub const MAX_SHORT_TEXT_LEN: usize = 1_000;
pub const MAX_URL_LEN: usize = 2_000;
pub const MAX_TAG_LEN: usize = 64;

pub const MAX_ALIASES: usize = 100;
pub const MAX_TAGS: usize = 50;
pub const MAX_DESIGNATIONS: usize = 1_000;
pub const MAX_SOURCES: usize = 100;
pub const MAX_RESPONDS_TO: usize = 100;
pub const MAX_STATUS_HISTORY: usize = 100;

/// Values of one multi-valued filter of `GET /v1/actions` (`initiator=A,B,...`).
pub const MAX_FILTER_VALUES: usize = 100;
/// Characters of a full-text query `q`.
pub const MAX_SEARCH_LEN: usize = 500;

/// Entries of a problem's `errors` list; the detail says how many more there were.
pub const MAX_PROBLEM_ERRORS: usize = 100;

/// Webhook subscriptions on one database.
pub const MAX_WEBHOOKS: i64 = 100;
/// A webhook payload (one feed entry); past it the entry is sent without its `document`.
pub const MAX_WEBHOOK_PAYLOAD: usize = 256 * 1024;
/// Days a webhook delivery attempt is kept (`GET /v1/webhooks/{id}/deliveries`).
pub const WEBHOOK_ATTEMPTS_KEPT_DAYS: i32 = 7;
