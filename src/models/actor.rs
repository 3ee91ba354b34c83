//! Actor rows and their queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{actions, actors, designations};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = actors)]
pub struct ActorRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: Option<String>,
    pub parent_id: Option<Uuid>,
    pub aliases: Vec<String>,
    pub wikidata_id: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The four fields by which other records show an actor.
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = actors)]
pub struct ActorRefRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = actors, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ActorWrite {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: Option<String>,
    pub parent_id: Option<Uuid>,
    pub aliases: Vec<String>,
    pub wikidata_id: Option<String>,
    pub description: Option<String>,
}

/// Whether a code could be stored. PostgreSQL text cannot hold NUL, so no actor has such
/// a code, and looking one up would fail the whole query: it is unknown, like any other
/// code that names nobody, and the caller says so of the field it came from.
fn storable(code: &str) -> bool {
    !code.contains('\0')
}

/// A path segment names an actor by UUID or by code; deleted actors only when asked.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &str,
    include_deleted: bool,
) -> QueryResult<Option<ActorRow>> {
    if !storable(key) {
        return Ok(None);
    }
    let mut query = actors::table.select(ActorRow::as_select()).into_boxed();
    if !include_deleted {
        query = query.filter(actors::deleted_at.is_null());
    }
    // Only the hyphenated form is an id; anything else is a code (which then finds nothing).
    let query = match crate::ids::parse_uuid(key) {
        Some(id) => query.filter(actors::id.eq(id)),
        None => query.filter(actors::code.eq(key)),
    };
    query.first(conn).await.optional()
}

/// How an actor about to change is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its code, kind, country or parent may change, or it is deleted: writers of actions
    /// that name it (`refs_for_write`, foreign keys, `lock_actor_chains`) wait for it.
    Defining,
    /// Only what no rule of an action reads (name, aliases, Wikidata id, description):
    /// writers of actions go on. A rename used to wait for a writer holding an action it had
    /// to refresh while that writer waited for the actor: a deadlock.
    Describing,
}

pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    key: &str,
    include_deleted: bool,
    change: Change,
) -> QueryResult<Option<ActorRow>> {
    if !storable(key) {
        return Ok(None);
    }
    // Locking clauses cannot be boxed, hence four queries; the deleted filter is applied after.
    let select = actors::table.select(ActorRow::as_select());
    let row: Option<ActorRow> = match (crate::ids::parse_uuid(key), change) {
        (Some(id), Change::Defining) => {
            select
                .filter(actors::id.eq(id))
                .for_update()
                .first(conn)
                .await
        }
        (Some(id), Change::Describing) => {
            select
                .filter(actors::id.eq(id))
                .for_no_key_update()
                .first(conn)
                .await
        }
        (None, Change::Defining) => {
            select
                .filter(actors::code.eq(key))
                .for_update()
                .first(conn)
                .await
        }
        (None, Change::Describing) => {
            select
                .filter(actors::code.eq(key))
                .for_no_key_update()
                .first(conn)
                .await
        }
    }
    .optional()?;
    Ok(row.filter(|r| include_deleted || r.deleted_at.is_none()))
}

/// The live actors of `codes`, for a write that is to name them: their rows stay locked
/// (KEY SHARE) until it commits. A deletion holds the actor FOR UPDATE and then counts what
/// names it, so it either waits for this write and counts it, or commits first and the
/// actor is not found here. Read without the lock, a deletion committing in between left
/// live actions naming a deleted actor (and every later edit of them refused).
pub async fn refs_for_write(
    conn: &mut AsyncPgConnection,
    codes: &[&str],
) -> QueryResult<Vec<ActorRefRow>> {
    let codes: Vec<&str> = codes.iter().copied().filter(|c| storable(c)).collect();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    actors::table
        .filter(actors::code.eq_any(codes))
        .filter(actors::deleted_at.is_null())
        .select(ActorRefRow::as_select())
        .order(actors::id)
        .for_key_share()
        .load(conn)
        .await
}

