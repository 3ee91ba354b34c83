//! Action rows, their embedded records, and the response-graph rules.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::ActorRefRow;
use super::sql::{insert_unnest, Bind, Sql};
use crate::schema::{actions, designations, responses, sources, status_changes};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = actions)]
pub struct ActionRow {
    pub id: Uuid,
    pub title: String,
    pub summary: Option<String>,
    pub initiator_id: Uuid,
    pub target_id: Uuid,
    pub authority_id: Option<Uuid>,
    pub type_code: String,
    pub status: String,
    pub announced_on: NaiveDate,
    pub date_precision: String,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub legal_basis: Option<String>,
    pub program: Option<String>,
    pub severity: f64,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub source_dataset: Option<String>,
}

/// The columns a create or a full update writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = actions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ActionWrite {
    pub title: String,
    pub summary: Option<String>,
    pub initiator_id: Uuid,
    pub initiator_kind: String,
    pub target_id: Uuid,
    pub target_kind: String,
    pub authority_id: Option<Uuid>,
    pub type_code: String,
    pub status: String,
    pub announced_on: NaiveDate,
    pub date_precision: String,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub legal_basis: Option<String>,
    pub program: Option<String>,
    pub severity: f64,
    pub tags: Vec<String>,
    /// The designated actors' names, for full-text search (see `designated_names_of`).
    pub designated_names: String,
    pub external_id: Option<String>,
    pub source_dataset: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = designations)]
pub struct DesignationRow {
    pub action_id: Uuid,
    pub actor_id: Uuid,
    pub listed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = sources)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct SourceRow {
    pub action_id: Uuid,
    pub url: String,
    pub publisher: Option<String>,
    pub published_on: Option<NaiveDate>,
    pub quote: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = responses)]
pub struct ResponseRow {
    pub action_id: Uuid,
    pub responds_to_id: Uuid,
    pub relation: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_changes)]
pub struct StatusChangeRow {
    pub action_id: Uuid,
    pub status: String,
    pub changed_on: NaiveDate,
    pub source_url: Option<String>,
    pub note: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = status_changes, treat_none_as_default_value = false)]
pub struct NewStatusChange {
    pub action_id: Uuid,
    pub status: String,
    pub changed_on: NaiveDate,
    pub source_url: Option<String>,
    pub note: Option<String>,
}

/// The text full-text search sees for an action's designations: the actors' names in code
/// order. `refresh_designated_names` computes the same in SQL.
pub fn designated_names_of<'a>(actors: impl Iterator<Item = &'a ActorRefRow>) -> String {
    let mut actors: Vec<&ActorRefRow> = actors.collect();
    actors.sort_by(|a, b| a.code.cmp(&b.code));
    actors
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Recomputes `designated_names` of every action that designates this actor (after a rename).
pub async fn refresh_designated_names(
    conn: &mut AsyncPgConnection,
    actor_id: Uuid,
) -> QueryResult<usize> {
    // In id order, as an import takes them (import::resolve): taken in whatever order the
    // UPDATE met them, a rename and an import (or two renames) each held what the other
    // waited for, and an import of 20,000 lines under steady renames failed 3 times in 10.
    diesel::sql_query(
        "SELECT id FROM actions
         WHERE id IN (SELECT action_id FROM designations WHERE actor_id = $1)
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind::<SqlUuid, _>(actor_id)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE actions SET designated_names = coalesce((
             SELECT string_agg(a.name, ' ' ORDER BY a.code)
             FROM designations d JOIN actors a ON a.id = d.actor_id
             WHERE d.action_id = actions.id), '')
         WHERE id IN (SELECT action_id FROM designations WHERE actor_id = $1)",
    )
    .bind::<SqlUuid, _>(actor_id)
    .execute(conn)
    .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    include_deleted: bool,
) -> QueryResult<Option<ActionRow>> {
    let row: Option<ActionRow> = actions::table
        .find(id)
        .select(ActionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.filter(|r| include_deleted || r.deleted_at.is_none()))
}

/// The episode of the live action `id` (None when it is deleted or unknown) and its size,
/// counted up to `cap` so that a huge episode costs no more than a capped one.
/// Episodes are kept by triggers (migration 000008).
pub async fn episode_of(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    cap: i64,
) -> QueryResult<Option<(Uuid, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        episode_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        size: i64,
    }
    let row: Option<Row> = diesel::sql_query(
        "SELECT e.episode_id, \
                (SELECT count(*) FROM (SELECT 1 FROM actions m \
                                       WHERE m.episode_id = e.episode_id LIMIT $2) capped) AS size \
         FROM actions e WHERE e.id = $1 AND e.deleted_at IS NULL AND e.episode_id IS NOT NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(cap)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| (r.episode_id, r.size)))
}

/// The condition "in force on the day in `param`" on `actions` (the SQL function
/// `in_force`, migration 000011, says what that means), with the status of that day read
/// from the history: the last change on or before it.
pub(crate) fn in_force_on(param: &str) -> String {
    format!(
        "in_force((SELECT status FROM status_changes \
                   WHERE action_id = actions.id AND changed_on <= {param}::date \
                   ORDER BY changed_on DESC, id DESC LIMIT 1), \
                  actions.effective_to, {param}::date)"
    )
}

/// The status of each action on a day, from its history (None before its first entry), and
/// whether it was in force then (`in_force`, migration 000011).
pub async fn status_on(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    day: NaiveDate,
) -> QueryResult<Vec<(Uuid, Option<String>, bool)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        status: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        in_force: bool,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT a.id, s.status, in_force(s.status, a.effective_to, $2) AS in_force \
         FROM actions a LEFT JOIN LATERAL ( \
             SELECT status FROM status_changes \
             WHERE action_id = a.id AND changed_on <= $2 \
             ORDER BY changed_on DESC, id DESC LIMIT 1) s ON true \
         WHERE a.id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .bind::<Date, _>(day)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.status, r.in_force))
        .collect())
}

