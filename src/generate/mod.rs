//! `riposte generate`: fills an empty database with a realistic, deterministic synthetic data
//! set (see docs/GENERATE.md).
//!
//! - `world` makes the actors and ranks the dyads; `plan` decides every action, its dates,
//!   status history and answers; `render` turns a planned action into the rows of each
//!   table; `encode` writes them in PostgreSQL's binary COPY format.
//! - Everything comes from one seed through `rng`, so the same `--actions` and `--seed` give
//!   the same bytes in every table, whatever the machine.
//! - Loading is one transaction on its own tokio-postgres connection (diesel has no COPY): the
//!   six tables are emptied under an exclusive lock, their keys, indexes and foreign keys are
//!   dropped, the rows are COPYed in, and everything dropped is recreated from its saved
//!   definition, which validates each foreign key over all rows at once. A failure anywhere
//!   rolls all of it back.

pub mod data;
pub mod facts;
pub mod plan;
pub mod profiles;
pub mod progress;
pub mod render;
pub mod rng;
pub mod world;

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio_postgres::{Client, NoTls};

use crate::models::enums::Category;
use crate::pgcopy::Encoder;
use plan::{Plan, TypeInfo};
use progress::{seconds, thousands, Progress};
use render::Renderer;
use world::World;

pub struct Options {
    pub actions: u64,
    pub seed: u64,
}