/// Of `ids`, those of actors there are, deleted or not, locked (KEY SHARE) until the write
/// commits: as `refs_for_write`, for a write that keeps ids (a webhook's filters) against a
/// purge, which holds the actor FOR UPDATE and then looks for what names it.
pub async fn lock_ids(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    actors::table
        .filter(actors::id.eq_any(ids))
        .select(actors::id)
        .order(actors::id)
        .for_key_share()
        .load(conn)
        .await
}

/// The live actors of `codes`.
pub async fn refs_by_codes(
    conn: &mut AsyncPgConnection,
    codes: &[&str],
) -> QueryResult<Vec<ActorRefRow>> {
    refs_of_codes(conn, codes, false).await
}

/// The actors of `codes`, deleted ones too: a deleted actor keeps its code, and a filter
/// that names it must still reach its deleted actions (`show_deleted`) and the change
/// feed's entries about them, such as the deletions a follower has yet to read.
pub async fn refs_by_codes_with_deleted(
    conn: &mut AsyncPgConnection,
    codes: &[&str],
) -> QueryResult<Vec<ActorRefRow>> {
    refs_of_codes(conn, codes, true).await
}

/// The actors named by code or by id among `given`, deleted ones too: a follower of the
/// feed names an actor by its id to keep its filter through a change of code.
pub async fn refs_by_codes_or_ids_with_deleted(
    conn: &mut AsyncPgConnection,
    given: &[&str],
) -> QueryResult<Vec<ActorRefRow>> {
    let ids: Vec<Uuid> = given.iter().filter_map(|g| g.parse().ok()).collect();
    let mut found = refs_of_codes(conn, given, true).await?;
    if !ids.is_empty() {
        let by_id: Vec<ActorRefRow> = actors::table
            .filter(actors::id.eq_any(ids))
            .select(ActorRefRow::as_select())
            .load(conn)
            .await?;
        found.extend(by_id);
    }
    Ok(found)
}

async fn refs_of_codes(
    conn: &mut AsyncPgConnection,
    codes: &[&str],
    include_deleted: bool,
) -> QueryResult<Vec<ActorRefRow>> {
    let codes: Vec<&str> = codes.iter().copied().filter(|c| storable(c)).collect();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = actors::table
        .filter(actors::code.eq_any(codes))
        .select(ActorRefRow::as_select())
        .into_boxed();
    if !include_deleted {
        query = query.filter(actors::deleted_at.is_null());
    }
    query.load(conn).await
}

/// Whether `authority` acts for `state` (SQL `actor_acts_for`, migration 000013: the one
/// definition, which imports use too). The authority's parent chain is locked first
/// (`lock_actor_chains`, migration 000024): a change of one of those actors commits before
/// the answer is read, or waits for this write and then sees its action.
pub async fn acts_for(
    conn: &mut AsyncPgConnection,
    authority: Uuid,
    state: Uuid,
) -> QueryResult<bool> {
    diesel::sql_query("SELECT lock_actor_chains(ARRAY[$1::uuid])")
        .bind::<diesel::sql_types::Uuid, _>(authority)
        .execute(conn)
        .await?;
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        acts: bool,
    }
    let answer: Answer = diesel::sql_query("SELECT actor_acts_for($1, $2) AS acts")
        .bind::<diesel::sql_types::Uuid, _>(authority)
        .bind::<diesel::sql_types::Uuid, _>(state)
        .get_result(conn)
        .await?;
    Ok(answer.acts)
}

