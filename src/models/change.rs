//! The change feed (migration 000012): entries written by triggers, numbered by the
//! sequencer, read in `seq` order.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Entries looked at per read, matching a filter or not: a selective filter over a long
/// feed costs at most this much per page, and the cursor still moves past what was looked at.
pub const SCAN: i64 = 10_000;

#[derive(Debug, Clone, QueryableByName)]
pub struct ChangeRow {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = SqlUuid)]
    pub entity_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub related_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub relation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub actor_ids: Vec<Uuid>,
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    pub dyad: Option<Vec<Uuid>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub type_code: Option<String>,
    /// The dyad and type of an updated action before the update, where they changed: the
    /// entry matches a filter on either (migration 000022), so a filtered reader learns
    /// that an action left its filter.
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    pub was_dyad: Option<Vec<Uuid>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub was_type: Option<String>,
}

/// What a reader of the feed wants; empty lists match everything.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// `created`, `updated`, ... (webhook subscriptions choose them; the feed takes all).
    pub kinds: Vec<String>,
    pub entities: Vec<String>,
    pub actors: Vec<Uuid>,
    /// Unordered pairs.
    pub dyads: Vec<(Uuid, Uuid)>,
    pub types: Vec<String>,
}

impl ChangeFilter {
    /// The same test as the SQL of `page`, for entries already read (the live stream).
    pub fn matches(&self, c: &ChangeRow) -> bool {
        let pair = |dyad: &Option<Vec<Uuid>>, (a, b): &(Uuid, Uuid)| {
            dyad.as_deref()
                .is_some_and(|d| d.len() == 2 && d.contains(a) && d.contains(b))
        };
        let typed = |t: &Option<String>| t.as_ref().is_some_and(|t| self.types.contains(t));
        (self.kinds.is_empty() || self.kinds.contains(&c.kind))
            && (self.entities.is_empty() || self.entities.contains(&c.entity))
            && (self.actors.is_empty() || self.actors.iter().any(|a| c.actor_ids.contains(a)))
            && (self.dyads.is_empty()
                || self
                    .dyads
                    .iter()
                    .any(|d| pair(&c.dyad, d) || pair(&c.was_dyad, d)))
            && (self.types.is_empty() || typed(&c.type_code) || typed(&c.was_type))
    }
}

// The kinds the triggers of migration 000012 write.
crate::models::enums::text_enum! {
    /// What happened: to an actor or action, or, for an edge of the response graph, whether
    /// it was added or removed.
    ChangeKind {
        Created => "created",
        Updated => "updated",
        Deleted => "deleted",
        Restored => "restored",
        Purged => "purged",
        StatusChanged => "status_changed",
        EdgeAdded => "edge_added",
        EdgeRemoved => "edge_removed",
    }
}

crate::models::enums::text_enum! {
    /// What an entry is about: an actor, an action, or an edge of the response graph.
    ChangeEntity {
        Actor => "actor",
        Action => "action",
        Response => "response",
    }
}

/// Entries the sequencer numbers per call (`sequence_changes` in migration 000012).
const SEQUENCED_PER_CALL: i64 = 10_000;

/// Numbers every committed entry that has no `seq` yet (see the migration), in calls of
/// `SEQUENCED_PER_CALL`; how many. Stops early when another sequencer is at work.
pub async fn sequence(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Numbered {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut total = 0;
    loop {
        let done: Numbered = diesel::sql_query("SELECT sequence_changes() AS n")
            .get_result(conn)
            .await?;
        total += done.n;
        if done.n < SEQUENCED_PER_CALL {
            return Ok(total);
        }
    }
}

/// Up to `limit` entries after `after` that match `filter`, oldest first, looking at no more
/// than `SCAN` entries; and the `seq` of the last entry looked at (None when none was).
/// One statement, so one snapshot: how far the scan went is read together with what it
/// found (read separately, entries sequenced in between would be passed over unseen).
pub async fn page(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
    filter: &ChangeFilter,
) -> QueryResult<(Vec<ChangeRow>, Option<i64>)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        change: ChangeRow,
        /// False for the one row that only says how far the scan went, when none matched.
        #[diesel(sql_type = diesel::sql_types::Bool)]
        matched: bool,
        #[diesel(sql_type = Nullable<BigInt>)]
        scanned_to: Option<i64>,
    }
    let (dyad_a, dyad_b): (Vec<Uuid>, Vec<Uuid>) = filter.dyads.iter().copied().unzip();
    let rows: Vec<Row> = diesel::sql_query(
        "WITH scanned AS ( \
             SELECT * FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2), \
         matched AS ( \
             SELECT * FROM scanned \
             WHERE (cardinality($3::text[]) = 0 OR entity = ANY($3)) \
               AND (cardinality($4::uuid[]) = 0 OR actor_ids && $4) \
               AND (cardinality($5::uuid[]) = 0 OR EXISTS ( \
                     SELECT 1 FROM unnest($5::uuid[], $6::uuid[]) d(a, b) \
                     WHERE dyad @> ARRAY[d.a, d.b] OR was_dyad @> ARRAY[d.a, d.b])) \
               AND (cardinality($7::text[]) = 0 OR type_code = ANY($7) OR was_type = ANY($7)) \
               AND (cardinality($9::text[]) = 0 OR kind = ANY($9)) \
             ORDER BY seq LIMIT $8) \
         SELECT seq, at, kind, entity, entity_id, related_id, relation, status, actor_ids, \
                dyad, type_code, was_dyad, was_type, true AS matched, \
                (SELECT max(seq) FROM scanned) AS scanned_to \
         FROM matched \
         UNION ALL \
         (SELECT seq, at, kind, entity, entity_id, related_id, relation, status, actor_ids, \
                 dyad, type_code, was_dyad, was_type, false, seq \
          FROM scanned WHERE NOT EXISTS (SELECT 1 FROM matched) \
          ORDER BY seq DESC LIMIT 1) \
         ORDER BY seq",
    )
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(SCAN)
    .bind::<Array<Text>, _>(&filter.entities)
    .bind::<Array<SqlUuid>, _>(&filter.actors)
    .bind::<Array<SqlUuid>, _>(&dyad_a)
    .bind::<Array<SqlUuid>, _>(&dyad_b)
    .bind::<Array<Text>, _>(&filter.types)
    .bind::<BigInt, _>(limit)
    .bind::<Array<Text>, _>(&filter.kinds)
    .load(conn)
    .await?;
    let scanned_to = <[Row]>::first(&rows).and_then(|r| r.scanned_to);
    Ok((
        rows.into_iter()
            .filter(|r| r.matched)
            .map(|r| r.change)
            .collect(),
        scanned_to,
    ))
}

/// The `seq` of the newest sequenced entry (0 when there is none).
pub async fn latest(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let last: Last = diesel::sql_query("SELECT coalesce(max(seq), 0) AS seq FROM changes")
        .get_result(conn)
        .await?;
    Ok(last.seq)
}