/// What was loaded, for the closing summary.
pub struct Report {
    pub rows: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
    pub loading: Duration,
    pub answering: u64,
    pub busiest: (String, String, u64),
    pub episodes: usize,
    pub designed: Vec<(&'static str, usize, uuid::Uuid)>,
    pub threats: u64,
    pub threats_implemented: u64,
}

/// The tables `generate` writes, in load order (actors first: the others refer to it).
const TABLES: &[&str] = &[
    "actors",
    "actions",
    "designations",
    "sources",
    "responses",
    "status_changes",
    "action_documents",
];

/// Renders the rows one action brings to a table; the last argument numbers rows of tables
/// with an identity key.
type Render = fn(&Renderer, usize, &mut Encoder, &mut i64);

/// The tables loaded by the generator thread, with their COPY column lists and renderers.
const BULK: &[(&str, &str, Render)] = &[
    ("actions", Renderer::ACTION_COLUMNS, |r, i, enc, _| {
        r.action(i, enc)
    }),
    (
        "designations",
        "action_id, actor_id, listed_on",
        |r, i, enc, _| {
            r.designations(i, enc);
        },
    ),
    (
        "sources",
        "id, action_id, url, publisher, published_on, quote",
        |r, i, enc, id| {
            r.source_rows(i, enc, id);
        },
    ),
    (
        "responses",
        "action_id, responds_to_id, relation",
        |r, i, enc, _| {
            r.responses(i, enc);
        },
    ),
    (
        "status_changes",
        "id, action_id, status, changed_on, source_url, note, recorded_at",
        |r, i, enc, id| {
            r.status_changes(i, enc, id);
        },
    ),
];
/// Rows are sent to the connection in buffers of about this size.
const CHUNK: usize = 256 * 1024;

fn db_err(what: &str) -> impl Fn(tokio_postgres::Error) -> String + '_ {
    move |e| match e.as_db_error() {
        Some(db) => format!(
            "{what}: {}{}",
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        None => format!("{what}: {e}"),
    }
}

pub async fn run(url: &str, options: Options) -> Result<Report, String> {
    let started = Instant::now();
    let mut progress = Progress::new();
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to the database for COPY: {e}"))?;
    let connection = tokio::spawn(connection);

    let result = load(&client, &options, &mut progress, started).await;
    if result.is_err() {
        // Whatever was done is undone; the error that matters is the one above.
        let _ = client.batch_execute("ROLLBACK").await;
    }
    drop(client);
    let _ = connection.await;
    result
}

async fn load(
    client: &Client,
    options: &Options,
    progress: &mut Progress,
    started: Instant,
) -> Result<Report, String> {
    let n = options.actions;
    // synchronous_commit off: the one commit at the end need not wait for its WAL flush to
    // report success; a crash right then loses the load, never leaves half of it.
    client
        .batch_execute(&format!(
            "BEGIN; \
             SET LOCAL synchronous_commit = off; \
             SET LOCAL maintenance_work_mem = '1GB'; \
             LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            TABLES.join(", ")
        ))
        .await
        .map_err(db_err("cannot lock the tables"))?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM actors), (SELECT count(*) FROM actions)",
            &[],
        )
        .await
        .map_err(db_err("cannot count existing data"))?;
    let (actors, actions): (i64, i64) = (row.get(0), row.get(1));
    if actors > 0 || actions > 0 {
        return Err(format!(
            "the database already holds {actors} actors and {actions} actions (deleted ones \
             included); `riposte generate` only fills an empty database. Use a fresh \
             --data-dir (or an empty database in DATABASE_URL)"
        ));
    }
    let types = Arc::new(action_types(client).await?);

    let t = Instant::now();
    let world = Arc::new(world::build(options.seed));
    let plan = Arc::new(plan::build(&world, &types, n, options.seed)?);
    progress.say(&format!(
        "planned {} actions in {} dyads, {} episodes, {} actors ({})",
        thousands(n),
        thousands(plan.dyad_counts.iter().filter(|c| **c > 0).count() as u64),
        thousands(plan.episodes as u64),
        thousands(world.actors.len() as u64),
        seconds(t.elapsed())
    ));

    // Emptied in this transaction, the tables can take COPY FREEZE: rows are written
    // already frozen and visible to all, so the first reads after the load do not rewrite
    // every page to set hint bits, and index-only scans work at once.
    client
        .batch_execute(&format!("TRUNCATE {} RESTART IDENTITY", TABLES.join(", ")))
        .await
        .map_err(db_err("cannot empty the tables"))?;
    let saved = drop_keys_and_indexes(client).await?;
    // The graph triggers (migration 000008) would walk the graph for every loaded edge; the
    // plan brings the facts they keep (`facts`), so they are off until the load is in. The
    // change-feed triggers (000012) are off too: generated data is a starting state, not a
    // history of changes, and a consumer of the feed starts from it.
    client
        .batch_execute(
            "ALTER TABLE actions DISABLE TRIGGER actions_graph_insert; \
             ALTER TABLE actions DISABLE TRIGGER actions_graph_update; \
             ALTER TABLE responses DISABLE TRIGGER responses_graph_change; \
             ALTER TABLE actors DISABLE TRIGGER actors_change; \
             ALTER TABLE actions DISABLE TRIGGER actions_change; \
             ALTER TABLE actions DISABLE TRIGGER actions_created; \
             ALTER TABLE responses DISABLE TRIGGER responses_change; \
             ALTER TABLE responses DISABLE TRIGGER responses_added; \
             ALTER TABLE actions DISABLE TRIGGER actions_tally_inserted; \
             ALTER TABLE actions DISABLE TRIGGER actions_tally_updated; \
             ALTER TABLE actions DISABLE TRIGGER actions_tally_deleted; \
             ALTER TABLE actions DISABLE TRIGGER actions_documents_inserted; \
             ALTER TABLE designations DISABLE TRIGGER designations_documents_inserted; \
             ALTER TABLE sources DISABLE TRIGGER sources_documents_inserted; \
             ALTER TABLE responses DISABLE TRIGGER responses_documents_inserted",
        )
        .await
        .map_err(db_err("cannot disable the graph triggers"))?;

    let loading = Instant::now();
    let mut rows = Vec::new();
    {
        let renderer = Renderer {
            world: &world,
            plan: &plan,
            types: &types,
            seed: options.seed,
        };
        let mut enc = Encoder::new(CHUNK * 2);
        enc.header();
        renderer.actors(&mut enc);
        enc.trailer();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        tx.try_send(Chunk {
            data: enc.buf,
            done: 0,
            last: true,
        })
        .map_err(|_| "internal: the actors chunk did not fit its channel".to_string())?;
        let count = copy(client, "actors", Renderer::ACTOR_COLUMNS, &mut rx, |_| {}).await?;
        progress.say(&format!("actors         {} rows", thousands(count)));
        rows.push(("actors", count));
    }

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(16);
    let generator = {
        let (world, plan, types, seed) = (world.clone(), plan.clone(), types.clone(), options.seed);
        std::thread::Builder::new()
            .name("generate".into())
            .spawn(move || produce(&world, &plan, &types, seed, tx))
            .map_err(|e| format!("cannot start the generator thread: {e}"))?
    };
    for (table, columns, _) in BULK {
        progress.start(table, n);
        let count = copy(client, table, columns, &mut rx, |done| {
            progress.update(done)
        })
        .await?;
        progress.finish(n, &format!(", {} rows", thousands(count)));
        rows.push((*table, count));
    }
    generator
        .join()
        .map_err(|_| "the generator thread panicked".to_string())?;

    restore(client, &saved, progress).await?;
    client
        .batch_execute(
            "ALTER TABLE actions ENABLE TRIGGER actions_graph_insert; \
             ALTER TABLE actions ENABLE TRIGGER actions_graph_update; \
             ALTER TABLE responses ENABLE TRIGGER responses_graph_change; \
             ALTER TABLE actors ENABLE TRIGGER actors_change; \
             ALTER TABLE actions ENABLE TRIGGER actions_change; \
             ALTER TABLE actions ENABLE TRIGGER actions_created; \
             ALTER TABLE responses ENABLE TRIGGER responses_change; \
             ALTER TABLE responses ENABLE TRIGGER responses_added; \
             ALTER TABLE actions ENABLE TRIGGER actions_tally_inserted; \
             ALTER TABLE actions ENABLE TRIGGER actions_tally_updated; \
             ALTER TABLE actions ENABLE TRIGGER actions_tally_deleted; \
             ALTER TABLE actions ENABLE TRIGGER actions_documents_inserted; \
             ALTER TABLE designations ENABLE TRIGGER designations_documents_inserted; \
             ALTER TABLE sources ENABLE TRIGGER sources_documents_inserted; \
             ALTER TABLE responses ENABLE TRIGGER responses_documents_inserted",
        )
        .await
        .map_err(db_err("cannot enable the graph triggers"))?;
    // The analysis aggregates (migration 000016), whose triggers were off, from the loaded
    // actions in one pass.
    let t = Instant::now();
    client
        .batch_execute("SELECT rebuild_analysis_aggregates()")
        .await
        .map_err(db_err("cannot build the analysis aggregates"))?;
    progress.say(&format!("aggregates     {}", seconds(t.elapsed())));
    // The stored documents (migration 000017), whose triggers were off, in batches.
    let t = Instant::now();
    progress.start("documents", n);
    let mut after: Option<uuid::Uuid> = None;
    let mut done = 0u64;
    loop {
        let row = client
            .query_one("SELECT fill_action_documents($1, 10000)", &[&after])
            .await
            .map_err(db_err("cannot write the stored documents"))?;
        let Some(last) = row.get::<_, Option<uuid::Uuid>>(0) else {
            break;
        };
        after = Some(last);
        done = (done + 10_000).min(n);
        progress.update(done);
    }
    progress.finish(n, &format!(", {}", seconds(t.elapsed())));
    client
        .batch_execute("DELETE FROM pending_backfills WHERE name = 'action_documents'")
        .await
        .map_err(db_err("cannot record the stored documents as written"))?;
    for (table, column) in [("sources", "id"), ("status_changes", "id")] {
        client
            .execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                     coalesce(max({column}), 0) + 1, false) FROM {table}"
                ),
                &[],
            )
            .await
            .map_err(db_err("cannot advance the identity sequences"))?;
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(db_err("COMMIT failed"))?;
    // VACUUM (outside the transaction) also sets the visibility map, as autovacuum would in
    // time, so that index-only scans work from the first query on.
    let t = Instant::now();
    // The data is committed by now: a failure here is worth a warning, not a failed run
    // (which a rerun could not repair, since the tables are no longer empty).
    match client
        .batch_execute(&format!(
            "VACUUM (ANALYZE) {}, dyad_periods, category_periods",
            TABLES.join(", ")
        ))
        .await
    {
        Ok(()) => progress.say(&format!("vacuum analyze {}", seconds(t.elapsed()))),
        Err(e) => progress.say(&format!(
            "warning: the data is loaded, but VACUUM (ANALYZE) failed ({e}); run it by hand \
             for accurate plans and index-only scans from the start"
        )),
    }
    let loading = loading.elapsed();

    let (d, count) = plan
        .dyad_counts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        .map(|(i, c)| (i, *c as u64))
        .unwrap_or((0, 0));
    let code = |m: usize| world.actors[world.members[m].actor].code.clone();
    let dyad = world.dyads[d];
    let threat = |i: usize| types[plan.acts[i].kind as usize].category == Category::Threat;
    let threats = (0..plan.acts.len()).filter(|&i| threat(i)).count() as u64;
    Ok(Report {
        rows,
        elapsed: started.elapsed(),
        loading,
        answering: (0..plan.acts.len())
            .filter(|&i| !plan.edges_of(i).is_empty())
            .count() as u64,
        busiest: (code(dyad.a), code(dyad.b), count),
        episodes: plan.episodes,
        designed: plan
            .designed
            .iter()
            .map(|e| (e.tag, e.size, plan.acts[e.root as usize].id))
            .collect(),
        threats,
        threats_implemented: plan
            .facts
            .iter()
            .filter(|f| f.first_implemented_on.is_some())
            .count() as u64,
    })
}

