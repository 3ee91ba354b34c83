use crate::subscribers::Client;
use std::sync::Arc;

use actix_web::http::header::{self, ContentEncoding};
use actix_web::route;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::filters;
use crate::auth::Reader;
use crate::error::{AppError, AppResult};
use crate::extract::{Repeatable, RepeatableQuery};
use crate::feed::{self, Event};
use crate::models::change::{self, ChangeFilter};
use crate::pagination;
use crate::state::AppState;
use crate::views::{Change, ChangeList};

/// What the feed is filtered by; every filter given must match, any of its values.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeParams {
    /// The `cursor` of the last entry you have (or `next_cursor` of the last page). When
    /// absent, `GET /v1/changes` starts at the start of the feed and `GET /v1/events` at the
    /// entries committed after it connected.
    #[param(example = "0")]
    pub after: Option<String>,
    /// What happened: `created`, `updated`, `deleted`, `restored`, `purged`,
    /// `status_changed`, `edge_added`, `edge_removed`.
    #[param(value_type = Option<Vec<crate::models::change::ChangeKind>>, style = Form, explode,
        example = json!(["created"]))]
    pub kind: Option<String>,
    /// `actor`, `action` or `response` (edges of the response graph).
    #[param(value_type = Option<Vec<crate::models::change::ChangeEntity>>, style = Form, explode,
        example = json!(["action"]))]
    pub entity: Option<String>,
    /// Changes concerning these actors (codes, or ids, which stay the same through a change
    /// of code): an actor itself, or an action (and its edges) whose initiator, target or
    /// authority it is or that designates it.
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["CHN"]))]
    pub actor: Option<String>,
    /// Changes of actions (and their edges) between two states or IGOs, either way: `A,B`
    /// (codes or ids).
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["USA,CHN"]))]
    pub dyad: Option<String>,
    /// Changes of actions (and their edges) of these types.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<Vec<String>>, style = Form, explode)]
    pub type_: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
}

impl Repeatable for ChangeParams {
    const REPEATABLE: &'static [(&'static str, &'static str)] = &[
        ("kind", ","),
        ("entity", ","),
        ("actor", ","),
        ("dyad", ";"),
        ("type", ","),
    ];
}

/// A cursor as given in the query or a header (a 400 when unreadable).
fn cursor(field: &str, raw: Option<&str>) -> AppResult<Option<i64>> {
    raw.map(|text| feed::parse_cursor(field, text).map_err(|f| AppError::bad_params(vec![f])))
        .transpose()
}

/// Refuses (400) a cursor past the newest entry (`feed::unknown_cursor`).
async fn known_cursor(
    conn: &mut diesel_async::AsyncPgConnection,
    field: &str,
    after: i64,
) -> AppResult<()> {
    match feed::unknown_cursor(conn, field, after).await? {
        Some(fault) => Err(AppError::bad_params(vec![fault])),
        None => Ok(()),
    }
}

async fn filter(state: &AppState, p: &ChangeParams) -> AppResult<ChangeFilter> {
    let mut conn = state.conn().await?;
    filters::resolve_changes(
        &mut conn,
        &state.types,
        &p.kind,
        &p.entity,
        &p.actor,
        &p.dyad,
        &p.type_,
    )
    .await
}

/// Every committed change, in commit order, in pages that never skip or repeat an entry, even
/// while changes are being made: follow `next_cursor`.
#[utoipa::path(get, path = "/v1/changes", tag = "changes",
    operation_id = "listChanges", params(ChangeParams),
    responses((status = 200, description = "A page of the feed", body = ChangeList,
        example = json!({"items": [], "next_cursor": "0", "caught_up": true}))))]
#[route("/v1/changes", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    RepeatableQuery(params): RepeatableQuery<ChangeParams>,
) -> AppResult<HttpResponse> {
    let after = cursor("after", params.after.as_deref())?.unwrap_or(0);
    let limit = pagination::page_size(params.limit)?;
    let filter = filter(&state, &params).await?;
    let mut conn = state.conn().await?;
    change::sequence(&mut conn).await?;
    let (rows, scanned_to) = change::page(&mut conn, after, limit, &filter).await?;
    if scanned_to.is_none() {
        known_cursor(&mut conn, "after", after).await?;
    }
    let next = match rows.last() {
        Some(last) if rows.len() as i64 == limit => last.seq,
        _ => scanned_to.unwrap_or(after).max(after),
    };
    // Read after the page: an entry numbered in between can only make this false, and the
    // client asks once more.
    let caught_up = next >= change::latest(&mut conn).await?;
    let items = feed::entries(&mut conn, &state.actors, &rows).await?;
    // A follower polling with the ETag it holds gets 304 while nothing new has come.
    crate::conditional::respond(
        &req,
        &ChangeList {
            items,
            next_cursor: next.to_string(),
            caught_up,
        },
    )
}