/// The newest `limit` status changes of an action, oldest first, and how many older ones
/// there are besides.
pub async fn history(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    limit: i64,
) -> QueryResult<(Vec<StatusChangeRow>, i64)> {
    let mut rows: Vec<StatusChangeRow> = status_changes::table
        .filter(status_changes::action_id.eq(id))
        .order((status_changes::changed_on.desc(), status_changes::id.desc()))
        .limit(limit)
        .select(StatusChangeRow::as_select())
        .load(conn)
        .await?;
    rows.reverse();
    let all = status_changes::table
        .filter(status_changes::action_id.eq(id))
        .count()
        .get_result(conn);
    let older = super::besides(rows.len(), limit, all).await?;
    Ok((rows, older))
}

/// The whole status histories of `ids`, each oldest first, by action.
pub async fn histories(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<StatusChangeRow>> {
    status_changes::table
        .filter(status_changes::action_id.eq_any(ids))
        .order((
            status_changes::action_id,
            status_changes::changed_on,
            status_changes::id,
        ))
        .select(StatusChangeRow::as_select())
        .load(conn)
        .await
}

pub async fn last_status_change(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<StatusChangeRow>> {
    status_changes::table
        .filter(status_changes::action_id.eq(id))
        .order((status_changes::changed_on.desc(), status_changes::id.desc()))
        .select(StatusChangeRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the row; returns whether it is deleted, or None when there is no such action.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<bool>> {
    actions::table
        .find(id)
        .select(actions::deleted_at.is_not_null())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    row: &ActionWrite,
) -> QueryResult<ActionRow> {
    diesel::insert_into(actions::table)
        .values((actions::id.eq(id), row))
        .returning(ActionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    row: &ActionWrite,
) -> QueryResult<ActionRow> {
    diesel::update(actions::table.find(id))
        .set((
            row,
            actions::updated_at.eq(diesel::dsl::now),
            actions::version.eq(actions::version + 1),
        ))
        .returning(ActionRow::as_returning())
        .get_result(conn)
        .await
}

/// Soft deletion: the row stays, hidden, and can be restored.
pub async fn set_deleted(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    deleted: bool,
) -> QueryResult<usize> {
    let at = deleted.then(Utc::now);
    diesel::update(actions::table.find(id))
        .set((
            actions::deleted_at.eq(at),
            actions::updated_at.eq(diesel::dsl::now),
            actions::version.eq(actions::version + 1),
        ))
        .execute(conn)
        .await
}

pub async fn purge(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(actions::table.find(id)).execute(conn).await
}

/// Replaces the lists a patch gives (`Some`): designations and sources are deleted and
/// inserted again; answers edge by edge (see below).
pub async fn replace_lists(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    designations: Option<&[DesignationRow]>,
    sources: Option<&[SourceRow]>,
    responses: Option<&[ResponseRow]>,
) -> QueryResult<()> {
    if designations.is_some() {
        diesel::delete(designations::table.filter(designations::action_id.eq(id)))
            .execute(conn)
            .await?;
    }
    if sources.is_some() {
        diesel::delete(sources::table.filter(sources::action_id.eq(id)))
            .execute(conn)
            .await?;
    }
    // Answers are replaced edge by edge: one kept as it was is neither removed nor added, so
    // the change feed's edge entries (written by triggers) are the real changes only.
    let mut added: Vec<ResponseRow> = Vec::new();
    if let Some(wanted) = responses {
        let stored: Vec<(Uuid, String)> = responses::table
            .filter(responses::action_id.eq(id))
            .select((responses::responds_to_id, responses::relation))
            .load(conn)
            .await?;
        let gone: Vec<Uuid> = stored
            .iter()
            .filter(|(to, rel)| {
                !wanted
                    .iter()
                    .any(|w| w.responds_to_id == *to && w.relation == *rel)
            })
            .map(|(to, _)| *to)
            .collect();
        if !gone.is_empty() {
            diesel::delete(
                responses::table
                    .filter(responses::action_id.eq(id))
                    .filter(responses::responds_to_id.eq_any(&gone)),
            )
            .execute(conn)
            .await?;
        }
        added = wanted
            .iter()
            .filter(|w| {
                !stored
                    .iter()
                    .any(|(to, rel)| w.responds_to_id == *to && w.relation == *rel)
            })
            .cloned()
            .collect();
    }
    insert_lists(
        conn,
        designations.unwrap_or_default(),
        sources.unwrap_or_default(),
        &added,
        &[],
    )
    .await
}

/// Inserts the lists of a new action, pipelined in one round trip (nothing to replace yet).
pub async fn insert_lists(
    conn: &mut AsyncPgConnection,
    designations: &[DesignationRow],
    sources: &[SourceRow],
    responses: &[ResponseRow],
    history: &[NewStatusChange],
) -> QueryResult<()> {
    use futures_util::future::Either;
    let conn: &AsyncPgConnection = conn;
    let run = |rows: usize, sql: Sql| match rows {
        0 => Either::Left(std::future::ready(Ok::<usize, _>(0))),
        _ => Either::Right(sql.execute(&mut &*conn)),
    };
    let d = run(
        designations.len(),
        insert_unnest(
            "designations",
            vec![
                (
                    "action_id",
                    "uuid[]",
                    Bind::Uuids(designations.iter().map(|r| r.action_id).collect()),
                ),
                (
                    "actor_id",
                    "uuid[]",
                    Bind::Uuids(designations.iter().map(|r| r.actor_id).collect()),
                ),
                (
                    "listed_on",
                    "date[]",
                    Bind::OptDates(designations.iter().map(|r| r.listed_on).collect()),
                ),
            ],
        ),
    );
    let s = run(
        sources.len(),
        insert_unnest(
            "sources",
            vec![
                (
                    "action_id",
                    "uuid[]",
                    Bind::Uuids(sources.iter().map(|r| r.action_id).collect()),
                ),
                (
                    "url",
                    "text[]",
                    Bind::Texts(sources.iter().map(|r| r.url.clone()).collect()),
                ),
                (
                    "publisher",
                    "text[]",
                    Bind::OptTexts(sources.iter().map(|r| r.publisher.clone()).collect()),
                ),
                (
                    "published_on",
                    "date[]",
                    Bind::OptDates(sources.iter().map(|r| r.published_on).collect()),
                ),
                (
                    "quote",
                    "text[]",
                    Bind::OptTexts(sources.iter().map(|r| r.quote.clone()).collect()),
                ),
            ],
        ),
    );
    let r = run(
        responses.len(),
        insert_unnest(
            "responses",
            vec![
                (
                    "action_id",
                    "uuid[]",
                    Bind::Uuids(responses.iter().map(|r| r.action_id).collect()),
                ),
                (
                    "responds_to_id",
                    "uuid[]",
                    Bind::Uuids(responses.iter().map(|r| r.responds_to_id).collect()),
                ),
                (
                    "relation",
                    "text[]",
                    Bind::Texts(responses.iter().map(|r| r.relation.clone()).collect()),
                ),
            ],
        ),
    );
    let h = run(
        history.len(),
        insert_unnest(
            "status_changes",
            vec![
                (
                    "action_id",
                    "uuid[]",
                    Bind::Uuids(history.iter().map(|r| r.action_id).collect()),
                ),
                (
                    "status",
                    "text[]",
                    Bind::Texts(history.iter().map(|r| r.status.clone()).collect()),
                ),
                (
                    "changed_on",
                    "date[]",
                    Bind::Dates(history.iter().map(|r| r.changed_on).collect()),
                ),
                (
                    "source_url",
                    "text[]",
                    Bind::OptTexts(history.iter().map(|r| r.source_url.clone()).collect()),
                ),
                (
                    "note",
                    "text[]",
                    Bind::OptTexts(history.iter().map(|r| r.note.clone()).collect()),
                ),
            ],
        ),
    );
    futures_util::try_join!(d, s, r, h)?;
    Ok(())
}

pub async fn insert_status_changes(
    conn: &mut AsyncPgConnection,
    rows: &[NewStatusChange],
) -> QueryResult<()> {
    if !rows.is_empty() {
        diesel::insert_into(status_changes::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The live actions (id, announced_on, precision) among the given ids.
pub async fn dates(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, NaiveDate, String)>> {
    if ids.is_empty() {
        // Most new actions answer nothing: no round trip for them.
        return Ok(Vec::new());
    }
    actions::table
        .filter(actions::id.eq_any(ids))
        .filter(actions::deleted_at.is_null())
        .select((actions::id, actions::announced_on, actions::date_precision))
        .load(conn)
        .await
}

/// Which of `ids` are deleted actions.
pub async fn deleted_among(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    actions::table
        .filter(actions::id.eq_any(ids))
        .filter(actions::deleted_at.is_not_null())
        .select(actions::id)
        .load(conn)
        .await
}

/// Actions that answer `id`, with their dates; deleted ones only with `include_deleted`.
pub async fn answered_by(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    include_deleted: bool,
) -> QueryResult<Vec<(Uuid, NaiveDate, String)>> {
    let mut query = responses::table
        .inner_join(actions::table.on(actions::id.eq(responses::action_id)))
        .filter(responses::responds_to_id.eq(id))
        .into_boxed();
    if !include_deleted {
        query = query.filter(actions::deleted_at.is_null());
    }
    query
        .order(actions::announced_on)
        .select((actions::id, actions::announced_on, actions::date_precision))
        .load(conn)
        .await
}

/// Serialises every change to the response graph, so that two concurrent edits cannot
/// together close a cycle that neither sees alone, and so that the graph triggers (migration
/// 000008), which recompute facts of neighbouring actions from their own snapshot, never
/// miss a concurrent change to those neighbours.
pub async fn lock_graph(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(7236111)")
        .execute(conn)
        .await
        .map(|_| ())
}

/// True when `from` is reachable from any of `starts` by following responds_to edges, i.e.
/// when adding edges `from -> starts` would close a cycle.
pub async fn reaches(
    conn: &mut AsyncPgConnection,
    starts: &[Uuid],
    from: Uuid,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    let row: Found = diesel::sql_query(
        "WITH RECURSIVE reach(id) AS (
             SELECT unnest($1::uuid[])
             UNION
             SELECT r.responds_to_id FROM responses r JOIN reach ON r.action_id = reach.id
         )
         SELECT EXISTS (SELECT 1 FROM reach WHERE id = $2) AS found",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(starts)
    .bind::<SqlUuid, _>(from)
    .get_result(conn)
    .await?;
    Ok(row.found)
}
