//! Creating, changing and deleting actors, with the checks that need the database.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::audit;
use super::idempotency::{Once, Written};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};
use crate::input::{own_parent, ActorPatch, NewActor};
use crate::models::actor::{self, ActorRow, ActorWrite};
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::enums::{parse_stored, ActorKind};
use crate::state::AppState;
use crate::views::Actor;

pub async fn view(conn: &mut AsyncPgConnection, row: ActorRow) -> AppResult<Actor> {
    let parent = match row.parent_id {
        Some(id) => actor::refs_by_ids(conn, &[id]).await?.pop().map(|p| p.code),
        None => None,
    };
    Actor::from_row(row, parent)
}

/// A page of actors by code (`filter.limit`, one more read to know whether there is a
/// next), with their parents' codes; and the code the next page starts after. A `country`
/// filter must name a state, deleted ones included (its actors may be listed with
/// `show_deleted`).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &actor::ActorFilter,
) -> AppResult<(Vec<Actor>, Option<String>)> {
    if let Some(country) = &filter.country {
        let found = actor::refs_by_codes_with_deleted(conn, &[country]).await?;
        if !found.iter().any(|a| a.kind == ActorKind::State.as_str()) {
            return Err(AppError::bad_param(
                "country",
                format!("no state with code `{country}`"),
            ));
        }
    }
    let limit = filter.limit;
    let rows = actor::list(
        conn,
        actor::ActorFilter {
            limit: limit + 1,
            ..filter.clone()
        },
    )
    .await?;
    let (rows, more) = crate::models::one_page(rows, limit);
    let next = rows.last().filter(|_| more).map(|r| r.code.clone());
    // Parent codes for the page in one query.
    let parent_ids: Vec<_> = rows.iter().filter_map(|r| r.parent_id).collect();
    let parents = actor::refs_by_ids(conn, &parent_ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let parent = r
                .parent_id
                .and_then(|p| parents.iter().find(|a| a.id == p))
                .map(|a| a.code.clone());
            Actor::from_row(r, parent)
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((items, next))
}

pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &str,
    include_deleted: bool,
) -> AppResult<ActorRow> {
    actor::find(conn, key, include_deleted)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("actor `{key}`")))
}

/// The actor, its row locked for the rest of the transaction.
async fn lock(
    conn: &mut AsyncPgConnection,
    key: &str,
    include_deleted: bool,
    change: actor::Change,
) -> AppResult<ActorRow> {
    actor::find_for_update(conn, key, include_deleted, change)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("actor `{key}`")))
}

/// Checks an actor and resolves its references; `existing` is the actor being changed.
async fn plan(
    conn: &mut AsyncPgConnection,
    input: &NewActor,
    existing: Option<&ActorRow>,
    faults: &[FieldError],
) -> AppResult<ActorWrite> {
    let mut errors = input.check();
    let mut codes = Vec::new();
    codes.extend(input.country.as_deref());
    codes.extend(input.parent.as_deref());
    let found = actor::refs_for_write(conn, &codes).await?;
    let by_code = |code: &str| found.iter().find(|a| a.code == code);
    if let Some(country) = input.country.as_deref().filter(|c| c.len() == 3) {
        match by_code(country) {
            None => errors.push(FieldError::new(
                "country",
                format!("no state with code `{country}`; create the state first"),
            )),
            Some(a) if a.kind != ActorKind::State.as_str() => errors.push(FieldError::new(
                "country",
                format!("`{country}` is a {}, not a state", a.kind),
            )),
            Some(_) => {}
        }
    }
    let mut parent_id = None;
    if let Some(parent) = input.parent.as_deref() {
        match by_code(parent) {
            None if existing.is_none() && input.is_own_parent() => errors.push(own_parent()),
            None => errors.push(FieldError::new(
                "parent",
                format!("unknown actor code `{parent}`"),
            )),
            Some(p) => {
                parent_id = Some(p.id);
                if let Some(existing) = existing {
                    if p.id == existing.id {
                        errors.push(own_parent());
                    } else if actor::parent_chain_contains(conn, p.id, existing.id).await? {
                        errors.push(FieldError::new(
                            "parent",
                            format!("`{parent}` belongs to this actor; parents cannot form a loop"),
                        ));
                    }
                }
            }
        }
    }
    if let Some(existing) = existing {
        let old_kind: ActorKind = parse_stored(&existing.kind)?;
        if old_kind != input.kind {
            let usage = actor::usage(conn, existing).await?;
            if old_kind.is_dyad_member() && !input.kind.is_dyad_member() && usage.actions > 0 {
                errors.push(FieldError::new(
                    "kind",
                    format!(
                        "this {old_kind} takes part in {} action(s), whose initiator and target \
                         must be states or IGOs",
                        usage.actions
                    ),
                ));
            }
            if old_kind == ActorKind::State && usage.nationals > 0 {
                errors.push(FieldError::new(
                    "kind",
                    format!(
                        "this state is the country of {} actor(s); it must stay a state",
                        usage.nationals
                    ),
                ));
            }
        }
    }
    let errors = crate::validation::merge(faults, errors);
    if !errors.is_empty() {
        return Err(AppError::invalid(errors));
    }
    Ok(ActorWrite {
        code: input.code.clone(),
        name: input.name.clone(),
        kind: input.kind.as_str().to_string(),
        country: input.country.clone(),
        parent_id,
        aliases: input.aliases.clone(),
        wikidata_id: input.wikidata_id.clone(),
        description: input.description.clone(),
    })
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: NewActor,
    faults: Vec<FieldError>,
    once: Once<Actor>,
) -> AppResult<Written<Actor>> {
    let caller = caller.clone();
    super::write_once(state, once, move |conn| {
        let (caller, faults, input) = (caller.clone(), faults.clone(), input.clone());
        Box::pin(async move {
            let write = plan(conn, &input, None, &faults).await?;
            let row = actor::insert(conn, &write).await?;
            let created = view(conn, row).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Create,
                AuditEntity::Actor,
                created.id,
                None,
                Some(&created),
            )
            .await?;
            Ok(created)
        })
    })
    .await
}