/// The change feed as Server-Sent Events: every entry (`event: change`, `id:` its cursor,
/// `data:` the entry as in `GET /v1/changes`) from `after`, `Last-Event-ID` or now, then
/// live. A comment line every 15 s keeps the connection open. A client that falls too far
/// behind gets `event: dropped` with the cursor to resume from, and the stream ends. Where
/// reads need a key, the stream ends when the key expires, or within about a heartbeat of its
/// revocation. A client (an API key, or an address without one) may hold 100 streams at once
/// (`--max-event-streams-per-client`; 429 beyond), a server 5,000 (`--max-event-streams`;
/// 503 beyond).
#[utoipa::path(get, path = "/v1/events", tag = "changes",
    operation_id = "streamEvents", params(super::Unpaged<ChangeParams>,
        ("Last-Event-ID" = Option<String>, Header, description = "The last `id:` received; resumes after it (empty: none, `after` is used)")),
    responses((status = 200, description = "A stream of `text/event-stream` events",
        content_type = "text/event-stream", body = String)))]
#[route("/v1/events", method = "GET", method = "HEAD")]
pub async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    Reader(caller): Reader,
) -> AppResult<HttpResponse> {
    let params: ChangeParams = crate::extract::parse_query_offering(
        req.query_string(),
        ChangeParams::REPEATABLE,
        &super::NOT_PAGED,
        &[],
    )?;
    super::refuse_paging([params.limit.is_some(), false, false], "the event stream")?;
    // An empty id is none, as in SSE itself (a browser sends no header then).
    let resume = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .filter(|id| !id.trim().is_empty());
    let after = match resume {
        Some(id) => cursor("Last-Event-ID", Some(id))?,
        None => cursor("after", params.after.as_deref())?,
    };
    let filter = filter(&state, &params).await?;
    if let Some(after) = after {
        let mut conn = state.conn().await?;
        change::sequence(&mut conn).await?;
        let field = if resume.is_some() {
            "Last-Event-ID"
        } else {
            "after"
        };
        known_cursor(&mut conn, field, after).await?;
    }
    if req.method() == actix_web::http::Method::HEAD {
        // What a GET would answer, without opening a stream that nobody reads.
        return Ok(HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish());
    }
    let client = match &caller.key {
        Some(key) => Client::Key(key.id),
        None => Client::Address(
            state
                .config
                .trusted_proxies
                .client(req.peer_addr().map(|a| a.ip()), req.headers()),
        ),
    };
    let slot = state.subscribers.take(client)?;
    let feed = state.feed().await?;
    let (receiver, live_from) = feed.subscribe();
    let stream = Stream {
        state: state.clone().into_inner(),
        receiver,
        filter,
        // From now on unless asked to resume: everything the live task sent before.
        after: after.unwrap_or(live_from),
        catching_up: after.is_some(),
        heartbeat: heartbeat(state.config.heartbeat),
        turn: None,
        shutdown: state.shutdown.subscribe(),
        live_sent: false,
        ended: false,
        // Where reads are public, a key opens nothing a stream needs watching for.
        key: caller
            .key
            .filter(|_| !state.config.public_read)
            .map(|key| WatchedKey {
                id: key.id,
                expires_at: key.expires_at,
                checked: std::time::Instant::now(),
            }),
        _connected: state.metrics.event_client(),
        _slot: slot,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Compressing would hold events back until a block fills.
        .insert_header(ContentEncoding::Identity)
        .streaming(futures_util::stream::unfold(stream, next_chunk)))
}

/// One subscriber's position in the feed.
struct Stream {
    state: Arc<AppState>,
    receiver: tokio::sync::broadcast::Receiver<Arc<Event>>,
    filter: ChangeFilter,
    /// The cursor of the last entry sent (or skipped by the filter).
    after: i64,
    /// Reading what came before the live stream from the database.
    catching_up: bool,
    heartbeat: tokio::time::Interval,
    /// Its place in the queue for a turn to read the database, while catching up.
    turn: Option<crate::subscribers::Turn>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// A live event was sent: falling behind from now on is the client's doing.
    live_sent: bool,
    ended: bool,
    /// The key the stream was opened with, where reads need one.
    key: Option<WatchedKey>,
    /// Counts this client in `riposte_events_clients` until the stream is dropped.
    _connected: crate::metrics::EventClient,
    /// Its place among the streams this server and this client may hold.
    _slot: crate::subscribers::Slot,
}

struct WatchedKey {
    id: uuid::Uuid,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    checked: std::time::Instant,
}

