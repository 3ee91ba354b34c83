//! What needs every line at once, in SQL over the staging table `import_lines`: identities
//! (ids, external ids, which lines update stored actions), the answers' targets and the graph
//! rules, then the set-based writes. Each rule's message is the API's for the same fault.

use futures_util::SinkExt;
use tokio_postgres::Client;
use uuid::Uuid;

use super::{db_err, errors_json, Format, ImportError, Job, Rejection, Report};
use crate::limits::MAX_REPORTED_REJECTIONS;
use crate::models::import::JobState;
use crate::service::actions::messages::{self, sql_format, Slot};

/// Faults found in SQL, merged into the lines' `errors` when reported. Rules look a line's
/// earlier faults up (`NOT EXISTS`): without the index, a file of one line repeated n times
/// (n - 1 faults) took n² steps (40,000 lines: 53 s).
const FAULTS: &str = "CREATE TEMP TABLE import_faults (line bigint, field text, message text) \
    ON COMMIT DROP; CREATE INDEX ON import_faults (line)";

/// The answers of the good lines, one row each, with their targets once resolved. A deleted
/// action's document is never written, so its answers are not checked either (they would be
/// refused for answering other deleted documents of the same export).
const REFS: &str = "\
CREATE TEMP TABLE import_refs ON COMMIT DROP AS
SELECT l.line, (u.ord - 1)::int AS ord, u.rid, u.rext,
       CASE WHEN u.rext IS NOT NULL THEN coalesce(u.rds, l.source_dataset) END AS rds,
       u.rel, NULL::uuid AS target, NULL::bigint AS target_line, NULL::date AS target_on
FROM import_lines l,
     unnest(l.r_id, l.r_external, l.r_dataset, l.r_relation) WITH ORDINALITY
         AS u(rid, rext, rds, rel, ord)
WHERE l.errors IS NULL AND NOT l.deleted;
CREATE INDEX ON import_refs (line);
ANALYZE import_refs";

/// The message of an answer to a rejected line (`target_line` of `import_refs`). `unit`,
/// here and in every message naming another line by number, is what the numbers count
/// (`Format::unit`: a PLOVER file's records).
fn answers_rejected(unit: &str) -> String {
    format!("format('{unit} %s, which this {unit} answers, was rejected', target_line)")
}

/// The last day stored action `a` may stand for, by its date's precision.
fn latest() -> String {
    crate::input::FuzzyDate::latest_sql("a.announced_on", "a.date_precision")
}

