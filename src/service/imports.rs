//! Import jobs of the server: the file waits on disk until one of `MAX_RUNNING_IMPORTS`
//! slots is free, then `crate::import` runs it on a connection of its own. A job's progress
//! and outcome are in its row, read by `GET /v1/imports/{id}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};
use crate::import::{self, Format, Job, Progress};
use crate::limits::{
    MAX_QUEUED_IMPORTS, MAX_QUEUED_IMPORTS_PER_KEY, MAX_REPORTED_REJECTIONS, MAX_RUNNING_IMPORTS,
};
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::import::{self as rows, ImportOrigin, ImportRow, JobState, NewImport};
use crate::shares::{Refused, Share, Shares};
use crate::state::AppState;
use crate::views::{Import, ImportCounts, ImportState, RejectedLine};

/// A running job's heartbeat moves every 2 s; one this old means its process is gone.
const HEARTBEAT_STALE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

pub struct Imports {
    database_url: String,
    running: tokio::sync::Semaphore,
    /// Jobs accepted and not finished, queued or running, counted per API key (`None`:
    /// writes taken without a key).
    queue: Arc<Shares<Option<Uuid>>>,
    /// The jobs of this process not finished, for the shutdown (`stop`).
    live: Mutex<HashMap<Uuid, Live>>,
    /// How many jobs `live` holds, for waiting until none is left.
    live_count: tokio::sync::watch::Sender<usize>,
    /// Set when the server stops: a queued job that gets its slot then does not start.
    stopping: std::sync::atomic::AtomicBool,
    /// Told by a second Ctrl-C: the running jobs stop without the rest of their grace.
    hurry: tokio::sync::Notify,
    /// Where jobs run: the runtime that made this, the process's own, which outlives the
    /// HTTP workers (a job spawned on a worker's runtime died when the worker stopped).
    runtime: Option<tokio::runtime::Handle>,
}

/// A job of this process: its task, and whether it has begun to run.
#[derive(Default)]
struct Live {
    task: Option<tokio::task::AbortHandle>,
    running: bool,
}

impl Imports {
    pub fn new(database_url: &str) -> Self {
        Imports {
            database_url: database_url.to_string(),
            running: tokio::sync::Semaphore::new(MAX_RUNNING_IMPORTS),
            queue: Arc::new(Shares::new(MAX_QUEUED_IMPORTS, MAX_QUEUED_IMPORTS_PER_KEY)),
            live: Mutex::default(),
            live_count: tokio::sync::watch::channel(0).0,
            stopping: Default::default(),
            hurry: tokio::sync::Notify::new(),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Changes `live` and its count.
    fn with_live<T>(&self, change: impl FnOnce(&mut HashMap<Uuid, Live>) -> T) -> T {
        let mut live = self.live.lock().expect("import jobs lock");
        let out = change(&mut live);
        self.live_count.send_replace(live.len());
        out
    }

    /// The server is stopping: jobs still queued are failed at once (their files are gone
    /// with this process); running ones get until `grace` is over to commit, and are then
    /// stopped (PostgreSQL rolls them back) and failed, saying so, instead of showing
    /// `running` until their heartbeat is stale.
    pub async fn stop(&self, pool: &crate::db::DbPool, grace: Duration) {
        use std::sync::atomic::Ordering;
        self.stopping.store(true, Ordering::SeqCst);
        let end = |running: bool| {
            let mut ended = Vec::new();
            self.with_live(|live| {
                live.retain(|id, live| match (live.running == running, &live.task) {
                    (true, Some(task)) => {
                        task.abort();
                        ended.push(*id);
                        false
                    }
                    _ => true,
                })
            });
            ended
        };
        let queued = end(false);
        self.fail(pool, &queued, "the server stopped before this import ran")
            .await;
        let mut left = self.live_count.subscribe();
        if *left.borrow() > 0 {
            log::info!(
                "waiting up to {} s for {} running import(s) to commit",
                grace.as_secs_f64(),
                *left.borrow()
            );
            tokio::select! {
                done = tokio::time::timeout(grace, left.wait_for(|n| *n == 0)) => {
                    if done.is_ok() {
                        return;
                    }
                }
                _ = self.hurry.notified() => {}
            }
        }
        let stopped = end(true);
        self.fail(
            pool,
            &stopped,
            "the server stopped before this import committed",
        )
        .await;
    }

    /// Ends the grace of `stop` now (a second Ctrl-C).
    pub fn hurry(&self) {
        self.hurry.notify_one();
    }

    async fn fail(&self, pool: &crate::db::DbPool, jobs: &[Uuid], what: &str) {
        if jobs.is_empty() {
            return;
        }
        let why = format!("{what}: nothing was stored; submit the file again");
        let marked = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            for id in jobs {
                // Not when it committed first: then it is no longer queued or running.
                stopped(&mut conn, *id, &why)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        };
        match marked.await {
            Ok(()) => log::warn!("import(s) {jobs:?} stopped with the server: {what}"),
            Err(e) => log::warn!(
                "import(s) {jobs:?} stopped with the server ({what}) and cannot be marked \
                 failed ({e}): they show `interrupted` once their heartbeat is 30 s old"
            ),
        }
    }

    /// Jobs of this process: (running, queued). The two are read one after the other, so a
    /// job starting meanwhile may be seen in neither or both; good enough for a gauge.
    pub fn counts(&self) -> (usize, usize) {
        let running = MAX_RUNNING_IMPORTS.saturating_sub(self.running.available_permits());
        (running, self.queue.total().saturating_sub(running))
    }
}

/// A place among this server's jobs, taken before the file is uploaded: a full queue is
/// answered at once, not after gigabytes have been sent. Given back when dropped, whatever
/// path the job ends on.
pub struct Slot {
    _place: Share<Option<Uuid>>,
}

pub fn reserve(state: &AppState, caller: &Caller) -> AppResult<Slot> {
    let key = caller.key.as_ref().map(|k| k.id);
    state
        .imports
        .queue
        .take(key)
        .map(|place| Slot { _place: place })
        .map_err(|refused| match refused {
            Refused::Client(mine) => AppError::TooManyRequests {
                detail: format!(
                    "this API key has {mine} imports queued, running or uploading, the most one \
                 key may hold on this server; retry when one has finished (GET /v1/imports)"
                ),
                retry_after: 10,
            },
            Refused::Server(_) => AppError::Unavailable(format!(
                "{MAX_QUEUED_IMPORTS} imports are queued or running on this server; retry when \
             one has finished"
            )),
        })
}

/// The prefix of an uploaded file kept on disk, with the process's id: a process killed
/// before it could remove its files leaves them to the next one to start (`sweep_spool`).
pub fn spool_prefix() -> String {
    format!("{SPOOL}{}-", std::process::id())
}

/// The start of every import file's name in the temporary directory, the server's uploads
/// and `riposte import`'s copies of pipes alike; the process id follows it.
const SPOOL: &str = "riposte-import-";

/// Removes the uploaded files of processes that are gone.
pub fn sweep_spool() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SPOOL))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
            == Err(nix::errno::Errno::ESRCH);
        if gone && std::fs::remove_file(entry.path()).is_ok() {
            log::info!(
                "removed {}, an import file left by process {pid}, which is gone",
                entry.path().display()
            );
        }
    }
}

