//! Creating, changing and deleting actions, each in the transaction that checks it (the
//! rules are in `checks`). Used by the HTTP handlers and `riposte seed`.

use std::sync::Arc;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::audit;
use super::idempotency::{Once, Written};
use crate::auth::Caller;
use crate::documents::{ActorCache, Doc};
use crate::error::{AppError, AppResult, FieldError};
use crate::input::*;
use crate::limits::*;
use crate::models::action::{self, NewStatusChange};
use crate::models::action_list::Listed;
use crate::models::actor;
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::document;
use crate::state::AppState;
use crate::views::Action;

mod checks;
pub mod messages;
pub(crate) use checks::{
    action_write, check_references, check_static, initial_history, resolved_precision,
};
use checks::{apply_patch, list_rows, plan, write_lists, Kept};

/// Completed documents of listed rows, in the rows' order.
pub async fn documents(
    conn: &mut AsyncPgConnection,
    actors: &Arc<ActorCache>,
    rows: Vec<Listed>,
) -> AppResult<Vec<Doc>> {
    let stored = rows
        .into_iter()
        .map(Listed::stored)
        .collect::<diesel::QueryResult<Vec<_>>>()?;
    actors.complete(conn, stored).await
}

/// One action's document as stored (no flush: reads may run on a replica).
pub async fn read(
    conn: &mut AsyncPgConnection,
    actors: &Arc<ActorCache>,
    id: Uuid,
    include_deleted: bool,
) -> AppResult<Doc> {
    let Some(stored) = document::find(conn, id, include_deleted).await? else {
        return Err(not_live(conn, id).await);
    };
    Ok(actors.complete(conn, vec![stored]).await?.remove(0))
}

/// The 404 for an action that is not live: a deleted one is said to be, with how to see it
/// and bring it back ("does not exist" sent people looking for a typo in the id).
pub async fn not_live(conn: &mut AsyncPgConnection, id: Uuid) -> AppError {
    match document::find(conn, id, true).await {
        Ok(Some(_)) => deleted(id),
        Ok(None) => AppError::not_found(format_args!("action {id}")),
        Err(e) => e.into(),
    }
}

fn deleted(id: Uuid) -> AppError {
    AppError::NotFound(format!(
        "action {id} is deleted; `GET /v1/actions/{id}?show_deleted=true` shows it and \
         `POST /v1/actions/{id}/restore` brings it back"
    ))
}

/// Inside a write: the action's document as this transaction left it (rendered now), and
/// the same as the typed view.
pub async fn current(
    conn: &mut AsyncPgConnection,
    actors: &Arc<ActorCache>,
    id: Uuid,
    include_deleted: bool,
) -> AppResult<(Doc, Action)> {
    document::flush(conn).await?;
    let doc = read(conn, actors, id, include_deleted).await?;
    let action = crate::documents::parse(&doc)?;
    Ok((doc, action))
}

/// Creates an action with everything embedded in it. `id` is chosen by the caller only for
/// seed data; the API always lets the server choose.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: NewAction,
    faults: Vec<FieldError>,
    id: Option<Uuid>,
    once: Once<Doc>,
) -> AppResult<Written<Doc>> {
    let caller = caller.clone();
    let types = state.types.clone();
    let actors = state.actors.clone();
    let id = id.unwrap_or_else(Uuid::now_v7);
    super::write_once(state, once, move |conn| {
        let (actors, caller, faults, input, types) = (
            actors.clone(),
            caller.clone(),
            faults.clone(),
            input.clone(),
            types.clone(),
        );
        Box::pin(async move {
            if !input.responds_to.is_empty() {
                action::lock_graph(conn).await?;
            }
            let plan = plan(conn, &types, &input, None, &Kept::default(), &faults).await?;
            let history = initial_history(&input, &plan.write);
            action::insert(conn, id, &plan.write).await?;
            let (designations, sources, responses) = list_rows(id, &plan);
            let history: Vec<NewStatusChange> = history
                .into_iter()
                .map(|e| NewStatusChange {
                    action_id: id,
                    status: e.status.as_str().to_string(),
                    changed_on: e.on.0,
                    source_url: e.source_url,
                    note: e.note,
                })
                .collect();
            action::insert_lists(conn, &designations, &sources, &responses, &history).await?;
            let (doc, created) = current(conn, &actors, id, false).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Create,
                AuditEntity::Action,
                id,
                None,
                Some(&created),
            )
            .await?;
            Ok(doc)
        })
    })
    .await
}