/// Rules as `INSERT INTO import_faults` statements over the good lines, in order.
fn rules(format: Format) -> Vec<String> {
    let unit = format.unit();
    // A foreign record's external id is its own id field, and its dataset the format's.
    let same_external_id = match format {
        Format::Ndjson => "the same external_id in this source_dataset",
        Format::Plover => "the same id",
        Format::Gdelt => "the same GLOBALEVENTID",
    };
    let latest = latest();
    let answers_rejected = answers_rejected(unit);
    vec![
        // The same action twice in one file.
        format!(
            "INSERT INTO import_faults
         SELECT line, 'id', format('{unit} %s gives the same id', first)
         FROM (SELECT line, min(line) OVER (PARTITION BY given_id) AS first
               FROM import_lines WHERE given_id IS NOT NULL AND errors IS NULL) d
         WHERE line <> first"
        ),
        format!(
            "INSERT INTO import_faults
         SELECT line, 'external_id',
                format('{unit} %s gives {same_external_id}', first)
         FROM (SELECT line, min(line) OVER (PARTITION BY coalesce(source_dataset, ''),
                                                         external_id) AS first
               FROM import_lines WHERE external_id IS NOT NULL AND errors IS NULL) d
         WHERE line <> first"
        ),
        // A line with an external id updates the action stored under it.
        "UPDATE import_lines l SET id = a.id, stored = true
         FROM actions a
         WHERE l.errors IS NULL AND l.given_id IS NULL AND l.external_id IS NOT NULL
           AND a.external_id = l.external_id
           AND coalesce(a.source_dataset, '') = coalesce(l.source_dataset, '')"
            .into(),
        "UPDATE import_lines l SET stored = true
         FROM actions a WHERE l.errors IS NULL AND a.id = l.given_id"
            .into(),
        // The stored actions the file changes are locked before anything is read of them:
        // a PATCH landing between these checks and the write would be overwritten, or half
        // kept (its designations with the file's title, its status without its history).
        "SELECT count(*) FROM (SELECT id FROM actions
             WHERE id IN (SELECT id FROM import_lines WHERE stored AND errors IS NULL)
             ORDER BY id FOR UPDATE) locked"
            .into(),
        // A line found by its id that names no external key keeps the stored one (see
        // `line::ActionLine::keeps_key`).
        "UPDATE import_lines l SET external_id = a.external_id, source_dataset = a.source_dataset
         FROM actions a
         WHERE l.errors IS NULL AND l.keeps_key AND l.stored AND a.id = l.id"
            .into(),
        // The actors the lines name, as for the API's writes (models::actor::refs_for_write):
        // a deletion or a change of kind waits for this import, or committed since the
        // actors were read at its start, and the lines naming them are refused here.
        "SELECT count(*) FROM (SELECT id FROM actors WHERE id IN (
             SELECT initiator_id FROM import_lines WHERE errors IS NULL
             UNION SELECT target_id FROM import_lines WHERE errors IS NULL
             UNION SELECT authority_id FROM import_lines WHERE errors IS NULL
             UNION SELECT unnest(d_actor) FROM import_lines WHERE errors IS NULL)
           ORDER BY id FOR KEY SHARE) locked"
            .into(),
        "INSERT INTO import_faults
         SELECT l.line, f.field,
                CASE WHEN a.deleted_at IS NOT NULL
                     THEN format('actor `%s` was deleted while the file was imported', a.code)
                     ELSE format('actor `%s` became a %s while the file was imported', a.code,
                                 a.kind) END
         FROM import_lines l
         CROSS JOIN LATERAL (VALUES ('initiator', l.initiator_id, l.initiator_kind),
                                    ('target', l.target_id, l.target_kind),
                                    ('authority', l.authority_id, NULL)) f(field, id, kind)
         JOIN actors a ON a.id = f.id
         WHERE l.errors IS NULL AND (a.deleted_at IS NOT NULL OR a.kind <> f.kind)
         UNION ALL
         SELECT l.line, 'designations',
                format('actor `%s` was deleted while the file was imported', a.code)
         FROM import_lines l, unnest(l.d_actor) d(id) JOIN actors a ON a.id = d.id
         WHERE l.errors IS NULL AND a.deleted_at IS NOT NULL"
            .into(),
        // Two lines that reach one stored action differently (one by id, one by external id):
        // both would update it, each with half of its lists.
        format!(
            "INSERT INTO import_faults
         SELECT line, CASE WHEN given_id IS NOT NULL THEN 'id' ELSE 'external_id' END,
                format('{unit} %s addresses the same action (%s)', first, id)
         FROM (SELECT line, id, given_id, min(line) OVER (PARTITION BY id) AS first
               FROM import_lines WHERE stored AND errors IS NULL) d
         WHERE line <> first AND NOT EXISTS (SELECT 1 FROM import_faults f WHERE f.line = d.line)"
        ),
        "INSERT INTO import_faults
         SELECT l.line, 'external_id',
                format('action %s already has external_id `%s` in this source_dataset', a.id,
                       l.external_id)
         FROM import_lines l JOIN actions a
           ON a.external_id = l.external_id
          AND coalesce(a.source_dataset, '') = coalesce(l.source_dataset, '')
         WHERE l.errors IS NULL AND l.given_id IS NOT NULL AND a.id <> l.given_id"
            .into(),
        "INSERT INTO import_faults
         SELECT l.line, 'id', format('action %s is deleted; restore it before importing it', a.id)
         FROM import_lines l JOIN actions a ON a.id = l.id
         WHERE l.stored AND a.deleted_at IS NOT NULL AND NOT l.deleted"
            .into(),
        // A deleted action's document stands for a deleted action: an import neither deletes
        // nor creates deleted actions.
        "INSERT INTO import_faults
         SELECT l.line, 'deleted_at',
                'the line is a deleted action''s document, and no deleted action of its id or \
                 external_id is stored: an import does not delete actions (leave the line out, \
                 or DELETE /v1/actions/{id})'
         FROM import_lines l
         WHERE l.deleted AND l.errors IS NULL
           AND NOT EXISTS (SELECT 1 FROM actions a
                           WHERE l.stored AND a.id = l.id AND a.deleted_at IS NOT NULL)"
            .into(),
        // A concurrent change of an authority's chain commits before the check below, or
        // waits for this import (models::actor::acts_for says why).
        "SELECT lock_actor_chains(ARRAY(SELECT DISTINCT authority_id FROM import_lines
                                        WHERE authority_id IS NOT NULL AND errors IS NULL))"
            .into(),
        // Each distinct (authority, initiator) pair is walked once: materialized, since the
        // planner would push the walk below the DISTINCT, to every line (9,004 walks for
        // 10,000 lines of the bench's export).
        format!(
            "WITH pairs AS MATERIALIZED (SELECT DISTINCT authority_id, initiator_id
                                         FROM import_lines
                                         WHERE authority_id IS NOT NULL AND errors IS NULL),
                  bad AS (SELECT * FROM pairs WHERE NOT actor_acts_for(authority_id, initiator_id))
             INSERT INTO import_faults
             SELECT l.line, 'authority', {}
             FROM import_lines l JOIN bad USING (authority_id, initiator_id)
             JOIN actors au ON au.id = l.authority_id JOIN actors i ON i.id = l.initiator_id",
            sql_format(
                &messages::authority_does_not_act(Slot(1), Slot(2)),
                &["au.code", "i.code"]
            )
        ),
        REFS.into(),
        // Targets: lines of the file first (by id, then by external id), stored actions next.
        "UPDATE import_refs r SET target = f.id, target_line = f.line, target_on = f.announced_on
         FROM import_lines f
         WHERE r.rid IS NOT NULL AND f.id = r.rid AND f.errors IS NULL AND NOT f.deleted"
            .into(),
        "UPDATE import_refs r SET target = f.id, target_line = f.line, target_on = f.announced_on
         FROM import_lines f
         WHERE r.rext IS NOT NULL AND f.errors IS NULL AND NOT f.deleted
           AND f.external_id = r.rext
           AND coalesce(f.source_dataset, '') = coalesce(r.rds, '')"
            .into(),
        "UPDATE import_refs r SET target = a.id, target_on = a.announced_on
         FROM actions a
         WHERE r.target IS NULL AND r.rid IS NOT NULL AND a.id = r.rid AND a.deleted_at IS NULL"
            .into(),
        "UPDATE import_refs r SET target = a.id, target_on = a.announced_on
         FROM actions a
         WHERE r.target IS NULL AND r.rext IS NOT NULL AND a.external_id = r.rext
           AND coalesce(a.source_dataset, '') = coalesce(r.rds, '') AND a.deleted_at IS NULL"
            .into(),
        // An answer to a line rejected on its own, or to a deleted action's document: that
        // is what the line is told, not that no such action exists.
        // (Two statements: an OR of the two keys cannot be hash-joined, and the nested loop
        // it made was quadratic, 10 s for 10,000 rejected lines.)
        "UPDATE import_refs r SET target_line = f.line
         FROM import_lines f
         WHERE r.target IS NULL AND (f.errors IS NOT NULL OR f.deleted) AND f.given_id = r.rid"
            .into(),
        "UPDATE import_refs r SET target_line = f.line
         FROM import_lines f
         WHERE r.target IS NULL AND r.target_line IS NULL
           AND (f.errors IS NOT NULL OR f.deleted) AND f.external_id = r.rext
           AND coalesce(f.source_dataset, '') = coalesce(r.rds, '')"
            .into(),
        format!(
            "INSERT INTO import_faults
             SELECT r.line, format('responds_to[%s].action', r.ord),
                    CASE WHEN f.deleted AND f.errors IS NULL
                         THEN format('{unit} %s is a deleted action''s document; a deleted \
                                      action cannot be answered', target_line)
                         ELSE {answers_rejected} END
             FROM import_refs r JOIN import_lines f ON f.line = r.target_line
             WHERE r.target IS NULL"
        ),
        // An answer to a deleted action is told so, in the API's words
        // (service::actions::checks::plan).
        format!(
            "INSERT INTO import_faults
         SELECT line, format('responds_to[%s].action', ord),
                CASE WHEN gone.id IS NOT NULL THEN {}
                     WHEN rid IS NOT NULL THEN {}
                     WHEN coalesce(rds, '') = ''
                         THEN format('no action with external_id `%s`', rext)
                     ELSE format('no action with external_id `%s` in source_dataset `%s`',
                                 rext, rds) END
         FROM import_refs r
         LEFT JOIN LATERAL (
             SELECT a.id FROM actions a WHERE a.deleted_at IS NOT NULL AND a.id = r.rid
             UNION ALL
             SELECT a.id FROM actions a
             WHERE a.deleted_at IS NOT NULL AND r.rext IS NOT NULL AND a.external_id = r.rext
               AND coalesce(a.source_dataset, '') = coalesce(r.rds, '')
             LIMIT 1) gone ON true
         WHERE r.target IS NULL AND r.target_line IS NULL",
            sql_format(&messages::answers_deleted(Slot(1)), &["gone.id"]),
            sql_format(&messages::no_such_action_in_file(Slot(1)), &["rid"]),
        ),
        format!(
            "INSERT INTO import_faults
             SELECT r.line, format('responds_to[%s].action', r.ord),
                    CASE WHEN r.target = l.id THEN {} ELSE {} END
             FROM import_refs r JOIN import_lines l ON l.line = r.line
             WHERE r.target = l.id OR r.target_on > l.latest_on",
            sql_format(messages::answers_itself(), &[]),
            sql_format(
                &messages::answers_later(Slot(1), Slot(2), Slot(3)),
                &[
                    &format!(
                        "CASE WHEN r.target_line IS NULL THEN format('action %s', r.target)
                              ELSE format('{unit} %s (action %s)', r.target_line, r.target) END"
                    ),
                    "r.target_on",
                    "l.announced_on"
                ]
            )
        ),
        format!(
            "INSERT INTO import_faults
         SELECT line, format('responds_to[%s].action', ord), {}
         FROM (SELECT line, ord, target,
                      row_number() OVER (PARTITION BY line, target ORDER BY ord) AS n
               FROM import_refs WHERE target IS NOT NULL) d
         WHERE n > 1",
            sql_format(&messages::listed_twice(Slot(1)), &["target"])
        ),
        // A stored action that the file moves later than a stored answer to it.
        format!(
            "INSERT INTO import_faults
             SELECT l.line, 'announced_on', {}
             FROM import_lines l
             JOIN responses r ON r.responds_to_id = l.id
             JOIN actions a ON a.id = r.action_id
             WHERE l.stored AND l.errors IS NULL AND {latest} < l.announced_on
               AND NOT EXISTS (SELECT 1 FROM import_lines u WHERE u.id = a.id AND u.stored)",
            sql_format(
                &messages::dated_after_answer(Slot(1), Slot(2)),
                &["a.id", "a.announced_on"]
            )
        ),
        // A changed status is appended on the day the line's history ends on (without one,
        // the day its status took effect: service::actions::initial_history): as in the API,
        // not before the last recorded change.
        "INSERT INTO import_faults
         SELECT l.line, 'status_history',
                format('the status changes from `%s` to `%s` on %s (the day this line''s \
                        status_history ends on; without one, effective_from for in_force, \
                        effective_to for lifted or expired, else announced_on), before the \
                        last recorded status change (`%s`, %s); end status_history with the \
                        new status on the day it took it',
                       a.status, l.status, l.h_on[cardinality(l.h_on)], last.status,
                       last.changed_on)
         FROM import_lines l JOIN actions a ON a.id = l.id
         CROSS JOIN LATERAL (SELECT s.status, s.changed_on FROM status_changes s
                             WHERE s.action_id = a.id
                             ORDER BY s.changed_on DESC, s.id DESC LIMIT 1) last
         WHERE l.stored AND l.errors IS NULL AND NOT l.deleted AND l.status <> a.status
           AND last.changed_on > l.h_on[cardinality(l.h_on)]"
            .into(),
        // What is left of the deleted documents stands for stored deleted actions: unchanged.
        "UPDATE import_lines l SET fate = 'same'
         WHERE l.deleted AND l.errors IS NULL AND l.fate IS NULL
           AND NOT EXISTS (SELECT 1 FROM import_faults f WHERE f.line = l.line)"
            .into(),
    ]
}