/// Whether the stream's key still holds. A stream outlives the request whose key opened it:
/// it ends at the key's expiry, and within about a heartbeat interval of its revocation (the
/// key is looked up again before a chunk when half an interval has passed since the last
/// look: every heartbeat, and at most twice an interval however busy the stream).
async fn key_holds(s: &mut Stream) -> bool {
    let Some(key) = &mut s.key else {
        return true;
    };
    if crate::models::api_key::expired(key.expires_at) {
        return false;
    }
    if key.checked.elapsed() < s.state.config.heartbeat / 2 {
        return true;
    }
    key.checked = std::time::Instant::now();
    // The database out of reach says nothing about the key: asked again next time.
    crate::auth::still_in_force(&s.state, key.id)
        .await
        .unwrap_or(true)
}

fn event(seq: i64, json: &str) -> String {
    format!("id: {seq}\nevent: change\ndata: {json}\n\n")
}

type Chunk = Result<web::Bytes, actix_web::Error>;

/// Ticks missed while the stream was busy sending are skipped, not sent in a burst after.
fn heartbeat(every: std::time::Duration) -> tokio::time::Interval {
    let mut beat = tokio::time::interval(every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    beat
}

const KEEPALIVE: &[u8] = b": keepalive\n\n";

async fn next_chunk(mut s: Stream) -> Option<(Chunk, Stream)> {
    enum Next {
        Received(Result<Arc<Event>, RecvError>),
        Turn(tokio::sync::OwnedSemaphorePermit),
        Beat,
        Stop,
    }
    loop {
        if s.ended || *s.shutdown.borrow() || !key_holds(&mut s).await {
            return None;
        }
        let next = if s.catching_up {
            // Waiting for a turn to read can take a while behind other streams: heartbeats
            // meanwhile, so that neither the client nor a proxy takes the silence for a
            // dead connection. The place in the queue is kept across them.
            let turn = s
                .turn
                .get_or_insert_with(|| s.state.subscribers.turn_to_read());
            tokio::select! {
                biased;
                _ = s.shutdown.wait_for(|stopping| *stopping) => Next::Stop,
                turn = turn => match turn {
                    Ok(turn) => Next::Turn(turn),
                    Err(_) => Next::Stop,
                },
                _ = s.heartbeat.tick() => Next::Beat,
            }
        } else {
            tokio::select! {
                received = s.receiver.recv() => Next::Received(received),
                _ = s.heartbeat.tick() => Next::Beat,
                // The server is stopping: the client reconnects (to another server) and resumes.
                _ = s.shutdown.wait_for(|stopping| *stopping) => Next::Stop,
            }
        };
        match next {
            Next::Turn(turn) => {
                s.turn = None;
                let page = catch_up(&mut s, turn).await;
                return Some((page.map(web::Bytes::from).map_err(Into::into), s));
            }
            Next::Received(Ok(e)) if e.row.seq <= s.after => continue,
            Next::Received(Ok(e)) => {
                s.after = e.row.seq;
                if s.filter.matches(&e.row) {
                    s.live_sent = true;
                    return Some((Ok(web::Bytes::from(event(e.row.seq, &e.json))), s));
                }
            }
            // Fell behind while catching up: the database still has it all.
            Next::Received(Err(RecvError::Lagged(_))) if !s.live_sent => s.catching_up = true,
            Next::Received(Err(RecvError::Lagged(_))) => {
                s.ended = true;
                s.state.metrics.event_client_dropped();
                let dropped = format!(
                    "event: dropped\ndata: {{\"resume_after\": \"{}\"}}\n\n",
                    s.after
                );
                return Some((Ok(web::Bytes::from(dropped)), s));
            }
            Next::Received(Err(RecvError::Closed)) | Next::Stop => return None,
            Next::Beat => return Some((Ok(web::Bytes::from_static(KEEPALIVE)), s)),
        }
    }
}

/// The next page of entries from the database, as events; the live stream takes over when
/// there are none left.
async fn catch_up(s: &mut Stream, _turn: tokio::sync::OwnedSemaphorePermit) -> AppResult<String> {
    let mut conn = s.state.conn().await?;
    change::sequence(&mut conn).await?;
    let (rows, scanned_to) = change::page(&mut conn, s.after, 200, &s.filter).await?;
    if rows.is_empty() {
        if let Some(scanned_to) = scanned_to.filter(|&to| to > s.after) {
            // A window of entries that a selective filter leaves out, with more after it
            // perhaps: on to the next one. A comment tells the client the stream is alive.
            s.after = scanned_to;
            return Ok(": catching up\n\n".to_string());
        }
        // Nothing after `after`: the live stream has the rest.
        s.catching_up = false;
        // Opens the stream for the client at once.
        return Ok(": caught up\n\n".to_string());
    }
    let entries: Vec<Change> = feed::entries(&mut conn, &s.state.actors, &rows).await?;
    let mut text = String::new();
    for entry in &entries {
        let json = serde_json::to_string(entry).map_err(|e| AppError::Internal(e.to_string()))?;
        text.push_str(&event(entry.cursor.parse().unwrap_or(0), &json));
    }
    s.after = rows.last().map_or(s.after, |r| r.seq);
    Ok(text)
}