/// The live actions whose authority is `actor` or belongs to it through parents, and which
/// that authority no longer acts for their initiator (`actor_acts_for`): what a change of
/// the actor's country or parent would break. Their count and the first few ids. The rule
/// is asked once per (authority, initiator) pair, not once per action: a ministry named in
/// 100,000 actions has a handful of pairs.
pub async fn authority_broken(
    conn: &mut AsyncPgConnection,
    actor: Uuid,
) -> QueryResult<(i64, Vec<Uuid>)> {
    #[derive(QueryableByName)]
    struct Broken {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
        ids: Vec<Uuid>,
    }
    let broken: Broken = diesel::sql_query(
        "WITH RECURSIVE below(id, depth) AS ( \
             SELECT $1::uuid, 0 \
             UNION ALL \
             SELECT a.id, below.depth + 1 FROM actors a JOIN below ON a.parent_id = below.id \
             WHERE below.depth < 100), \
         pairs AS MATERIALIZED ( \
             SELECT DISTINCT x.authority_id, x.initiator_id FROM actions x \
             WHERE x.deleted_at IS NULL AND x.authority_id IN (SELECT id FROM below)), \
         bad AS ( \
             SELECT * FROM pairs WHERE NOT actor_acts_for(authority_id, initiator_id)), \
         broken AS ( \
             SELECT x.id FROM actions x JOIN bad USING (authority_id, initiator_id) \
             WHERE x.deleted_at IS NULL) \
         SELECT (SELECT count(*) FROM broken) AS count, \
                ARRAY(SELECT id FROM broken ORDER BY id LIMIT 3) AS ids",
    )
    .bind::<diesel::sql_types::Uuid, _>(actor)
    .get_result(conn)
    .await?;
    Ok((broken.count, broken.ids))
}

pub async fn refs_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<ActorRefRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    actors::table
        .filter(actors::id.eq_any(ids))
        .select(ActorRefRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Clone)]
pub struct ActorFilter {
    pub show_deleted: bool,
    pub kind: Option<String>,
    pub country: Option<String>,
    pub after_code: Option<String>,
    pub limit: i64,
}