/// Marks the lines with faults rejected; returns how many were newly rejected.
async fn mark(client: &Client) -> Result<u64, ImportError> {
    client
        .execute(
            "UPDATE import_lines SET fate = 'rejected'
             WHERE fate IS NULL AND line IN (SELECT line FROM import_faults)",
            &[],
        )
        .await
        .map_err(db_err("cannot mark rejected lines"))
}

/// Runs every rule; with `partial`, also rejects the lines that answer rejected ones (they
/// could not be stored without them).
pub async fn check(
    client: &Client,
    partial: bool,
    actor_rejections: &[Rejection],
    format: Format,
) -> Result<(), ImportError> {
    let unit = format.unit();
    // The graph lock of the API's writes (models::action::lock_graph), from before the checks
    // read the stored graph to the commit: a deletion, a move or an answer written by the API
    // between the two would otherwise pass under the checks (an answer to a deleted action,
    // an answer earlier than what it answers).
    client
        .batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(7236111); \
             CREATE INDEX ON import_lines (id); \
             ANALYZE import_lines (line, id, given_id, external_id, source_dataset, \
                                   initiator_id, authority_id, stored, fate); {FAULTS}; \
             UPDATE import_lines SET fate = 'rejected' WHERE errors IS NOT NULL"
        ))
        .await
        .map_err(db_err("cannot prepare the checks"))?;
    for r in actor_rejections {
        let errors = errors_json(&r.errors);
        client
            .execute(
                // A record of PLOVER or GDELT is both its actors' line and its action's.
                "INSERT INTO import_lines (line, errors, fate) VALUES ($1, $2::text::jsonb, 'rejected')
                 ON CONFLICT (line) DO UPDATE
                 SET errors = coalesce(import_lines.errors, '[]') || excluded.errors,
                     fate = 'rejected'",
                &[&(r.line as i64), &errors],
            )
            .await
            .map_err(db_err("cannot record a rejected actor line"))?;
    }
    for rule in rules(format) {
        client
            .batch_execute(&rule)
            .await
            .map_err(db_err("an import check failed"))?;
    }
    mark(client).await?;
    // Rejecting a line that changes a stored action's answers leaves its stored answers in
    // place, which may close a cycle the accepted lines did not: with `partial`, look again.
    loop {
        let mut newly = reject_cycles(client).await?;
        if !partial {
            return Ok(());
        }
        newly += reject_answers_of_rejected(client, unit).await?;
        newly += reject_moves_past_kept_answers(client, unit).await?;
        if newly == 0 {
            return Ok(());
        }
    }
}

