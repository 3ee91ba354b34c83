//! Secrets a server keeps in its database (migration 000010), shared by every process on it.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::server_secrets;

/// The secret called `name`, stored as `fresh` if there is none yet. Concurrent first starts
/// agree: the first insert wins and everyone reads what it stored.
pub async fn get_or_create(
    conn: &mut AsyncPgConnection,
    name: &str,
    fresh: &[u8],
) -> QueryResult<Vec<u8>> {
    diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::secret.eq(fresh),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    server_secrets::table
        .find(name)
        .select(server_secrets::secret)
        .first(conn)
        .await
}
