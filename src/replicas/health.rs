//! Each replica's health task: its identity and replay position against the primary's,
//! its lag from the primary positions seen, and its state in the rotation.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel_async::AsyncPgConnection;

use crate::db::DbPool;
use crate::error::{AppError, AppResult};

use super::*;

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lsn: Option<String>,
}

/// The replica's replay position (None when it is not replaying: not a standby).
pub(super) async fn replay_position(conn: &mut AsyncPgConnection) -> AppResult<Option<Lsn>> {
    // Imported here only: its `load` would shadow the atomics' elsewhere in this module.
    use diesel_async::RunQueryDsl;
    let p: Position = diesel::sql_query("SELECT pg_last_wal_replay_lsn()::text AS lsn")
        .get_result(conn)
        .await?;
    Ok(p.lsn.as_deref().and_then(Lsn::parse))
}

/// The primary's WAL insert position. Read after a write's commit returned, it is at or past
/// the end of that commit's record (it moves only forwards), so a replica that has replayed
/// up to it sees the write. A position read inside the transaction, before COMMIT, would be
/// before the commit record: a replica could reach it without seeing the write.
pub async fn primary_position(conn: &mut AsyncPgConnection) -> AppResult<Lsn> {
    use diesel_async::RunQueryDsl;
    // Kept prepared: every write reads it.
    let p: Position =
        crate::models::sql::Sql::text("SELECT pg_current_wal_insert_lsn()::text AS lsn")
            .get_result(conn)
            .await?;
    p.lsn
        .as_deref()
        .and_then(Lsn::parse)
        .ok_or_else(|| AppError::Internal("the primary gave no WAL position".into()))
}

#[derive(diesel::QueryableByName)]
struct Probe {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    in_recovery: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    replay: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    system: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    database: String,
}

/// Which database a server holds: its cluster's system identifier (a streaming standby has
/// its primary's) and the database's name.
#[derive(diesel::QueryableByName, PartialEq)]
struct Identity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    system: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    database: String,
}

/// The primary at a health check: its insert position (as `primary_position`) and identity.
#[derive(diesel::QueryableByName)]
struct PrimaryNow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    lsn: String,
    #[diesel(embed)]
    identity: Identity,
}

const IDENTITY_COLUMNS: &str =
    "(SELECT system_identifier FROM pg_control_system())::text AS system, \
     current_database() AS database";