/// Rejects the lines that move a stored action later than a stored answer to it whose own
/// line was rejected: that answer stays as stored. (`rules` leaves answers that have a line
/// to that line's checks.) Returns how many.
async fn reject_moves_past_kept_answers(client: &Client, unit: &str) -> Result<u64, ImportError> {
    let latest = latest();
    client
        .execute(
            &format!(
                "INSERT INTO import_faults
                 SELECT l.line, 'announced_on', {}
                 FROM import_lines l
                 JOIN responses r ON r.responds_to_id = l.id
                 JOIN actions a ON a.id = r.action_id
                 JOIN import_lines u ON u.id = a.id AND u.stored AND u.fate = 'rejected'
                 WHERE l.stored AND l.fate IS NULL AND {latest} < l.announced_on",
                sql_format(
                    &format!(
                        "{} ({unit} {} changes that action and was rejected: it stays as stored)",
                        messages::dated_after_answer(Slot(1), Slot(2)),
                        Slot(3)
                    ),
                    &["a.id", "a.announced_on", "u.line"]
                )
            ),
            &[],
        )
        .await
        .map_err(db_err("cannot check the answers kept as stored"))?;
    mark(client).await
}

/// Rejects the good lines on a cycle of the graph the import would leave, or answering one;
/// returns how many. Such a cycle has an edge of the file, and between two edges of the file it
/// runs along edges of the file or stored ones: from a stored action a line answers, stored
/// answers lead up to stored actions that lines of the file change (whose own answers are the
/// file's). Those paths count as edges between lines, for Kahn's algorithm (`graph::cyclic`).
async fn reject_cycles(client: &Client) -> Result<u64, ImportError> {
    let lines = last_line(client).await?;
    let mut edges: Vec<(u32, u32)> = Vec::new();
    each_row(
        client,
        "SELECT r.line, r.target_line FROM import_refs r
         JOIN import_lines l ON l.line = r.line JOIN import_lines t ON t.line = r.target_line
         WHERE l.fate IS NULL AND t.fate IS NULL",
        |row| edges.push((line_of(row, 0), line_of(row, 1))),
    )
    .await?;
    // Only lines that change stored actions can be reached along stored answers (new actions
    // have none): an import of new actions walks nothing.
    each_row(
        client,
        "WITH RECURSIVE changed AS MATERIALIZED (
             SELECT id, line FROM import_lines WHERE stored AND fate IS NULL),
         walk(line, id) AS (
             SELECT r.line, r.target FROM import_refs r JOIN import_lines l ON l.line = r.line
             WHERE l.fate IS NULL AND r.target_line IS NULL AND r.target IS NOT NULL
               AND EXISTS (SELECT 1 FROM changed)
             UNION
             SELECT w.line, s.responds_to_id FROM walk w JOIN responses s ON s.action_id = w.id
             WHERE NOT EXISTS (SELECT 1 FROM changed c WHERE c.id = w.id))
         SELECT DISTINCT w.line, c.line FROM walk w JOIN changed c ON c.id = w.id",
        |row| edges.push((line_of(row, 0), line_of(row, 1))),
    )
    .await?;
    let cyclic: Vec<i64> = super::graph::cyclic(lines, edges)
        .into_iter()
        .map(i64::from)
        .collect();
    if cyclic.is_empty() {
        return Ok(0);
    }
    client
        .execute(
            "INSERT INTO import_faults
             SELECT line, 'responds_to', 'these responses would close a cycle, through other \
                    lines of the file or stored actions (or answer lines that do)'
             FROM unnest($1::bigint[]) AS line",
            &[&cyclic],
        )
        .await
        .map_err(db_err("cannot record cycles"))?;
    mark(client).await
}

