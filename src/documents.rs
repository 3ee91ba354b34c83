//! Stored action documents (migration 000017) and the actor cache that completes them.
//!
//! PostgreSQL keeps each action's API document ready (`action_documents`), with every
//! embedded actor written as the marker `"\u0000<actor id>"`. Reads take the stored text and
//! replace each marker with the actor's `{"id","code","name","kind"}` from a small in-process
//! cache: nothing is parsed or re-serialised, and renaming an actor rewrites no document.
//! Every server LISTENs on `riposte_actors` (a trigger on `actors` notifies each change) and
//! drops the entry; entries are only kept while that LISTEN connection is up, and misses are
//! read from the primary, so a replica that has not replayed a rename yet cannot put the old
//! name back into the cache. See docs/ARCHITECTURE.md, "Stored documents".

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;
use memchr::memmem;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::models::document::{self, Stored};

/// `"\u0000`, then the actor's id (36 characters), then `"`.
const MARKER: &[u8] = b"\"\\u0000";
const MARKER_LEN: usize = MARKER.len() + 36 + 1;

/// An action's document ready to send, with what its ETag is made of.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: Uuid,
    pub body: String,
    /// The stored document's version (bumped whenever its text changes).
    pub version: i64,
    /// The sum of the embedded actors' versions: actor versions only grow, so any change of
    /// an embedded actor changes the sum.
    pub actors: i64,
}

impl Doc {
    /// The strong ETag of this document: from the stored versions, not from the body.
    pub fn etag(&self) -> String {
        format!("\"{}.{}\"", self.version, self.actors)
    }
}

/// The ETag of a list of documents: a digest of their ids and versions and of whatever else
/// the page says (next page token, total).
pub fn list_etag<'a>(docs: impl IntoIterator<Item = &'a Doc>, rest: &str) -> String {
    let mut hash = Sha256::new();
    for d in docs {
        hash.update(d.id.as_bytes());
        hash.update(d.version.to_le_bytes());
        hash.update(d.actors.to_le_bytes());
    }
    hash.update(rest.as_bytes());
    let hex: String = hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

struct CachedActor {
    json: String,
    version: i64,
}

/// The actors documents embed, as JSON, by id.
pub struct ActorCache {
    pool: DbPool,
    map: RwLock<HashMap<Uuid, Arc<CachedActor>>>,
    /// Bumped by every eviction: a load that began before one does not keep what it read.
    epoch: AtomicU64,
    /// True while the LISTEN connection is up; entries are kept only then.
    armed: AtomicBool,
    started: AtomicBool,
}

impl ActorCache {
    /// A cache that reads misses from `pool` (the primary).
    pub fn new(pool: DbPool) -> Self {
        ActorCache {
            pool,
            map: RwLock::default(),
            epoch: AtomicU64::new(0),
            armed: AtomicBool::new(false),
            started: AtomicBool::new(false),
        }
    }

    /// Forgets one actor (this server changed it; other servers hear of it by NOTIFY).
    pub fn evict(&self, id: Uuid) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.map.write().expect("actor cache lock").remove(&id);
    }

    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.map.write().expect("actor cache lock").clear();
    }

    /// Completes stored documents: every marker replaced with its actor. `conn` serves the
    /// misses only if the primary cannot be reached.
    pub async fn complete(
        self: &Arc<Self>,
        conn: &mut AsyncPgConnection,
        stored: Vec<Stored>,
    ) -> AppResult<Vec<Doc>> {
        self.start();
        let finder = memmem::Finder::new(MARKER);
        // What the cache holds is taken out at once: an eviction between this look and the
        // substitution (an actor renamed meanwhile) used to leave a marker with no actor,
        // and the read a 500.
        let (mut actors, wanted) = {
            let map = self.map.read().expect("actor cache lock");
            partition(&stored, |id| map.get(id).cloned())?
        };
        if !wanted.is_empty() {
            actors.extend(self.load(conn, &wanted).await?);
        }
        substitute(&finder, stored, |id| actors.get(id))
    }

    async fn load(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> AppResult<HashMap<Uuid, Arc<CachedActor>>> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        // A free primary connection right away, or the caller's (then nothing is kept: it
        // may be a replica's). Waiting here could deadlock a full pool.
        let mut timeouts = self.pool.timeouts();
        timeouts.wait = Some(Duration::ZERO);
        let (rows, from_primary) = match self.pool.timeout_get(&timeouts).await {
            Ok(mut primary) => (document::actors(&mut primary, ids).await?, true),
            Err(_) => (document::actors(conn, ids).await?, false),
        };
        let mut loaded = HashMap::with_capacity(rows.len());
        for (row, version) in rows {
            loaded.insert(row.id, cached(&row, version)?);
        }
        if from_primary && self.armed.load(Ordering::SeqCst) {
            let mut map = self.map.write().expect("actor cache lock");
            if self.epoch.load(Ordering::SeqCst) == epoch {
                for (id, actor) in &loaded {
                    map.insert(*id, actor.clone());
                }
            }
        }
        Ok(loaded)
    }

    /// Starts the LISTEN task the first time the cache is used.
    fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(c) = cache.upgrade() else { return };
                if let Err(e) = c.listen().await {
                    log::warn!("actor cache: {e}; its entries are dropped, reconnecting in 1 s");
                }
                c.armed.store(false, Ordering::SeqCst);
                c.clear();
                drop(c);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn listen(&self) -> AppResult<()> {
        use diesel_async::RunQueryDsl;
        let mut listener = deadpool::managed::Object::take(self.pool.get().await?);
        diesel::sql_query("LISTEN riposte_actors")
            .execute(&mut listener)
            .await?;
        // Whatever was read before the LISTEN began is not kept.
        self.clear();
        self.armed.store(true, Ordering::SeqCst);
        let mut notifications = std::pin::pin!(listener.notifications_stream());
        while let Some(n) = notifications.next().await {
            let n = n?;
            match n.payload.parse::<Uuid>() {
                Ok(id) => self.evict(id),
                Err(_) => self.clear(),
            }
        }
        Err(AppError::Unavailable("the LISTEN connection closed".into()))
    }
}