/// Checks a replica every `CHECK_EVERY`, for as long as the process runs.
pub(super) async fn watch(replica: Arc<Replica>, primary: DbPool, max_lag: Duration) {
    use diesel_async::RunQueryDsl;
    // The primary's positions over the last `max_lag` and more: the replica's lag is how long
    // ago the primary first had WAL the replica has not replayed. Unlike
    // `now() - pg_last_xact_replay_timestamp()`, this does not grow while the primary is idle.
    let mut history: VecDeque<(Instant, Lsn)> = VecDeque::new();
    // Long enough to report a lag well past `max_lag` (monitoring alerts on it): one
    // position a second, so at most a few thousand.
    let keep = (max_lag + CHECK_EVERY * 5).max(HISTORY);
    let mut primary_identity: Option<Identity> = None;
    loop {
        // Its position, and its identity at every check: a primary rebuilt or restored from
        // a backup is another cluster, and its replicas must be judged against it. One query.
        let asked = async {
            let mut conn = primary.get().await.map_err(AppError::no_connection)?;
            let now: PrimaryNow = diesel::sql_query(format!(
                "SELECT pg_current_wal_insert_lsn()::text AS lsn, {IDENTITY_COLUMNS}"
            ))
            .get_result(&mut conn)
            .await?;
            Ok::<_, AppError>(now)
        };
        if let Ok(Ok(now)) = tokio::time::timeout(CHECK_TIMEOUT, asked).await {
            if let Some(lsn) = Lsn::parse(&now.lsn) {
                history.push_back((Instant::now(), lsn));
            }
            primary_identity = Some(now.identity);
        }
        while history
            .front()
            .is_some_and(|(at, _)| at.elapsed() > keep && history.len() > 1)
        {
            history.pop_front();
        }
        let probe = async {
            // Not `?`: its conversion logs every failure, once a second here without naming
            // the replica; the state change below logs it once, named, with this cause.
            let mut conn = replica.pool.get().await.map_err(AppError::no_connection)?;
            let probe: Probe = diesel::sql_query(format!(
                "SELECT pg_is_in_recovery() AS in_recovery, \
                 pg_last_wal_replay_lsn()::text AS replay, {IDENTITY_COLUMNS}"
            ))
            .get_result(&mut conn)
            .await?;
            Ok::<_, AppError>(probe)
        };
        match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Err(_) => replica.set(
                ReplicaState::Down,
                Some(format!(
                    "did not answer within {} s",
                    CHECK_TIMEOUT.as_secs()
                )),
            ),
            Ok(Err(e)) => replica.set(ReplicaState::Down, Some(e.to_string())),
            // Another cluster, or another database of the primary's: it would answer every
            // read with the wrong data, and every token read too.
            Ok(Ok(probe))
                if primary_identity
                    .as_ref()
                    .is_some_and(|p| p.system != probe.system || p.database != probe.database) =>
            {
                let primary = primary_identity.as_ref().expect("checked just above");
                replica.set(
                    ReplicaState::Down,
                    Some(format!(
                        "not a copy of the primary's database: it is database `{}` of cluster \
                         {}, the primary's is `{}` of cluster {}; check --replica-url",
                        probe.database, probe.system, primary.database, primary.system
                    )),
                )
            }
            // Until the primary's identity is known, the replica cannot be vouched for.
            Ok(Ok(_)) if primary_identity.is_none() => replica.set(
                ReplicaState::Down,
                Some("the primary's identity is unknown (it is down?)".into()),
            ),
            Ok(Ok(probe)) if !probe.in_recovery => replica.set(
                ReplicaState::Promoted,
                Some("not in recovery: it was promoted and no longer follows the primary".into()),
            ),
            Ok(Ok(probe)) => {
                let replay = probe.replay.as_deref().and_then(Lsn::parse);
                if let Some(lsn) = replay {
                    replica.saw_replay(lsn);
                }
                let replay = replica.replayed();
                let (bytes, lag) = lag(&history, replay);
                replica.lag_bytes.store(bytes, Ordering::Relaxed);
                replica.lag_millis.store(
                    lag.map_or(u64::MAX, |(Lag::Known(l) | Lag::AtLeast(l))| {
                        l.as_millis() as u64
                    }),
                    Ordering::Relaxed,
                );
                match lag {
                    Some(Lag::Known(l)) if l <= max_lag => {
                        replica.set(ReplicaState::InRotation, None)
                    }
                    Some(Lag::Known(l)) => replica.set(
                        ReplicaState::Lagging,
                        Some(format!(
                            "{:.1} s behind the primary (at most {} s allowed)",
                            l.as_secs_f64(),
                            max_lag.as_secs_f64()
                        )),
                    ),
                    // Behind everything this process has seen of the primary (just started,
                    // say): not known to be within `max_lag`, so not in rotation until it
                    // replays a position whose time is known.
                    Some(Lag::AtLeast(l)) => replica.set(
                        ReplicaState::Lagging,
                        Some(format!(
                            "at least {:.1} s behind the primary: it has not replayed the \
                             oldest position seen since then (at most {} s allowed)",
                            l.as_secs_f64(),
                            max_lag.as_secs_f64()
                        )),
                    ),
                    // The primary's position is unknown (it is down): the replica cannot be
                    // judged, and reads would fail over to a primary that is not there anyway.
                    None => replica.set(
                        ReplicaState::Down,
                        Some("the primary's position is unknown".into()),
                    ),
                }
            }
        }
        replica.down.send_if_modified(|down| {
            let now = replica.state() == ReplicaState::Down;
            std::mem::replace(down, now) != now
        });
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// How far behind a replica is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Lag {
    /// It has replayed a position the history holds: it started missing WAL this long ago.
    Known(Duration),
    /// It is behind every position the history holds, the oldest taken this long ago: it has
    /// been missing WAL for longer than that, how much longer is not known.
    AtLeast(Duration),
}

/// Bytes and time the replica at `replay` is behind the primary positions in `history`
/// (None when there are none: the primary's position is unknown).
pub(super) fn lag(history: &VecDeque<(Instant, Lsn)>, replay: Lsn) -> (u64, Option<Lag>) {
    let (Some((oldest_at, oldest)), Some((_, latest))) = (history.front(), history.back()) else {
        return (0, None);
    };
    let bytes = latest.0.saturating_sub(replay.0);
    if !has_replayed(replay, *oldest) {
        return (bytes, Some(Lag::AtLeast(oldest_at.elapsed())));
    }
    // Positions only grow: the first one past `replay` is when the replica started missing
    // something.
    let since = history
        .iter()
        .find(|(_, lsn)| !has_replayed(replay, *lsn))
        .map_or(Duration::ZERO, |(at, _)| at.elapsed());
    (bytes, Some(Lag::Known(since)))
}

/// Whether a replica at `replay` has everything the primary had at `position`. The primary's
/// insert position at the start of a WAL page points past the page's header (24 bytes, 40
/// on a segment's first page), where a caught-up replica's replay position is the end of the
/// last record, before the header: on an idle primary (after a WAL switch, say) the two
/// never meet, and the replica would count as falling further behind for as long as nothing
/// is written.
pub(super) fn has_replayed(replay: Lsn, position: Lsn) -> bool {
    const PAGE: u64 = 8192;
    let header = position.0 % PAGE;
    replay >= position || ((header == 24 || header == 40) && replay.0 + header == position.0)
}