/// Accepts an uploaded file as a job and starts it when a slot is free. Until then the
/// job's heartbeat moves as a running one's does, so a job whose server stopped before it
/// ran shows `interrupted`, not `queued` for ever.
pub async fn submit(
    state: &AppState,
    slot: Slot,
    caller: &Caller,
    format: Format,
    partial: bool,
    file: tempfile::TempPath,
    bytes: u64,
) -> AppResult<Import> {
    // An upload that ends while the server stops would be queued only to be failed at once.
    if state
        .imports
        .stopping
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(AppError::Unavailable(
            "this server is stopping: the file was not taken; submit it again once the server \
             is back (or to another one)"
                .into(),
        ));
    }
    let job = Job {
        id: Uuid::now_v7(),
        format,
        partial,
        origin: ImportOrigin::Api,
        file_name: None,
        api_key_id: caller.key_id(),
        request_id: caller.request_id.clone(),
    };
    let mut conn = state.conn().await?;
    record(&mut conn, &job, bytes).await?;
    let types = state.types.clone();
    let id = job.id;
    let imports = state.imports.clone();
    let pool = state.pool.clone();
    imports.with_live(|live| live.insert(id, Live::default()));
    let runtime = imports
        .runtime
        .clone()
        .unwrap_or_else(tokio::runtime::Handle::current);
    let task = runtime.spawn(async move {
        let progress = Arc::new(Progress::default());
        let waiting = tokio::spawn(import::heartbeat(
            imports.database_url.clone(),
            job.id,
            progress.clone(),
        ));
        let permit = imports.running.acquire().await;
        waiting.abort();
        // Marked running before `stopping` is read: `stop` either took it as queued (and
        // aborts it at its next await) or finds it running, or it sees `stopping` here.
        imports.with_live(|live| live.get_mut(&id).map(|l| l.running = true));
        if imports.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            imports
                .fail(&pool, &[id], "the server stopped before this import ran")
                .await;
        } else if let Err(e) =
            import::run(&imports.database_url, types, &job, &file, progress).await
        {
            log::warn!("import {} failed: {e}", job.id);
        }
        imports.with_live(|live| live.remove(&id));
        drop(permit);
        drop(file);
        drop(slot);
    });
    // Not when the job has ended already.
    state.imports.with_live(|live| {
        live.get_mut(&id)
            .map(|l| l.task = Some(task.abort_handle()))
    });
    get(&mut conn, id).await
}

/// Records that a job was stopped before it finished (Ctrl-C of `riposte import`); false
/// when it had finished first.
pub async fn stopped(conn: &mut AsyncPgConnection, id: Uuid, why: &str) -> AppResult<bool> {
    Ok(rows::fail_unfinished(conn, id, why).await?)
}