/// The actors of one snapshot (an export's transaction), each read once on its connection:
/// every document shows its actors as they were in the snapshot, whatever changed since (the
/// shared cache holds the actors as they are now).
#[derive(Default)]
pub struct ActorSnapshot(Actors);

impl ActorSnapshot {
    /// Completes stored documents read in the snapshot that `conn` is in.
    pub async fn complete(
        &mut self,
        conn: &mut AsyncPgConnection,
        stored: Vec<Stored>,
    ) -> AppResult<Vec<Doc>> {
        let finder = memmem::Finder::new(MARKER);
        let (_, wanted) = partition(&stored, |id| self.0.get(id).cloned())?;
        if !wanted.is_empty() {
            for (row, version) in document::actors(conn, &wanted).await? {
                self.0.insert(row.id, cached(&row, version)?);
            }
        }
        substitute(&finder, stored, |id| self.0.get(id))
    }
}

type Actors = HashMap<Uuid, Arc<CachedActor>>;

/// The actors `stored` embeds: those `cached` has, and the ids of those it has not.
fn partition(
    stored: &[Stored],
    cached: impl Fn(&Uuid) -> Option<Arc<CachedActor>>,
) -> AppResult<(Actors, Vec<Uuid>)> {
    let mut have = HashMap::new();
    let mut wanted = Vec::new();
    for id in embedded_actor_ids(stored)? {
        match cached(&id) {
            Some(actor) => {
                have.insert(id, actor);
            }
            None => wanted.push(id),
        }
    }
    Ok((have, wanted))
}

fn cached(row: &crate::models::actor::ActorRefRow, version: i64) -> AppResult<Arc<CachedActor>> {
    let json = serde_json::to_string(&crate::views::ActorRef::from_row(row)?)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Arc::new(CachedActor { json, version }))
}

/// Every marker of the stored documents replaced with its actor's JSON.
fn substitute<'a>(
    finder: &memmem::Finder,
    stored: Vec<Stored>,
    actor: impl Fn(&Uuid) -> Option<&'a Arc<CachedActor>>,
) -> AppResult<Vec<Doc>> {
    stored
        .into_iter()
        .map(|s| {
            let mut body = String::with_capacity(s.body.len() + 256);
            let mut actors = 0i64;
            let mut from = 0;
            for at in finder.find_iter(s.body.as_bytes()) {
                let id = marker_id(&s.body, at)?;
                let actor = actor(&id).ok_or_else(|| {
                    AppError::Internal(format!("action {}: actor {id} not found", s.id))
                })?;
                body.push_str(&s.body[from..at]);
                body.push_str(&actor.json);
                actors += actor.version;
                from = at + MARKER_LEN;
            }
            body.push_str(&s.body[from..]);
            Ok(Doc {
                id: s.id,
                body,
                version: s.version,
                actors,
            })
        })
        .collect()
}

fn marker_id(body: &str, at: usize) -> AppResult<Uuid> {
    body.get(at + MARKER.len()..at + MARKER_LEN - 1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| AppError::Internal(format!("a stored document has a bad marker at {at}")))
}

/// The ids of the actors these documents embed, each once, in the order first embedded.
pub fn embedded_actor_ids(stored: &[Stored]) -> AppResult<Vec<Uuid>> {
    let finder = memmem::Finder::new(MARKER);
    // An export batch can name thousands: a set, not a quadratic dedup.
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for s in stored {
        for at in finder.find_iter(s.body.as_bytes()) {
            let id = marker_id(&s.body, at)?;
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// `{"items":[...],"next_page_token":...}` (and `"total"` when given) from completed
/// documents, written without re-serialising them.
pub fn list_body(docs: &[Doc], next_page_token: Option<&str>, total: Option<i64>) -> Vec<u8> {
    let size: usize = docs.iter().map(|d| d.body.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(b"{\"items\":[");
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(d.body.as_bytes());
    }
    out.extend_from_slice(b"],\"next_page_token\":");
    match next_page_token {
        Some(t) => out.extend_from_slice(
            serde_json::to_string(t)
                .expect("a string serialises")
                .as_bytes(),
        ),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(total) = total {
        out.extend_from_slice(format!(",\"total\":{total}").as_bytes());
    }
    out.push(b'}');
    out
}

/// The document as the typed view, for the code that works on an action's fields (patches,
/// CSV, the audit log).
pub fn parse(doc: &Doc) -> AppResult<crate::views::Action> {
    serde_json::from_str(&doc.body)
        .map_err(|e| AppError::Internal(format!("stored document of {}: {e}", doc.id)))
}