/// Creates the actor unless one with its code exists; returns whether it was created.
pub async fn ensure(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: &NewActor,
) -> AppResult<bool> {
    if actor::find(conn, &input.code, true).await?.is_some() {
        return Ok(false);
    }
    let write = plan(conn, input, None, &[]).await?;
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some(row) = actor::insert_if_absent(conn, &write).await? else {
            return Ok(false);
        };
        let created = view(conn, row).await?;
        audit(
            conn,
            &caller,
            AuditOperation::Create,
            AuditEntity::Actor,
            created.id,
            None,
            Some(&created),
        )
        .await?;
        Ok(true)
    })
    .await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    key: String,
    patch: ActorPatch,
    faults: Vec<FieldError>,
    expect: super::Expect<Actor>,
) -> AppResult<Actor> {
    let caller = caller.clone();
    let updated = super::write(state, move |conn| {
        let (caller, expect, faults, key, patch) = (
            caller.clone(),
            expect.clone(),
            faults.clone(),
            key.clone(),
            patch.clone(),
        );
        Box::pin(async move {
            let change = if patch.code.is_some()
                || patch.kind.is_some()
                || patch.country.is_some()
                || patch.parent.is_some()
            {
                actor::Change::Defining
            } else {
                actor::Change::Describing
            };
            let row = lock(conn, &key, false, change).await?;
            let current = view(conn, row.clone()).await?;
            // An unreadable body is refused whatever the resource's state (422 before 412).
            if faults.is_empty() {
                expect(&current)?;
            }
            let before =
                serde_json::to_value(&current).map_err(|e| AppError::Internal(e.to_string()))?;
            let input = patch.apply(NewActor {
                code: current.code,
                name: current.name,
                kind: current.kind,
                country: current.country,
                parent: current.parent,
                aliases: current.aliases,
                wikidata_id: current.wikidata_id,
                description: current.description,
            });
            let write = plan(conn, &input, Some(&row), &faults).await?;
            super::savepoint(conn).await?;
            let outcome = async {
                let updated = actor::update(conn, row.id, &write).await?;
                if updated.country != row.country || updated.parent_id != row.parent_id {
                    authority_kept(conn, &updated, &row).await?;
                }
                if updated.name != row.name || updated.code != row.code {
                    // Actions that designate this actor find it by name in full-text search.
                    crate::models::action::refresh_designated_names(conn, row.id).await?;
                }
                let updated = view(conn, updated).await?;
                Ok((updated.clone(), updated, false))
            }
            .await;
            let Some((updated, after)) = super::settle_update(conn, &before, outcome).await? else {
                return view(conn, row).await;
            };
            audit(
                conn,
                &caller,
                AuditOperation::Update,
                AuditEntity::Actor,
                row.id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(updated)
        })
    })
    .await?;
    // This server reads its own write at once; the others drop their copy when the
    // NOTIFY of the actors trigger reaches them.
    state.actors.evict(updated.id);
    Ok(updated)
}

/// An authority must act for the initiator of each action it is named in (`actor_acts_for`):
/// a new country or parent that breaks that for any live action is refused, naming the
/// fields changed, rather than leaving actions that no later edit of theirs could pass.
async fn authority_kept(
    conn: &mut AsyncPgConnection,
    updated: &ActorRow,
    before: &ActorRow,
) -> AppResult<()> {
    let (count, ids) = actor::authority_broken(conn, updated.id).await?;
    if count == 0 {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(uuid::Uuid::to_string).collect();
    let more = if count > ids.len() as i64 {
        ", …"
    } else {
        ""
    };
    let message = format!(
        "{count} action(s) name this actor, or a body that belongs to it, as the authority of \
         an initiator it would no longer act for ({}{more}); change their authority first",
        ids.join(", ")
    );
    let mut errors = Vec::new();
    if updated.country != before.country {
        errors.push(FieldError::new("country", message.clone()));
    }
    if updated.parent_id != before.parent_id {
        errors.push(FieldError::new("parent", message));
    }
    Err(AppError::invalid(errors))
}

/// Deleting an actor that anything still refers to is refused with a 409 that says what.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    key: String,
    expect: super::Expect<Actor>,
) -> AppResult<()> {
    let caller = caller.clone();
    super::write(state, move |conn| {
        let (caller, expect, key) = (caller.clone(), expect.clone(), key.clone());
        Box::pin(async move {
            let row = lock(conn, &key, false, actor::Change::Defining).await?;
            let current = view(conn, row.clone()).await?;
            expect(&current)?;
            let usage = actor::usage(conn, &row).await?;
            let mut uses = Vec::new();
            if usage.actions > 0 {
                uses.push(format!(
                    "initiator, target or authority of {} action(s)",
                    usage.actions
                ));
            }
            if usage.designations > 0 {
                uses.push(format!("designated by {} action(s)", usage.designations));
            }
            if usage.members > 0 {
                uses.push(format!(
                    "country or parent of {} other actor(s)",
                    usage.members
                ));
            }
            if !uses.is_empty() {
                return Err(AppError::Conflict(format!(
                    "actor `{}` is still referenced: {}; remove those references first",
                    row.code,
                    uses.join("; ")
                )));
            }
            let deleted = actor::set_deleted(conn, row.id, true).await?;
            let deleted = view(conn, deleted).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Delete,
                AuditEntity::Actor,
                row.id,
                Some(&current),
                Some(&deleted),
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Brings a deleted actor back; its country and parent must be there.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    key: String,
    expect: super::Expect<Actor>,
    once: Once<Actor>,
) -> AppResult<Written<Actor>> {
    let caller = caller.clone();
    super::write_once(state, once, move |conn| {
        let (caller, key, expect) = (caller.clone(), key.clone(), expect.clone());
        Box::pin(async move {
            let row = lock(conn, &key, true, actor::Change::Defining).await?;
            let before = view(conn, row.clone()).await?;
            // The caller's precondition first: a 412 says the actor changed since it was read.
            expect(&before)?;
            if row.deleted_at.is_none() {
                return Err(AppError::Conflict(format!(
                    "actor `{}` is not deleted",
                    row.code
                )));
            }
            let mut needed: Vec<&str> = Vec::new();
            needed.extend(before.country.as_deref());
            needed.extend(before.parent.as_deref());
            let live = actor::refs_for_write(conn, &needed).await?;
            let missing: Vec<&str> = needed
                .into_iter()
                .filter(|c| !live.iter().any(|a| a.code == *c))
                .collect();
            if !missing.is_empty() {
                return Err(AppError::Conflict(format!(
                    "actor `{}` belongs to deleted actors; restore them first: {}",
                    row.code,
                    missing.join(", ")
                )));
            }
            let restored = actor::set_deleted(conn, row.id, false).await?;
            let after = view(conn, restored).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Restore,
                AuditEntity::Actor,
                row.id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

/// Removes an actor for good (admin); refused while any record, deleted or not, refers to it.
/// `expect` sees it as `GET ?show_deleted=true` shows it, deleted or not.
pub async fn purge(
    state: &AppState,
    caller: &Caller,
    key: String,
    expect: super::Expect<Actor>,
) -> AppResult<()> {
    let caller = caller.clone();
    super::write(state, move |conn| {
        let (caller, expect, key) = (caller.clone(), expect.clone(), key.clone());
        Box::pin(async move {
            let row = lock(conn, &key, true, actor::Change::Defining).await?;
            let before = view(conn, row.clone()).await?;
            expect(&before)?;
            if actor::referenced_at_all(conn, &row).await? {
                return Err(AppError::Conflict(format!(
                    "actor `{}` is still referenced by actions or actors (deleted ones \
                     included); purge those first",
                    row.code
                )));
            }
            // Their filters keep ids: after a purge they would name an id no request can
            // give back, and match nothing if the code were used again.
            let subscriptions = crate::models::webhook::naming_actor(conn, row.id).await?;
            if !subscriptions.is_empty() {
                let ids: Vec<String> = subscriptions.iter().map(uuid::Uuid::to_string).collect();
                return Err(AppError::Conflict(format!(
                    "actor `{}` is named in the filters of webhook subscription(s) {}; change \
                     or delete those first",
                    row.code,
                    ids.join(", ")
                )));
            }
            actor::purge(conn, row.id).await?;
            audit(
                conn,
                &caller,
                AuditOperation::Purge,
                AuditEntity::Actor,
                row.id,
                Some(&before),
                None,
            )
            .await?;
            Ok(())
        })
    })
    .await
}