/// Rejects, until none is left, the lines that answer rejected lines: they could not be
/// stored without them.
async fn reject_answers_of_rejected(client: &Client, unit: &str) -> Result<u64, ImportError> {
    let mut rejected = 0;
    let sql = format!(
        "INSERT INTO import_faults
         SELECT r.line, format('responds_to[%s].action', r.ord), {}
         FROM import_refs r JOIN import_lines t ON t.line = r.target_line
         JOIN import_lines l ON l.line = r.line
         WHERE t.fate = 'rejected' AND l.fate IS NULL",
        answers_rejected(unit)
    );
    loop {
        client
            .execute(&sql, &[])
            .await
            .map_err(db_err("cannot follow rejected lines"))?;
        match mark(client).await? {
            0 => return Ok(rejected),
            n => rejected += n,
        }
    }
}

pub async fn rejected_count(client: &Client) -> Result<u64, ImportError> {
    let row = client
        .query_one(
            "SELECT count(*) FROM import_lines WHERE fate = 'rejected'",
            &[],
        )
        .await
        .map_err(db_err("cannot count rejected lines"))?;
    Ok(row.get::<_, i64>(0) as u64)
}

pub struct Written {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

const ACTION_COLUMNS: &str = "title, summary, initiator_id, initiator_kind, target_id, \
    target_kind, authority_id, type_code, status, announced_on, date_precision, effective_from, \
    effective_to, legal_basis, program, severity, tags, designated_names, external_id, \
    source_dataset";

/// Stores the good lines: new actions, changes to stored ones; identical ones are left.
pub async fn write(client: &Client) -> Result<Written, ImportError> {
    // Whether each list of a stored action is the line's, as sets.
    let same_designations = "
        ARRAY(SELECT ROW(d.actor_id, d.listed_on) FROM designations d
              WHERE d.action_id = a.id ORDER BY 1)
          IS NOT DISTINCT FROM
        ARRAY(SELECT ROW(x.a, x.d) FROM unnest(l.d_actor, l.d_listed) x(a, d) ORDER BY 1)";
    let same_sources = "
        ARRAY(SELECT ROW(s.url, s.publisher, s.published_on, s.quote) FROM sources s
              WHERE s.action_id = a.id ORDER BY 1)
          IS NOT DISTINCT FROM
        ARRAY(SELECT ROW(x.u, x.p, x.d, x.q)
              FROM unnest(l.s_url, l.s_publisher, l.s_published, l.s_quote) x(u, p, d, q)
              ORDER BY 1)";
    let same_answers = "
        ARRAY(SELECT ROW(r.responds_to_id, r.relation) FROM responses r
              WHERE r.action_id = a.id ORDER BY 1)
          IS NOT DISTINCT FROM
        ARRAY(SELECT ROW(r.target, r.rel) FROM import_refs r WHERE r.line = l.line ORDER BY 1)";
    let columns: Vec<&str> = ACTION_COLUMNS.split(", ").map(str::trim).collect();
    let stored = columns
        .iter()
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let staged = columns
        .iter()
        .map(|c| format!("l.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let set = columns
        .iter()
        .map(|c| format!("{c} = l.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let classify = [
        "ALTER TABLE import_lines ADD COLUMN old_status text, \
             ADD COLUMN same_designations boolean, ADD COLUMN same_sources boolean"
            .to_string(),
        format!(
            "UPDATE import_lines l
             SET (fate, old_status, same_designations, same_sources) =
                 (SELECT CASE WHEN ({stored}) IS NOT DISTINCT FROM ({staged})
                                   AND same.d AND same.s AND same.r
                              THEN 'same' ELSE 'update' END,
                         a.status, same.d, same.s
                  FROM (SELECT {same_designations} AS d, {same_sources} AS s,
                               {same_answers} AS r) same)
             FROM actions a WHERE l.fate IS NULL AND l.stored AND a.id = l.id"
        ),
        "UPDATE import_lines SET fate = 'new' WHERE fate IS NULL".into(),
        // The statistics taken before the fates were known say no line is new: planned on
        // them, the INSERT below nested a loop over every (line, label) pair (1.05 s of a
        // 10,000-line import into the bench database; 0.01 s hashed).
        "ANALYZE import_lines (fate)".into(),
        // Changes to stored actions. The graph trigger leaves the answer facts to us
        // (migration 000030): refreshed for all of them at once, not a call per row.
        "SET LOCAL riposte.graph_bulk = 'on'".into(),
        format!(
            "UPDATE actions a SET {set}, updated_at = now(), version = a.version + 1
             FROM import_lines l WHERE l.fate = 'update' AND a.id = l.id"
        ),
        "SELECT refresh_answer_facts(graph_neighbourhood(ARRAY(
             SELECT id FROM import_lines WHERE fate = 'update')))"
            .into(),
        "SET LOCAL riposte.graph_bulk = 'off'".into(),
        // A changed line's lists are replaced where they changed, and left where not.
        "DELETE FROM designations WHERE action_id IN
             (SELECT id FROM import_lines WHERE fate = 'update' AND NOT same_designations)"
            .into(),
        "DELETE FROM sources WHERE action_id IN
             (SELECT id FROM import_lines WHERE fate = 'update' AND NOT same_sources)"
            .into(),
        // Only the answers a changed line no longer gives. Deleting an edge runs its graph
        // trigger, which may split the episode (2 ms an edge on the 1M bench database), and
        // an answer the line still gives would be inserted again as it was.
        "DELETE FROM responses x USING import_lines l
         WHERE l.fate = 'update' AND x.action_id = l.id
           AND NOT EXISTS (SELECT 1 FROM import_refs r WHERE r.line = l.line
                           AND r.target = x.responds_to_id AND r.rel = x.relation)"
            .into(),
    ];
    run(client, &classify).await?;
    label_episodes(client).await?;
    let insert = [
        format!(
            "INSERT INTO actions (id, episode_id, {ACTION_COLUMNS})
             SELECT l.id, coalesce(m.label, gen_random_uuid()), {staged}
             FROM import_lines l LEFT JOIN import_labels m ON m.line = l.line
             WHERE l.fate = 'new' ORDER BY l.line"
        ),
        "INSERT INTO designations (action_id, actor_id, listed_on)
         SELECT l.id, x.a, x.d FROM import_lines l, unnest(l.d_actor, l.d_listed) x(a, d)
         WHERE l.fate = 'new' OR (l.fate = 'update' AND NOT l.same_designations)"
            .into(),
        "INSERT INTO sources (action_id, url, publisher, published_on, quote)
         SELECT l.id, x.u, x.p, x.d, x.q
         FROM import_lines l, unnest(l.s_url, l.s_publisher, l.s_published, l.s_quote)
              x(u, p, d, q)
         WHERE l.fate = 'new' OR (l.fate = 'update' AND NOT l.same_sources)"
            .into(),
        "INSERT INTO status_changes (action_id, status, changed_on, source_url, note)
         SELECT l.id, x.s, x.o, x.u, x.n
         FROM import_lines l, unnest(l.h_status, l.h_on, l.h_source, l.h_note)
              WITH ORDINALITY x(s, o, u, n, i)
         WHERE l.fate = 'new' ORDER BY l.line, x.i"
            .into(),
        // A changed status is appended to the history, on the day the line's own history
        // gives the status.
        "INSERT INTO status_changes (action_id, status, changed_on, source_url, note)
         SELECT l.id, l.status, l.h_on[cardinality(l.h_on)], l.h_source[cardinality(l.h_on)],
                l.h_note[cardinality(l.h_on)]
         FROM import_lines l WHERE l.fate = 'update' AND l.status <> l.old_status"
            .into(),
        // The edges, with the per-edge graph trigger off (migration 000015): their episodes
        // are labelled already, and the answer facts of their ends are refreshed at once.
        "SET LOCAL riposte.graph_bulk = 'on'".into(),
        // `kept`: an answer a changed line gives as stored (the others were deleted above).
        // Found here, not in the INSERT: there a probe of `responses` may scan the pages the
        // INSERT itself is adding, quadratic in the edges (5.3 s more for 200,000 lines).
        "CREATE TEMP TABLE import_edges ON COMMIT DROP AS
         SELECT l.id AS action_id, r.target AS responds_to_id, r.rel AS relation,
                CASE WHEN l.fate = 'update'
                     THEN EXISTS (SELECT 1 FROM responses x
                                  WHERE x.action_id = l.id AND x.responds_to_id = r.target)
                     ELSE false END AS kept
         FROM import_refs r JOIN import_lines l ON l.line = r.line
         WHERE l.fate IN ('new', 'update')"
            .into(),
        "INSERT INTO responses (action_id, responds_to_id, relation)
         SELECT action_id, responds_to_id, relation FROM import_edges WHERE NOT kept"
            .into(),
        // Statistics taken before this import, if it adds more than a tenth of what they
        // count (an empty or seeded database, `reltuples` -1 or 9), say `actions` and
        // `responses` are tiny: the facts below were then planned as a scan of every
        // action for each one refreshed (1,900 actions of 100 answers each: 37 s, 0.4 s
        // with statistics). ANALYZE in the transaction counts its own new rows.
        "DO $$ BEGIN
             IF (SELECT reltuples FROM pg_class WHERE oid = 'actions'::regclass)
                < 10 * (SELECT count(*) FROM import_lines WHERE fate = 'new') THEN
                 ANALYZE actions;
                 ANALYZE responses;
             END IF;
         END $$"
            .into(),
        "SELECT refresh_answer_facts(ARRAY(
             SELECT action_id FROM import_edges UNION SELECT responds_to_id FROM import_edges))"
            .into(),
        "SET LOCAL riposte.graph_bulk = 'off'".into(),
    ];
    run(client, &insert).await?;
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE fate = 'new'), count(*) FILTER (WHERE fate = 'update'),
                    count(*) FILTER (WHERE fate = 'same')
             FROM import_lines",
            &[],
        )
        .await
        .map_err(db_err("cannot count the stored lines"))?;
    Ok(Written {
        created: row.get::<_, i64>(0) as u64,
        updated: row.get::<_, i64>(1) as u64,
        unchanged: row.get::<_, i64>(2) as u64,
    })
}