pub async fn list(conn: &mut AsyncPgConnection, f: ActorFilter) -> QueryResult<Vec<ActorRow>> {
    let mut query = actors::table.select(ActorRow::as_select()).into_boxed();
    if !f.show_deleted {
        query = query.filter(actors::deleted_at.is_null());
    }
    if let Some(kind) = f.kind {
        query = query.filter(actors::kind.eq(kind));
    }
    if let Some(country) = f.country {
        query = query.filter(actors::country.eq(country));
    }
    if let Some(after) = f.after_code {
        query = query.filter(actors::code.gt(after));
    }
    query
        .order(actors::code.asc())
        .limit(f.limit)
        .load(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &ActorWrite) -> QueryResult<ActorRow> {
    diesel::insert_into(actors::table)
        .values(row)
        .returning(ActorRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts, or returns the existing actor with the same code untouched.
pub async fn insert_if_absent(
    conn: &mut AsyncPgConnection,
    row: &ActorWrite,
) -> QueryResult<Option<ActorRow>> {
    diesel::insert_into(actors::table)
        .values(row)
        .on_conflict(actors::code)
        .do_nothing()
        .returning(ActorRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    row: &ActorWrite,
) -> QueryResult<ActorRow> {
    diesel::update(actors::table.find(id))
        .set((
            row,
            actors::updated_at.eq(diesel::dsl::now),
            actors::version.eq(actors::version + 1),
        ))
        .returning(ActorRow::as_returning())
        .get_result(conn)
        .await
}

/// Soft deletion: the row stays, hidden, and can be restored.
pub async fn set_deleted(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    deleted: bool,
) -> QueryResult<ActorRow> {
    let at = deleted.then(Utc::now);
    diesel::update(actors::table.find(id))
        .set((
            actors::deleted_at.eq(at),
            actors::updated_at.eq(diesel::dsl::now),
            actors::version.eq(actors::version + 1),
        ))
        .returning(ActorRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn purge(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(actors::table.find(id)).execute(conn).await
}

/// How many records point at an actor, by kind of reference; a delete is refused while any
/// of these is non-zero.
#[derive(Debug, Default)]
pub struct Usage {
    pub actions: i64,
    pub designations: i64,
    pub members: i64,
    /// Actors whose country this actor is.
    pub nationals: i64,
}

pub async fn usage(conn: &mut AsyncPgConnection, actor: &ActorRow) -> QueryResult<Usage> {
    let actions = actions::table
        .filter(actions::deleted_at.is_null())
        .filter(
            actions::initiator_id
                .eq(actor.id)
                .or(actions::target_id.eq(actor.id))
                .or(actions::authority_id.eq(actor.id)),
        )
        .count()
        .get_result(conn)
        .await?;
    let designations = designations::table
        .inner_join(actions::table)
        .filter(designations::actor_id.eq(actor.id))
        .filter(actions::deleted_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    let members = actors::table
        .filter(actors::deleted_at.is_null())
        .filter(
            actors::parent_id
                .eq(actor.id)
                .or(actors::country.eq(&actor.code)),
        )
        .count()
        .get_result(conn)
        .await?;
    let nationals = actors::table
        .filter(actors::deleted_at.is_null())
        .filter(actors::country.eq(&actor.code))
        .count()
        .get_result(conn)
        .await?;
    Ok(Usage {
        actions,
        designations,
        members,
        nationals,
    })
}

/// True when any action or actor, deleted or not, refers to the actor.
pub async fn referenced_at_all(
    conn: &mut AsyncPgConnection,
    actor: &ActorRow,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let row: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM actions WHERE initiator_id = $1 OR target_id = $1 \
                        OR authority_id = $1)
             OR EXISTS (SELECT 1 FROM designations WHERE actor_id = $1)
             OR EXISTS (SELECT 1 FROM actors WHERE parent_id = $1 OR country = $2) AS found",
    )
    .bind::<diesel::sql_types::Uuid, _>(actor.id)
    .bind::<diesel::sql_types::Text, _>(&actor.code)
    .get_result(conn)
    .await?;
    Ok(row.found)
}

/// True when making `parent` the parent of `child` would close a loop of parents.
pub async fn parent_chain_contains(
    conn: &mut AsyncPgConnection,
    parent: Uuid,
    child: Uuid,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let row: Found = diesel::sql_query(
        "WITH RECURSIVE chain(id) AS (
             SELECT $1::uuid
             UNION
             SELECT a.parent_id FROM actors a JOIN chain c ON a.id = c.id
             WHERE a.parent_id IS NOT NULL
         )
         SELECT EXISTS (SELECT 1 FROM chain WHERE id = $2) AS found",
    )
    .bind::<diesel::sql_types::Uuid, _>(parent)
    .bind::<diesel::sql_types::Uuid, _>(child)
    .get_result(conn)
    .await?;
    Ok(row.found)
}

/// These actors and every actor they belong to (parents and countries, all the way up),
/// each with its parent's code, ordered so that an actor comes after all it belongs to:
/// the order in which they can be created.
pub async fn with_ancestors(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(ActorRow, Option<String>)>> {
    #[derive(QueryableByName)]
    struct Height {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        height: i32,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // `height`: the longest way down from it to one of `ids`, so larger for what an actor
    // belongs to than for the actor. Parents cannot loop (`parent_chain_contains`), and a
    // country is a state, which belongs to nothing; the bound is a backstop.
    let heights: Vec<Height> = diesel::sql_query(
        "WITH RECURSIVE up(id, height) AS (
             SELECT id, 0 FROM actors WHERE id = ANY($1)
             UNION
             SELECT p.id, up.height + 1
             FROM up JOIN actors a ON a.id = up.id
             JOIN actors p ON p.id = a.parent_id OR p.code = a.country
             WHERE up.height < 64
         )
         SELECT id, max(height) AS height FROM up GROUP BY id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)
    .await?;
    let height: std::collections::HashMap<Uuid, i32> =
        heights.into_iter().map(|h| (h.id, h.height)).collect();
    let all: Vec<Uuid> = height.keys().copied().collect();
    let mut rows: Vec<ActorRow> = actors::table
        .filter(actors::id.eq_any(&all))
        .select(ActorRow::as_select())
        .load(conn)
        .await?;
    rows.sort_by(|a, b| height[&b.id].cmp(&height[&a.id]).then(a.code.cmp(&b.code)));
    let codes: std::collections::HashMap<Uuid, String> =
        rows.iter().map(|r| (r.id, r.code.clone())).collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let parent = r.parent_id.and_then(|p| codes.get(&p).cloned());
            (r, parent)
        })
        .collect())
}