/// The action types of the database, in profile order, with their categories and default
/// severities (which the generator takes from there, not from its own tables).
async fn action_types(client: &Client) -> Result<Vec<TypeInfo>, String> {
    let rows = client
        .query(
            "SELECT code, category, default_severity FROM action_types",
            &[],
        )
        .await
        .map_err(db_err("cannot read the action types"))?;
    profiles::PROFILES
        .iter()
        .map(|p| {
            let row = rows
                .iter()
                .find(|r| r.get::<_, &str>(0) == p.code)
                .ok_or_else(|| {
                    format!(
                        "action type `{}` is missing from the database; are the migrations \
                         applied?",
                        p.code
                    )
                })?;
            let category: Category = row.get::<_, &str>(1).parse()?;
            Ok(TypeInfo {
                code: p.code.to_string(),
                category,
                default_severity: row.get(2),
            })
        })
        .collect()
}

/// A buffer of encoded rows for the current table; `done` counts the actions rendered.
struct Chunk {
    data: Vec<u8>,
    done: u64,
    last: bool,
}

/// The generator thread: renders the bulk tables one after the other, in load order.
fn produce(
    world: &World,
    plan: &Plan,
    types: &[TypeInfo],
    seed: u64,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) {
    let r = Renderer {
        world,
        plan,
        types,
        seed,
    };
    let n = plan.acts.len();
    for (_, _, render) in BULK {
        let mut next_id = 1i64;
        let mut enc = Encoder::new(CHUNK + 16 * 1024);
        enc.header();
        for i in 0..n {
            render(&r, i, &mut enc, &mut next_id);
            if enc.buf.len() >= CHUNK {
                let data = std::mem::replace(&mut enc.buf, Vec::with_capacity(CHUNK + 16 * 1024));
                let chunk = Chunk {
                    data,
                    done: i as u64 + 1,
                    last: false,
                };
                if tx.blocking_send(chunk).is_err() {
                    return; // the loader gave up; its error is reported there
                }
            }
        }
        enc.trailer();
        let chunk = Chunk {
            data: enc.buf,
            done: n as u64,
            last: true,
        };
        if tx.blocking_send(chunk).is_err() {
            return;
        }
    }
}

