//! Numbering this process's committed changes soon after they commit, which is what wakes
//! every follower of the change log.
//!
//! Writes do not NOTIFY: PostgreSQL serialises the commits of every transaction that
//! notified, so one NOTIFY per write made concurrent writes commit one at a time (migration
//! 000019). Instead a commit here wakes this task, in memory; it runs the sequencer, whose
//! single NOTIFY per run (`riposte_changes_sequenced`) wakes the live feed and the webhook
//! worker of every riposte process on the database, this one included. Commits within
//! `BATCH_WINDOW` share one run. Imports notify once after their commit; writes made
//! with plain SQL are found by the followers' poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::db::DbPool;

/// How often the idle task checks that its server still exists.
const ALIVE_CHECK: Duration = Duration::from_secs(1);
/// The least time between two runs. Each run is a transaction of its own, and its NOTIFY
/// makes every follower run a pass (the webhook worker's is three statements): run after
/// every commit, that chatter competed with the writes themselves (2,545 runs for 5,493
/// POSTs in 10 s). Commits within the window share the next run.
const BATCH_WINDOW: Duration = Duration::from_millis(20);

/// The sequencer's channel (migration 000012's `sequence_changes`).
const SEQUENCED: &str = "riposte_changes_sequenced";

/// Whether a follower woken by `n` has to run the sequencer itself: not when the
/// notification is the sequencer's own, sent by a run that has just numbered what committed.
pub fn needs_sequencing(n: &diesel::pg::PgNotification) -> bool {
    n.channel != SEQUENCED
}

pub struct Sequencer {
    pool: DbPool,
    wake: Notify,
    started: AtomicBool,
}

impl Sequencer {
    pub fn new(pool: DbPool) -> Self {
        Sequencer {
            pool,
            wake: Notify::new(),
            started: AtomicBool::new(false),
        }
    }

    /// A write of this process committed changes.
    pub fn committed(self: &Arc<Self>) {
        self.start();
        self.wake.notify_one();
    }

    /// Starts the task the first time a write commits; it ends soon after the server's
    /// state is dropped (tests start many servers in one process).
    fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let sequencer = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(s) = sequencer.upgrade() else { return };
                if tokio::time::timeout(ALIVE_CHECK, s.wake.notified())
                    .await
                    .is_ok()
                {
                    if let Err(e) = s.run().await {
                        log::warn!(
                            "change sequencer: {e}; the followers' poll numbers the changes"
                        );
                    }
                    drop(s);
                    tokio::time::sleep(BATCH_WINDOW).await;
                }
            }
        });
    }

    async fn run(&self) -> crate::error::AppResult<()> {
        let mut conn = self.pool.get().await?;
        crate::models::change::sequence(&mut conn).await?;
        Ok(())
    }
}