async fn run(client: &Client, statements: &[String]) -> Result<(), ImportError> {
    for sql in statements {
        client
            .batch_execute(sql)
            .await
            .map_err(db_err("storing the imported actions failed"))?;
    }
    Ok(())
}

/// Labels go to the database in buffers of about this size.
const LABEL_CHUNK: usize = 64 * 1024;

/// Labels the episodes the edges about to be inserted join (`graph::Episodes`): stored
/// episodes they merge are relabelled, new actions get their component's label (by line,
/// in `import_labels`, read by their INSERT).
async fn label_episodes(client: &Client) -> Result<(), ImportError> {
    client
        .batch_execute(
            "CREATE TEMP TABLE import_labels (line bigint PRIMARY KEY, label uuid NOT NULL) \
             ON COMMIT DROP",
        )
        .await
        .map_err(db_err("cannot label new actions"))?;
    let mut episodes = super::graph::Episodes::new(last_line(client).await?);
    let mut any = false;
    each_row(
        client,
        "SELECT l.line, l.fate = 'new', s.episode_id, r.target_line, t.fate = 'new',
                a.episode_id
         FROM import_refs r JOIN import_lines l ON l.line = r.line
         LEFT JOIN actions s ON s.id = l.id
         LEFT JOIN import_lines t ON t.line = r.target_line
         LEFT JOIN actions a ON a.id = r.target
         WHERE l.fate IN ('new', 'update')",
        |row| {
            any = true;
            let from = line_of(row, 0);
            episodes.line(from, row.get(1), row.get(2));
            let target: Option<i64> = row.get(3);
            let stored: Option<Uuid> = row.get(5);
            match target {
                Some(to) => {
                    let to = u32::try_from(to).unwrap_or(u32::MAX);
                    episodes.line(to, row.get::<_, Option<bool>>(4) == Some(true), stored);
                    episodes.answers_line(from, to);
                }
                None => {
                    if let Some(label) = stored {
                        episodes.answers_stored(from, label);
                    }
                }
            }
        },
    )
    .await?;
    if !any {
        return Ok(());
    }
    let (relabel, new) = episodes.finish();
    let (old, canon): (Vec<Uuid>, Vec<Uuid>) = relabel.into_iter().unzip();
    client
        .execute(
            "UPDATE actions a SET episode_id = m.canon
             FROM unnest($1::uuid[], $2::uuid[]) AS m(old, canon)
             WHERE a.episode_id = m.old",
            &[&old, &canon],
        )
        .await
        .map_err(db_err("cannot join episodes"))?;
    // Streamed, not gathered: a label per new action an edge touches. Into a table the
    // planner knows the size of (joined to a bare unnest() it nests a loop over every pair).
    let sink = client
        .copy_in::<_, std::io::Cursor<Vec<u8>>>(
            "COPY import_labels (line, label) FROM STDIN (FORMAT binary)",
        )
        .await
        .map_err(db_err("cannot label new actions"))?;
    futures_util::pin_mut!(sink);
    let mut enc = crate::pgcopy::Encoder::new(LABEL_CHUNK + 64);
    enc.header();
    for (line, label) in new {
        enc.row(2);
        enc.i64(i64::from(line));
        enc.uuid(label);
        if enc.buf.len() >= LABEL_CHUNK {
            let full = std::mem::replace(&mut enc.buf, Vec::with_capacity(LABEL_CHUNK + 64));
            sink.send(std::io::Cursor::new(full))
                .await
                .map_err(db_err("cannot label new actions"))?;
        }
    }
    enc.trailer();
    sink.send(std::io::Cursor::new(enc.buf))
        .await
        .map_err(db_err("cannot label new actions"))?;
    sink.finish()
        .await
        .map_err(db_err("cannot label new actions"))?;
    client
        .batch_execute("ANALYZE import_labels")
        .await
        .map_err(db_err("cannot label new actions"))?;
    Ok(())
}