/// Applies a patch. The patched action is checked exactly like a new one, plus the rules
/// that involve its existing answers and history.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    patch: ActionPatch,
    faults: Vec<FieldError>,
    expect: super::Expect<Doc>,
) -> AppResult<Doc> {
    let caller = caller.clone();
    let types = state.types.clone();
    let actors = state.actors.clone();
    super::write(state, move |conn| {
        let (actors, caller, expect, faults, patch, types) = (
            actors.clone(),
            caller.clone(),
            expect.clone(),
            faults.clone(),
            patch.clone(),
            types.clone(),
        );
        Box::pin(async move {
            // Also every field the graph triggers read (migration 000008): taken before the
            // row lock, so that their refresh of this action's neighbours is serialised with
            // other graph writes in one lock order. A type change can change the severity.
            let touches_graph = patch.responds_to.is_some()
                || patch.announced_on.is_some()
                || patch.initiator.is_some()
                || patch.target.is_some()
                || patch.severity.is_some()
                || patch.type_.is_some();
            if touches_graph {
                action::lock_graph(conn).await?;
            }
            lock(conn, id).await?;
            let (doc, current) = self::current(conn, &actors, id, false).await?;
            // An unreadable body is refused whatever the resource's state (422 before 412);
            // rules that read the current state come after the caller's expectation of it.
            if faults.is_empty() {
                expect(&doc)?;
            }
            let before =
                serde_json::to_value(&current).map_err(|e| AppError::Internal(e.to_string()))?;
            let old_status = current.status;
            let status_on = patch.status_changed_on;
            let status_source = patch.status_source_url.clone();
            let status_note = patch.status_note.clone();
            let (replace_designations, replace_sources, replace_responses) = (
                patch.designations.is_some(),
                patch.sources.is_some(),
                patch.responds_to.is_some(),
            );
            let kept = Kept {
                source_urls: current.sources.iter().map(|s| s.url.clone()).collect(),
                responds_to: !replace_responses,
            };
            let input = apply_patch(&types, current, patch);
            let plan = plan(conn, &types, &input, Some(id), &kept, &faults).await?;

            let mut errors = Vec::new();
            let new_status = input.status;
            let mut change = None;
            if new_status != old_status {
                let on = status_on
                    .map(|d| d.0)
                    .unwrap_or_else(|| Utc::now().date_naive());
                let last = action::last_status_change(conn, id).await?;
                if let Some(last) = last.filter(|l| l.changed_on > on) {
                    let day = match status_on {
                        Some(_) => on.to_string(),
                        None => format!("today ({on}), the day taken without status_changed_on,"),
                    };
                    errors.push(FieldError::new(
                        "status_changed_on",
                        format!(
                            "{day} is before the last recorded status change ({}, {}); give \
                             status_changed_on on or after {}",
                            last.status, last.changed_on, last.changed_on
                        ),
                    ));
                }
                if let Some(url) = &status_source {
                    check_url(&mut errors, "status_source_url", url);
                }
                check_text(
                    &mut errors,
                    "status_note",
                    status_note.as_deref(),
                    MAX_SHORT_TEXT_LEN,
                    false,
                );
                change = Some(NewStatusChange {
                    action_id: id,
                    status: new_status.as_str().to_string(),
                    changed_on: on,
                    source_url: status_source,
                    note: status_note,
                });
            } else if status_on.is_some() || status_source.is_some() || status_note.is_some() {
                errors.push(FieldError::new(
                    "status_changed_on",
                    "status_changed_on, status_source_url and status_note describe a status \
                     change; give a new `status` with them",
                ));
            }
            if !errors.is_empty() {
                return Err(AppError::invalid(errors));
            }
            super::savepoint(conn).await?;
            let outcome = async {
                action::update(conn, id, &plan.write).await?;
                write_lists(
                    conn,
                    id,
                    &plan,
                    replace_designations,
                    replace_sources,
                    replace_responses,
                )
                .await?;
                let status_changed = change.is_some();
                if let Some(change) = change {
                    action::insert_status_changes(conn, &[change]).await?;
                }
                let (doc, updated) = self::current(conn, &actors, id, false).await?;
                Ok((doc, updated, status_changed))
            }
            .await;
            let Some((doc, after)) = super::settle_update(conn, &before, outcome).await? else {
                return Ok(doc);
            };
            audit(
                conn,
                &caller,
                AuditOperation::Update,
                AuditEntity::Action,
                id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(doc)
        })
    })
    .await
}

/// Deletes an action with its designations, sources, history and its own answers. Refused
/// while other actions answer it: they would lose what they respond to.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    expect: super::Expect<Doc>,
) -> AppResult<()> {
    let caller = caller.clone();
    let actors = state.actors.clone();
    super::write(state, move |conn| {
        let (actors, caller, expect) = (actors.clone(), caller.clone(), expect.clone());
        Box::pin(async move {
            action::lock_graph(conn).await?;
            lock(conn, id).await?;
            let (doc, current) = self::current(conn, &actors, id, false).await?;
            expect(&doc)?;
            let answers = action::answered_by(conn, id, false).await?;
            if !answers.is_empty() {
                let ids: Vec<String> = answers.iter().map(|a| a.0.to_string()).collect();
                return Err(AppError::Conflict(format!(
                    "{} action(s) respond to this action ({}); remove this action from their \
                     responds_to first",
                    ids.len(),
                    ids.join(", ")
                )));
            }
            action::set_deleted(conn, id, true).await?;
            let (_, deleted) = self::current(conn, &actors, id, true).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Delete,
                AuditEntity::Action,
                id,
                Some(&current),
                Some(&deleted),
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Locks the action's row for the rest of the transaction; 404 when there is none (or it is
/// deleted).
async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<()> {
    match action::lock(conn, id).await? {
        Some(false) => Ok(()),
        Some(true) => Err(deleted(id)),
        None => Err(AppError::not_found(format_args!("action {id}"))),
    }
}

/// Brings a deleted action back. Everything it refers to must be there.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    expect: super::Expect<Doc>,
    once: Once<Doc>,
) -> AppResult<Written<Doc>> {
    let caller = caller.clone();
    let actors = state.actors.clone();
    super::write_once(state, once, move |conn| {
        let (actors, caller, expect) = (actors.clone(), caller.clone(), expect.clone());
        Box::pin(async move {
            action::lock_graph(conn).await?;
            let Some(deleted) = action::lock(conn, id).await? else {
                return Err(AppError::not_found(format_args!("action {id}")));
            };
            let (doc, before) = current(conn, &actors, id, true).await?;
            // The caller's precondition first: a 412 says the action changed since it was read.
            expect(&doc)?;
            if !deleted {
                return Err(AppError::Conflict(format!("action {id} is not deleted")));
            }
            let mut missing = Vec::new();
            let mut codes = vec![before.initiator.code.as_str(), before.target.code.as_str()];
            codes.extend(before.authority.as_ref().map(|a| a.code.as_str()));
            codes.extend(before.designations.iter().map(|d| d.actor.code.as_str()));
            let live = actor::refs_for_write(conn, &codes).await?;
            for code in codes {
                if !live.iter().any(|a| a.code == code) {
                    missing.push(format!("actor `{code}`"));
                }
            }
            let targets: Vec<Uuid> = before.responds_to.iter().map(|r| r.action).collect();
            let live = action::dates(conn, &targets).await?;
            for t in targets {
                if !live.iter().any(|(id, _, _)| *id == t) {
                    missing.push(format!("action {t}"));
                }
            }
            if !missing.is_empty() {
                return Err(AppError::Conflict(format!(
                    "action {id} refers to deleted records; restore them first: {}",
                    missing.join(", ")
                )));
            }
            // Its authority's country or parent may have changed while it was deleted (the
            // actor change checks live actions only).
            if let Some(authority) = &before.authority {
                if !actor::acts_for(conn, authority.id, before.initiator.id).await? {
                    return Err(AppError::Conflict(format!(
                        "action {id}'s authority `{}` no longer acts for its initiator `{}` \
                         (its country or parent changed since the action was deleted); give \
                         the authority back its country or parent first",
                        authority.code, before.initiator.code
                    )));
                }
            }
            action::set_deleted(conn, id, false).await?;
            let (doc, after) = current(conn, &actors, id, false).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Restore,
                AuditEntity::Action,
                id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(doc)
        })
    })
    .await
}

/// Removes an action for good (admin). Refused while any action, deleted or not, answers it.
/// `expect` sees it as `GET ?show_deleted=true` shows it, deleted or not.
pub async fn purge(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    expect: super::Expect<Doc>,
) -> AppResult<()> {
    let caller = caller.clone();
    let actors = state.actors.clone();
    super::write(state, move |conn| {
        let (actors, caller, expect) = (actors.clone(), caller.clone(), expect.clone());
        Box::pin(async move {
            action::lock_graph(conn).await?;
            if action::lock(conn, id).await?.is_none() {
                return Err(AppError::not_found(format_args!("action {id}")));
            }
            let (doc, before) = current(conn, &actors, id, true).await?;
            expect(&doc)?;
            let answers = action::answered_by(conn, id, true).await?;
            if !answers.is_empty() {
                let ids: Vec<String> = answers.iter().map(|a| a.0.to_string()).collect();
                return Err(AppError::Conflict(format!(
                    "{} action(s), deleted or not, respond to this action ({}); purge them or \
                     change their responds_to first",
                    ids.len(),
                    ids.join(", ")
                )));
            }
            action::purge(conn, id).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Purge,
                AuditEntity::Action,
                id,
                Some(&before),
                None,
            )
            .await?;
            Ok(())
        })
    })
    .await
}
