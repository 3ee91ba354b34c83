//! The stored action documents (migration 000017): reads of them and of the actors they
//! embed. (The backfill after the migration is `db::migrate`'s.)

use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actor::ActorRefRow;
use super::sql::{Bind, Sql};

/// A stored document, markers and all (see `documents`).
#[derive(Debug, QueryableByName)]
pub struct Stored {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = Text)]
    pub body: String,
}

/// One action's document; a deleted action's only when `include_deleted`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    include_deleted: bool,
) -> QueryResult<Option<Stored>> {
    let mut sql = Sql::new();
    let id = sql.bind(Bind::Uuid(id));
    let live = if include_deleted { "" } else { " AND live" };
    sql.push(&format!(
        "SELECT id, version, body FROM action_documents WHERE id = {id}{live}"
    ));
    sql.get_result(conn).await.optional()
}

/// The documents of these actions (deleted ones too), in no particular order.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Stored>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new();
    let ids = sql.bind(Bind::Uuids(ids.to_vec()));
    sql.push(&format!(
        "SELECT id, version, body FROM action_documents WHERE id = ANY({ids})"
    ));
    sql.load(conn).await
}

/// Renders now what this transaction changed, so that it can read the documents back.
pub async fn flush(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    // Kept prepared (diesel's `sql_query` would parse and plan it on every write).
    Sql::text("SELECT flush_action_documents()")
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(QueryableByName)]
struct ActorVersion {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// Actors as documents embed them, with their versions.
pub async fn actors(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(ActorRefRow, i64)>> {
    let mut sql = Sql::new();
    let ids = sql.bind(Bind::Uuids(ids.to_vec()));
    sql.push(&format!(
        "SELECT id, code, name, kind, version FROM actors WHERE id = ANY({ids})"
    ));
    let rows: Vec<ActorVersion> = sql.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let actor = ActorRefRow {
                id: r.id,
                code: r.code,
                name: r.name,
                kind: r.kind,
            };
            (actor, r.version)
        })
        .collect())
}

/// How many bytes the documents of an episode's actions (as `episode` reads them) come to;
/// their sizes are read without their texts.
pub async fn episode_bytes(conn: &mut AsyncPgConnection, episode: Uuid) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Bytes {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Bytes = diesel::sql_query(
        "SELECT coalesce(sum(octet_length(d.body)), 0)::bigint AS n \
         FROM actions a JOIN action_documents d ON d.id = a.id WHERE a.episode_id = $1",
    )
    .bind::<SqlUuid, _>(episode)
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// The documents of an episode's actions, oldest first (by `announced_on`, then id).
pub async fn episode(conn: &mut AsyncPgConnection, episode: Uuid) -> QueryResult<Vec<Stored>> {
    diesel::sql_query(
        "SELECT d.id, d.version, d.body FROM actions a JOIN action_documents d ON d.id = a.id \
         WHERE a.episode_id = $1 ORDER BY a.announced_on, a.id",
    )
    .bind::<SqlUuid, _>(episode)
    .load(conn)
    .await
}