/// The highest line number of the file.
async fn last_line(client: &Client) -> Result<usize, ImportError> {
    let row = client
        .query_one("SELECT coalesce(max(line), 0) FROM import_lines", &[])
        .await
        .map_err(db_err("cannot read the staged lines"))?;
    Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

fn line_of(row: &tokio_postgres::Row, i: usize) -> u32 {
    u32::try_from(row.get::<_, i64>(i)).unwrap_or(u32::MAX)
}

/// Runs a query and hands its rows to `each` as they arrive, none kept.
async fn each_row(
    client: &Client,
    sql: &str,
    mut each: impl FnMut(&tokio_postgres::Row),
) -> Result<(), ImportError> {
    use futures_util::StreamExt;
    let rows = client
        .query_raw(sql, std::iter::empty::<i32>())
        .await
        .map_err(db_err("cannot read the staged answers"))?;
    futures_util::pin_mut!(rows);
    while let Some(row) = rows.next().await {
        each(&row.map_err(db_err("cannot read the staged answers"))?);
    }
    Ok(())
}

/// The first rejected lines, each with every message about it.
pub async fn rejections(client: &Client) -> Result<Vec<Rejection>, ImportError> {
    let rows = client
        .query(
            "SELECT line, errors::text FROM (
                 SELECT line, errors FROM import_lines WHERE errors IS NOT NULL
                 UNION ALL
                 SELECT line, jsonb_agg(jsonb_build_object('field', field, 'message', message)
                                        ORDER BY field, message)
                 FROM import_faults GROUP BY line) x
             ORDER BY line LIMIT $1",
            &[&(MAX_REPORTED_REJECTIONS as i64)],
        )
        .await
        .map_err(db_err("cannot read the rejected lines"))?;
    rows.into_iter()
        .map(|row| {
            let text: String = row.get(1);
            Ok(Rejection {
                line: row.get::<_, i64>(0) as u64,
                errors: serde_json::from_str(&text)
                    .map_err(|e| ImportError::new(format!("unreadable rejection: {e}")))?,
            })
        })
        .collect()
}