/// Records a job about to run, of a file of `bytes` (the server's uploads and
/// `riposte import` alike), with its audit entry: who queued what, whatever comes of it.
pub async fn record(conn: &mut AsyncPgConnection, job: &Job, bytes: u64) -> AppResult<()> {
    let row = new_row(job, bytes);
    let (key_id, request_id) = (job.api_key_id, job.request_id.clone());
    super::transaction(conn, move |conn| {
        Box::pin(async move {
            rows::insert(conn, &row).await?;
            let queued = get(conn, row.id).await?;
            let after =
                serde_json::to_value(&queued).map_err(|e| AppError::Internal(e.to_string()))?;
            let entry = crate::models::audit::NewAuditEntry::new(
                key_id,
                request_id,
                AuditOperation::Create,
                AuditEntity::Import,
                row.id,
                None,
                Some(after),
            );
            crate::models::audit::insert(conn, &entry).await?;
            Ok(())
        })
    })
    .await
}

fn new_row(job: &Job, bytes: u64) -> NewImport {
    NewImport {
        id: job.id,
        format: job.format.as_str().to_string(),
        partial: job.partial,
        state: JobState::Queued.as_str().into(),
        origin: job.origin.as_str().into(),
        file_name: job.file_name.clone(),
        bytes: bytes as i64,
        api_key_id: job.api_key_id,
    }
}

pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Import> {
    let row = rows::find(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("import {id}")))?;
    let lines = rows::rejections(conn, id)
        .await?
        .into_iter()
        .map(|(line, errors)| {
            let errors: Vec<FieldError> = serde_json::from_value(errors).map_err(|e| {
                AppError::Internal(format!("unreadable rejection of import {id}: {e}"))
            })?;
            Ok(RejectedLine {
                line,
                errors: errors.into_iter().map(FieldError::without_keys).collect(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    view(row, Some(lines))
}

/// A page of jobs, newest first, and where the next starts (None on the last page).
pub async fn latest(
    conn: &mut AsyncPgConnection,
    before: Option<(chrono::DateTime<Utc>, Uuid)>,
    limit: i64,
) -> AppResult<(Vec<Import>, Option<(chrono::DateTime<Utc>, Uuid)>)> {
    let rows = rows::latest(conn, before, limit + 1).await?;
    let (rows, more) = crate::models::one_page(rows, limit);
    let next = rows.last().filter(|_| more).map(|r| (r.created_at, r.id));
    let jobs = rows
        .into_iter()
        .map(|row| view(row, None))
        .collect::<AppResult<_>>()?;
    Ok((jobs, next))
}

fn view(row: ImportRow, lines: Option<Vec<RejectedLine>>) -> AppResult<Import> {
    let stale = Utc::now() - row.heartbeat_at.unwrap_or(row.created_at) > HEARTBEAT_STALE;
    let unknown =
        |what: &str, e: String| AppError::Internal(format!("import {}: {what}: {e}", row.id));
    let state = match row.state.parse().map_err(|e| unknown("state", e))? {
        JobState::Queued | JobState::Running if stale => ImportState::Interrupted,
        JobState::Queued => ImportState::Queued,
        JobState::Running => ImportState::Running,
        JobState::Succeeded => ImportState::Succeeded,
        JobState::Failed => ImportState::Failed,
    };
    // A killed server wrote no error: the state is read off the heartbeat, and so is why.
    let error = match (state, row.started_at) {
        (ImportState::Interrupted, None) => Some(row.error.unwrap_or_else(|| {
            "its server stopped before this import ran: nothing was stored; submit the file \
             again"
                .into()
        })),
        (ImportState::Interrupted, Some(_)) => Some(row.error.unwrap_or_else(|| {
            "its server stopped while this import ran (it was killed, or lost its database): \
             nothing was stored; submit the file again"
                .into()
        })),
        _ => row.error,
    };
    let format = row.format.parse().map_err(|e| unknown("format", e))?;
    let origin = row.origin.parse().map_err(|e| unknown("origin", e))?;
    let skipped = serde_json::from_value(row.skipped)
        .map_err(|e| AppError::Internal(format!("import {}: skipped: {e}", row.id)))?;
    let skipped_first = serde_json::from_value(row.skipped_first)
        .map_err(|e| AppError::Internal(format!("import {}: skipped_first: {e}", row.id)))?;
    Ok(Import {
        id: row.id,
        format,
        partial: row.partial,
        state,
        origin,
        file_name: row.file_name,
        bytes: row.bytes,
        counts: ImportCounts {
            read: row.read,
            created: row.created,
            updated: row.updated,
            unchanged: row.unchanged,
            rejected: row.rejected,
            actors_created: row.actors_created,
        },
        skipped,
        skipped_first,
        error,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        rejected_lines_truncated: row.rejected > MAX_REPORTED_REJECTIONS as i64,
        rejected_lines: lines,
    })
}