/// COPYs the chunks that `chunks` yields into `table`, up to the one marked last, telling
/// `progress` how many actions each brought in; returns the number of rows.
async fn copy(
    client: &Client,
    table: &str,
    columns: &str,
    chunks: &mut tokio::sync::mpsc::Receiver<Chunk>,
    mut progress: impl FnMut(u64),
) -> Result<u64, String> {
    let sink = client
        .copy_in::<_, Cursor<Vec<u8>>>(&format!(
            "COPY {table} ({columns}) FROM STDIN (FORMAT binary, FREEZE)"
        ))
        .await
        .map_err(db_err(&format!("cannot start COPY into {table}")))?;
    futures_util::pin_mut!(sink);
    loop {
        let chunk = chunks
            .recv()
            .await
            .ok_or("the generator thread stopped early (see above)")?;
        sink.send(Cursor::new(chunk.data))
            .await
            .map_err(db_err(&format!("COPY into {table} failed")))?;
        progress(chunk.done);
        if chunk.last {
            break;
        }
    }
    sink.finish()
        .await
        .map_err(db_err(&format!("COPY into {table} failed")))
}

/// Definitions of what was dropped before the load, to recreate after it.
struct Saved {
    /// (table, name, definition): primary keys and unique constraints.
    keys: Vec<(String, String, String)>,
    /// CREATE INDEX statements.
    /// (name, definition)
    indexes: Vec<(String, String)>,
    /// (table, name, definition).
    foreign_keys: Vec<(String, String, String)>,
}

