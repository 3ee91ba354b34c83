//! Database rows and the queries on them, one module per table family; handlers never build
//! SQL themselves.

pub mod action;
pub mod action_list;
pub mod action_type;
pub mod actor;
pub mod api_key;
pub mod audit;
pub mod change;
pub mod document;
pub mod enums;
pub mod import;
pub mod server_secret;
pub mod sql;
pub mod webhook;

/// Cuts a `limit + 1` fetch to one page; true when there is more.
pub fn one_page<R>(mut rows: Vec<R>, limit: i64) -> (Vec<R>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

/// How many rows there are besides the `shown` newest of at most `limit`: none unless the
/// limit was reached, else what `count` (of them all) says beyond those shown.
pub async fn besides(
    shown: usize,
    limit: i64,
    count: impl std::future::Future<Output = diesel::QueryResult<i64>>,
) -> diesel::QueryResult<i64> {
    match shown as i64 {
        shown if shown == limit => Ok(count.await? - shown),
        _ => Ok(0),
    }
}