/// Writes the job's outcome, in the import's transaction.
pub async fn finish(client: &Client, job: &Job, report: &Report) -> Result<(), ImportError> {
    let (state, error) = if let Some(why) = report.nothing_to_store(job.format) {
        (JobState::Failed, Some(why))
    } else if report.stored {
        (JobState::Succeeded, None)
    } else {
        (
            JobState::Failed,
            Some(format!(
                "{} {unit}(s) rejected; nothing was stored (all-or-nothing); fix them, or \
                 import with partial to store the good {unit}s",
                report.rejected,
                unit = job.format.unit()
            )),
        )
    };
    let skipped = serde_json::to_string(&report.skipped).unwrap_or_else(|_| "{}".into());
    let skipped_first =
        serde_json::to_string(&report.skipped_first).unwrap_or_else(|_| "{}".into());
    // In the import's transaction now() is when it began, not when it ends.
    client
        .execute(
            "UPDATE imports SET state = $2, error = $3, read = $4, created = $5, updated = $6,
                 unchanged = $7, rejected = $8, actors_created = $9, skipped = $10::text::jsonb,
                 skipped_first = $11::text::jsonb,
                 finished_at = clock_timestamp(), heartbeat_at = clock_timestamp()
             WHERE id = $1",
            &[
                &job.id,
                &state.as_str(),
                &error,
                &(report.read as i64),
                &(report.created as i64),
                &(report.updated as i64),
                &(report.unchanged as i64),
                &(report.rejected as i64),
                &(report.actors_created as i64),
                &skipped,
                &skipped_first,
            ],
        )
        .await
        .map_err(db_err("cannot record the import's outcome"))?;
    for r in &report.rejections {
        let errors = errors_json(&r.errors);
        client
            .execute(
                "INSERT INTO import_rejections (import_id, line, errors)
                 VALUES ($1, $2, $3::text::jsonb)",
                &[&job.id, &(r.line as i64), &errors],
            )
            .await
            .map_err(db_err("cannot record a rejected line"))?;
    }
    Ok(())
}
