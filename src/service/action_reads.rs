//! Reading actions beyond one document: pages of a list (with their documents and the
//! optional total), an action's history, the actions designating an actor with their status
//! on a day. Handlers parse and answer; the queries are in `models`.

use std::collections::HashMap;
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::actions::documents;
use crate::documents::{ActorCache, Doc};
use crate::error::{AppError, AppResult};
use crate::limits::{MAX_HISTORY_EDITS, MAX_HISTORY_STATUS_CHANGES, MAX_PAGE_BYTES};
use crate::models::action;
use crate::models::action_list::{self, ActionFilter, Cursor};
use crate::models::audit::{self, AuditEntity};
use crate::models::enums::{parse_stored, ActionSort};
use crate::views::{ActionHistory, DesignationOn, Edit, StatusChange};

/// How a page of actions is asked for: its order, size, where it starts, and whether the
/// exact total is wanted.
#[derive(Debug, Clone, Copy)]
pub struct PageAsk {
    pub sort: ActionSort,
    pub limit: i64,
    pub after: Option<Cursor>,
    pub include_total: bool,
}

/// A page of actions: their documents, where the next page starts, the total if asked.
pub struct Page {
    pub docs: Vec<Doc>,
    pub next: Option<Cursor>,
    pub total: Option<i64>,
}

/// One page of the actions `filter` selects (one more row is read than asked, to know
/// whether there is a next).
pub async fn page(
    conn: &mut AsyncPgConnection,
    actors: &Arc<ActorCache>,
    filter: &ActionFilter,
    ask: PageAsk,
) -> AppResult<Page> {
    let batch = action_list::page(
        conn,
        filter,
        ask.sort,
        ask.after,
        ask.limit + 1,
        MAX_PAGE_BYTES,
    )
    .await?;
    let (rows, more) = crate::models::one_page(batch.rows, ask.limit);
    let more = more || batch.cut;
    let next = rows.last().filter(|_| more).map(|r| r.cursor(ask.sort));
    let docs = documents(conn, actors, rows).await?;
    let total = match ask.include_total {
        true => Some(action_list::total(conn, filter).await?),
        false => None,
    };
    Ok(Page { docs, next, total })
}

/// A 404 unless the live action `id` exists.
pub async fn exists(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<()> {
    match action::find(conn, id, false).await? {
        Some(_) => Ok(()),
        None => Err(super::actions::not_live(conn, id).await),
    }
}

/// The newest status changes and edits of an action (live, or deleted too with
/// `show_deleted`), each oldest first, with how many older ones there are besides.
pub async fn history(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    show_deleted: bool,
) -> AppResult<ActionHistory> {
    if !show_deleted {
        exists(conn, id).await?;
    } else if action::find(conn, id, true).await?.is_none() {
        return Err(AppError::not_found(format_args!("action {id}")));
    }
    let (statuses, older_items) = action::history(conn, id, MAX_HISTORY_STATUS_CHANGES).await?;
    let (edits, older_edits) =
        audit::edits_of(conn, AuditEntity::Action, id, MAX_HISTORY_EDITS).await?;
    Ok(ActionHistory {
        items: statuses
            .into_iter()
            .map(StatusChange::from_row)
            .collect::<AppResult<Vec<_>>>()?,
        older_items,
        edits: edits.into_iter().map(Edit::from_row).collect(),
        older_edits,
        next_page_token: None,
    })
}

/// A page of the actions designating the actor named by `key` (UUID or code), oldest
/// first, each with its status on `day`; and where the next page starts.
pub async fn designations_on(
    conn: &mut AsyncPgConnection,
    actors: &Arc<ActorCache>,
    key: &str,
    day: chrono::NaiveDate,
    after: Option<Cursor>,
    limit: i64,
) -> AppResult<(Vec<DesignationOn>, Option<Cursor>)> {
    let actor = super::actors::get(conn, key, false).await?;
    let filter = ActionFilter {
        designated: vec![actor.id],
        ..Default::default()
    };
    let ask = PageAsk {
        sort: ActionSort::OldestFirst,
        limit,
        after,
        include_total: false,
    };
    let page = page(conn, actors, &filter, ask).await?;
    let docs = page
        .docs
        .iter()
        .map(crate::documents::parse)
        .collect::<AppResult<Vec<_>>>()?;
    let ids: Vec<Uuid> = docs.iter().map(|a| a.id).collect();
    let statuses: HashMap<Uuid, (Option<String>, bool)> = action::status_on(conn, &ids, day)
        .await?
        .into_iter()
        .map(|(id, status, in_force)| (id, (status, in_force)))
        .collect();
    let items = docs
        .into_iter()
        .map(|a| {
            let (status_on, in_force) = match statuses.get(&a.id) {
                Some((status, in_force)) => {
                    (status.as_deref().map(parse_stored).transpose()?, *in_force)
                }
                None => (None, false),
            };
            let listed_on = a
                .designations
                .iter()
                .find(|d| d.actor.id == actor.id)
                .and_then(|d| d.listed_on);
            Ok(DesignationOn {
                action: a,
                listed_on,
                status_on,
                in_force,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((items, page.next))
}
