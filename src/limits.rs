//! The limits on what a request may hold (sizes, counts, lengths) in one place. Limits on
//! what a request may cost live beside the code they bound (a timeline's buckets in
//! `analysis::dyad`, a chain's size in `analysis::chain`, event streams in `subscribers`,
//! the server's flags in `state`). Each is documented in docs/LIMITS.md, and exceeding one
//! is a 4xx that names it.

/// The largest request body accepted, in bytes (413 beyond); imports have their own limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Page size: `limit` defaults to this...
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// ...and may not exceed this (400 beyond).
pub const MAX_PAGE_SIZE: i64 = 200;
/// The documents of one page of actions (and of one batch of an export), in bytes: a page
/// ends early past them, its `next_page_token` going on from there. Documents run to about
/// 1 MB (1,000 designations, 100 quotes of 10,000 characters), and 200 of them made one
/// answer of 200 MB, held whole by the server.
pub const MAX_PAGE_BYTES: i64 = 8 * 1024 * 1024;

/// Characters of an `Idempotency-Key` (the database's column checks the same bound).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub const MAX_CODE_LEN: usize = 100;
pub const MAX_NAME_LEN: usize = 300;
pub const MAX_TITLE_LEN: usize = 500;
pub const MAX_TEXT_LEN: usize = 10_000;
pub const MAX_SHORT_TEXT_LEN: usize = 1_000;
pub const MAX_URL_LEN: usize = 2_000;
pub const MAX_TAG_LEN: usize = 64;
/// Characters of an API key's name.
pub const MAX_KEY_NAME_LEN: usize = 100;
/// Characters of an action's `source_dataset` (migration 000013 holds the same bound).
pub const MAX_SOURCE_DATASET_LEN: usize = 50;

/// An action's severity, from most hostile to most cooperative (the Goldstein scale's range;
/// the `actions_severity_check` constraint holds the same).
pub const MIN_SEVERITY: f64 = -10.0;
pub const MAX_SEVERITY: f64 = 10.0;

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
/// `-` (NOT) signs in a row in `q`, spaces between them or not: PostgreSQL's search parser
/// keeps them on a stack of 32 with the `or` and the `and` still pending before them, and
/// fails the query beyond ("tsquery stack too small"; 31 after a word, 30 after `a or b`).
pub const MAX_SEARCH_NEGATIONS: usize = 30;

/// Entries of a problem's `errors` list; the detail says how many more there were.
pub const MAX_PROBLEM_ERRORS: usize = 100;

/// Characters of an action's `external_id`.
pub const MAX_EXTERNAL_ID_LEN: usize = 200;
/// Bytes of an import file sent to `POST /v1/imports` (413 beyond); `riposte import` reads
/// files of any size.
pub const MAX_IMPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The longest an upload to `POST /v1/imports` may take, from the handler's start (408
/// beyond): a slot of the import queue is held from then on. 2 GiB in 2 h is 2.4 Mbit/s;
/// gzipped NDJSON needs a fraction of that.
pub const MAX_IMPORT_UPLOAD_TIME: std::time::Duration = std::time::Duration::from_secs(2 * 3600);
/// Bytes per second an import upload must average, as sent (before decompression), once
/// `IMPORT_UPLOAD_GRACE` is spent: 128 kbit/s. Only the time spent waiting for the body
/// counts, not the server's own decoding and writing (408 below).
pub const MIN_IMPORT_UPLOAD_RATE: u64 = 16 * 1024;
/// How far an import upload may fall behind `MIN_IMPORT_UPLOAD_RATE`: by `t` seconds of
/// waiting for it, `MIN_IMPORT_UPLOAD_RATE * (t - 30)` bytes must have arrived.
pub const IMPORT_UPLOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(30);
/// Bytes of one line of an NDJSON import (or one record of a PLOVER file, or a GDELT row);
/// a longer line is rejected, and reading goes on with the next.
pub const MAX_IMPORT_LINE_BYTES: usize = 1024 * 1024;
/// Rejected lines whose messages an import job keeps (the count stays exact).
pub const MAX_REPORTED_REJECTIONS: usize = 1_000;
/// Import jobs running at once in one server (more wait, queued): each holds a transaction
/// and a connection of its own.
pub const MAX_RUNNING_IMPORTS: usize = 2;
/// Import jobs accepted and not finished (queued or running) in one server (503 beyond).
pub const MAX_QUEUED_IMPORTS: usize = 8;
/// Of those, the most one API key may hold (429 beyond): an uploader that keeps reconnecting
/// leaves the other half of the queue to everybody else.
pub const MAX_QUEUED_IMPORTS_PER_KEY: usize = MAX_QUEUED_IMPORTS / 2;
/// Webhook subscriptions on one database.
pub const MAX_WEBHOOKS: i64 = 100;
/// A webhook payload (one feed entry); past it the entry is sent without its `document`.
pub const MAX_WEBHOOK_PAYLOAD: usize = 256 * 1024;
/// Days a webhook delivery attempt is kept (`GET /v1/webhooks/{id}/deliveries`).
pub const WEBHOOK_ATTEMPTS_KEPT_DAYS: i32 = 7;
/// Status changes `GET /v1/actions/{id}/history` shows, the newest (older ones are counted).
pub const MAX_HISTORY_STATUS_CHANGES: i64 = 1_000;
/// Edits `GET /v1/actions/{id}/history` shows, the newest (older ones are counted; every edit
/// is in `GET /v1/audit`).
pub const MAX_HISTORY_EDITS: i64 = 200;