/// Drops the keys, indexes and foreign keys of the bulk tables (and foreign keys pointing at
/// them), after saving their definitions. Maintaining them row by row was measured to cost
/// more than the whole load should: each foreign-key check about 8 µs per row (a trigger and
/// a query per row), each random-UUID primary key insertion several more, the full-text GIN
/// index tens; building them once at the end is a sort or a join per index or key.
async fn drop_keys_and_indexes(client: &Client) -> Result<Saved, String> {
    let bulk: Vec<&str> = BULK.iter().map(|(t, _, _)| *t).collect();
    let tables = "ARRAY(SELECT to_regclass(t) FROM unnest($1::text[]) t)";
    let keys = client
        .query(
            &format!(
                "SELECT conrelid::regclass::text, quote_ident(conname), \
                        pg_get_constraintdef(oid) \
                 FROM pg_constraint \
                 WHERE contype IN ('p', 'u') AND conrelid = ANY({tables}) \
                 ORDER BY conrelid::regclass::text, conname"
            ),
            &[&bulk],
        )
        .await
        .map_err(db_err("cannot read the keys"))?;
    let foreign = client
        .query(
            &format!(
                "SELECT conrelid::regclass::text, quote_ident(conname), \
                        pg_get_constraintdef(oid) \
                 FROM pg_constraint \
                 WHERE contype = 'f' AND (conrelid = ANY({tables}) OR confrelid = ANY({tables})) \
                 ORDER BY conrelid::regclass::text, conname"
            ),
            &[&bulk],
        )
        .await
        .map_err(db_err("cannot read the foreign keys"))?;
    let indexes = client
        .query(
            &format!(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) \
                 FROM pg_index i \
                 WHERE i.indrelid = ANY({tables}) \
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                                   WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) \
                 ORDER BY 1"
            ),
            &[&bulk],
        )
        .await
        .map_err(db_err("cannot read the indexes"))?;
    let triple =
        |r: &tokio_postgres::Row| -> (String, String, String) { (r.get(0), r.get(1), r.get(2)) };
    let saved = Saved {
        keys: keys.iter().map(triple).collect(),
        indexes: indexes.iter().map(|r| (r.get(0), r.get(1))).collect(),
        foreign_keys: foreign.iter().map(triple).collect(),
    };
    let mut sql = String::new();
    for (table, name, _) in saved.foreign_keys.iter().chain(&saved.keys) {
        sql.push_str(&format!("ALTER TABLE {table} DROP CONSTRAINT {name};\n"));
    }
    for (name, _) in &saved.indexes {
        sql.push_str(&format!("DROP INDEX {name};\n"));
    }
    client
        .batch_execute(&sql)
        .await
        .map_err(db_err("cannot drop the keys and indexes before loading"))?;
    Ok(saved)
}

/// Recreates keys first (foreign keys need the referenced ones), then indexes, then foreign
/// keys, each validated against every row, saying how long each kind took.
async fn restore(client: &Client, saved: &Saved, progress: &Progress) -> Result<(), String> {
    let t = Instant::now();
    add_constraints(client, &saved.keys).await?;
    progress.say(&format!(
        "keys           {} primary and unique keys built ({})",
        saved.keys.len(),
        seconds(t.elapsed())
    ));
    let t = Instant::now();
    let mut slowest = (Duration::ZERO, "");
    for (name, def) in &saved.indexes {
        let one = Instant::now();
        client
            .batch_execute(def)
            .await
            .map_err(db_err(&format!("cannot recreate the index `{def}`")))?;
        if one.elapsed() > slowest.0 {
            slowest = (one.elapsed(), name.as_str());
        }
    }
    progress.say(&format!(
        "indexes        {} built ({}; the longest, {}, {})",
        saved.indexes.len(),
        seconds(t.elapsed()),
        slowest.1,
        seconds(slowest.0)
    ));
    let t = Instant::now();
    add_constraints(client, &saved.foreign_keys).await?;
    progress.say(&format!(
        "foreign keys   {} added, each validated over all rows ({})",
        saved.foreign_keys.len(),
        seconds(t.elapsed())
    ));
    Ok(())
}

/// Adds saved constraints (table, name, definition) back, one statement each so that a
/// failure names the constraint.
async fn add_constraints(
    client: &Client,
    saved: &[(String, String, String)],
) -> Result<(), String> {
    for (table, name, def) in saved {
        client
            .batch_execute(&format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"))
            .await
            .map_err(db_err(&format!("cannot recreate {name}")))?;
    }
    Ok(())
}
