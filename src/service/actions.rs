//! Creating, changing and deleting actions: every rule an action must satisfy, checked in
//! the same transaction that writes it. Used by the HTTP handlers and `riposte seed`; imports
//! use its checks and row building line by line (`import::stage`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::audit;
use super::idempotency::{Once, Written};
use crate::auth::Caller;
use crate::documents::{ActorCache, Doc};
use crate::error::{AppError, AppResult, FieldError};
use crate::input::*;
use crate::limits::*;
use crate::models::action::{
    self, ActionWrite, DesignationRow, NewStatusChange, ResponseRow, SourceRow,
};
use crate::models::action_list::Listed;
use crate::models::actor::{self, ActorRefRow};
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::document;
use crate::models::enums::{parse_stored, ActionStatus, ActorKind, DatePrecision};
use crate::state::AppState;
use crate::taxonomy::ActionTypes;
use crate::validation::merge;
use crate::views::Action;

/// An action that passed every check, ready to be written.
struct Plan {
    write: ActionWrite,
    designations: Vec<(Uuid, Option<NaiveDate>)>,
    sources: Vec<SourceInput>,
    responds_to: Vec<ResponseInput>,
}

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
    let stored = document::find(conn, id, include_deleted)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("action {id}")))?;
    Ok(actors.complete(conn, vec![stored]).await?.remove(0))
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
                    errors.push(FieldError::new(
                        "status_changed_on",
                        format!(
                            "{on} is before the last recorded status change ({}, {}); \
                             give status_changed_on",
                            last.status, last.changed_on
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
        _ => Err(AppError::not_found(format_args!("action {id}"))),
    }
}

/// Brings a deleted action back. Everything it refers to must be there.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    once: Once<Doc>,
) -> AppResult<Written<Doc>> {
    let caller = caller.clone();
    let actors = state.actors.clone();
    super::write_once(state, once, move |conn| {
        Box::pin(async move {
            action::lock_graph(conn).await?;
            match action::lock(conn, id).await? {
                None => return Err(AppError::not_found(format_args!("action {id}"))),
                Some(false) => {
                    return Err(AppError::Conflict(format!("action {id} is not deleted")))
                }
                Some(true) => {}
            }
            let (_, before) = current(conn, &actors, id, true).await?;
            let mut missing = Vec::new();
            let mut codes = vec![before.initiator.code.as_str(), before.target.code.as_str()];
            codes.extend(before.authority.as_ref().map(|a| a.code.as_str()));
            codes.extend(before.designations.iter().map(|d| d.actor.code.as_str()));
            let live = actor::refs_by_codes(conn, &codes).await?;
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

/// The current action as a complete input, with the patch laid over it.
fn apply_patch(types: &ActionTypes, current: Action, p: ActionPatch) -> NewAction {
    let mut severity = current.severity;
    if let Some(new_type) = &p.type_ {
        // A severity that was the old type's default follows the type; an override stays.
        let old_default = types.lookup(&current.type_).map(|t| t.default_severity);
        if p.severity.is_none() && old_default == Some(current.severity) {
            if let Some(t) = types.lookup(new_type) {
                severity = t.default_severity;
            }
        }
    }
    let announced_on = FuzzyDate {
        date: current.announced_on,
        precision: current.date_precision,
    };
    NewAction {
        title: p.title.unwrap_or(current.title),
        summary: p.summary.unwrap_or(current.summary),
        initiator: p.initiator.unwrap_or(current.initiator.code),
        target: p.target.unwrap_or(current.target.code),
        authority: p
            .authority
            .unwrap_or_else(|| current.authority.map(|a| a.code)),
        type_: p.type_.unwrap_or(current.type_),
        status: p.status.unwrap_or(current.status),
        announced_on: p.announced_on.unwrap_or(announced_on),
        date_precision: p.date_precision,
        effective_from: p.effective_from.unwrap_or(current.effective_from.map(Day)),
        effective_to: p.effective_to.unwrap_or(current.effective_to.map(Day)),
        legal_basis: p.legal_basis.unwrap_or(current.legal_basis),
        program: p.program.unwrap_or(current.program),
        severity: Some(p.severity.unwrap_or(severity)),
        tags: p.tags.unwrap_or(current.tags),
        designations: p.designations.unwrap_or_else(|| {
            current
                .designations
                .into_iter()
                .map(|d| DesignationInput {
                    actor: d.actor.code,
                    listed_on: d.listed_on.map(Day),
                })
                .collect()
        }),
        sources: p.sources.unwrap_or_else(|| {
            current
                .sources
                .into_iter()
                .map(|s| SourceInput {
                    url: s.url,
                    publisher: s.publisher,
                    published_on: s.published_on.map(Day),
                    quote: s.quote,
                })
                .collect()
        }),
        responds_to: p.responds_to.unwrap_or_else(|| {
            current
                .responds_to
                .into_iter()
                .map(|r| ResponseInput {
                    action: r.action,
                    relation: r.relation,
                })
                .collect()
        }),
        status_history: None,
        external_id: current.external_id,
        source_dataset: current.source_dataset,
    }
}

/// What an update keeps of the stored action. Its checks are about what the client sends:
/// a value kept is not what a failure is blamed on.
#[derive(Default)]
struct Kept {
    /// Source URLs stored before the URL rule tightened stay acceptable on their action.
    source_urls: HashSet<String>,
    /// The answers are the stored ones: an answer dated after the action is the new date's
    /// fault, named `announced_on`.
    responds_to: bool,
}

/// Every check of an action, reporting all failures at once, with `faults` (the fields of
/// the body that could not be read; see `validation`).
async fn plan(
    conn: &mut AsyncPgConnection,
    types: &ActionTypes,
    input: &NewAction,
    existing: Option<Uuid>,
    kept: &Kept,
    faults: &[FieldError],
) -> AppResult<Plan> {
    let mut errors = check_static_keeping(input, &kept.source_urls);
    if !over_limit(input).is_empty() {
        // Looking up thousands of codes would cost what the limits are there to bound.
        return Err(AppError::invalid(merge(faults, errors)));
    }

    // Actor codes, resolved in one query.
    let mut codes: Vec<&str> = vec![&input.initiator, &input.target];
    codes.extend(input.authority.as_deref());
    codes.extend(input.designations.iter().map(|d| d.actor.as_str()));
    let found: HashMap<String, ActorRefRow> = actor::refs_by_codes(conn, &codes)
        .await?
        .into_iter()
        .map(|a| (a.code.clone(), a))
        .collect();
    let authority_acts = match (
        input.authority.as_ref().and_then(|c| found.get(c)),
        found.get(&input.initiator),
    ) {
        (Some(authority), Some(initiator)) => {
            actor::acts_for(conn, authority.id, initiator.id).await?
        }
        _ => true,
    };
    check_references(types, input, &found, authority_acts, &mut errors);

    // The response graph: earlier actions only, no self-edges, no cycles.
    let precision = resolved_precision(input).unwrap_or(DatePrecision::Day);
    let latest_self = FuzzyDate::latest(input.announced_on.date, precision);
    let targets: Vec<Uuid> = input.responds_to.iter().map(|r| r.action).collect();
    let dates: HashMap<Uuid, NaiveDate> = action::dates(conn, &targets)
        .await?
        .into_iter()
        .map(|(id, date, _)| (id, date))
        .collect();
    let missing: Vec<Uuid> = targets
        .iter()
        .copied()
        .filter(|t| !dates.contains_key(t))
        .collect();
    let deleted = action::deleted_among(conn, &missing).await?;
    let mut answered = HashSet::new();
    for (i, r) in input.responds_to.iter().enumerate() {
        let field = format!("responds_to[{i}].action");
        if Some(r.action) == existing {
            errors.push(FieldError::new(field, "an action cannot respond to itself"));
        } else if !answered.insert(r.action) {
            errors.push(FieldError::new(
                field,
                format!("action {} is listed twice", r.action),
            ));
        } else {
            match dates.get(&r.action) {
                None if deleted.contains(&r.action) => errors.push(FieldError::new(
                    field,
                    format!(
                        "action {} is deleted; restore it first, or answer another",
                        r.action
                    ),
                )),
                None => errors.push(FieldError::new(
                    field,
                    format!("no action with id {}", r.action),
                )),
                Some(date) if *date > latest_self && kept.responds_to => {
                    errors.push(FieldError::new(
                        "announced_on",
                        format!(
                            "this action responds to action {}, announced on {date}, so it \
                             cannot be dated before that",
                            r.action
                        ),
                    ))
                }
                Some(date) if *date > latest_self => errors.push(FieldError::new(
                    field,
                    format!(
                        "action {} was announced on {date}, after this action ({}); an action \
                         can only respond to earlier ones",
                        r.action, input.announced_on.date
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    if let Some(id) = existing {
        let clean: Vec<Uuid> = targets.iter().copied().filter(|t| *t != id).collect();
        if !clean.is_empty() && action::reaches(conn, &clean, id).await? {
            errors.push(FieldError::new(
                "responds_to",
                "these responses would close a cycle: one of the answered actions already \
                 (directly or through others) responds to this action",
            ));
        }
        // Actions that answer this one must stay no earlier than it.
        for (responder, date, precision) in action::answered_by(conn, id, true).await? {
            let precision: DatePrecision = parse_stored(&precision)?;
            if FuzzyDate::latest(date, precision) < input.announced_on.date {
                errors.push(FieldError::new(
                    "announced_on",
                    format!(
                        "action {responder}, announced on {date}, responds to this action, so \
                         this action cannot be dated after that"
                    ),
                ));
            }
        }
    }

    let errors = merge(faults, errors);
    if !errors.is_empty() {
        return Err(AppError::invalid(errors));
    }
    Ok(Plan {
        write: action_write(types, input, &found, precision),
        designations: input
            .designations
            .iter()
            .map(|d| (found[&d.actor].id, d.listed_on.map(|d| d.0)))
            .collect(),
        sources: input.sources.clone(),
        responds_to: input.responds_to.clone(),
    })
}

fn code_kind(actor: &ActorRefRow) -> ActorKind {
    actor.kind.parse().unwrap_or(ActorKind::Organization)
}

/// The precision the date is stored with, or None when the explicit `date_precision`
/// contradicts the date.
pub(crate) fn resolved_precision(input: &NewAction) -> Option<DatePrecision> {
    let given = input.announced_on.precision;
    let Some(wanted) = input.date_precision else {
        return Some(given);
    };
    let date = input.announced_on.date;
    let aligned = match wanted {
        DatePrecision::Day => given == DatePrecision::Day,
        DatePrecision::Month => given != DatePrecision::Year && date.day() == 1,
        DatePrecision::Year => date.day() == 1 && date.month() == 1,
    };
    aligned.then_some(wanted)
}

/// The lists longer than their limit. Checked before anything else, so that the cost of a
/// request stays bounded by the limits rather than by what the client sent.
fn over_limit(input: &NewAction) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let counted = [
        ("designations", input.designations.len(), MAX_DESIGNATIONS),
        ("sources", input.sources.len(), MAX_SOURCES),
        ("responds_to", input.responds_to.len(), MAX_RESPONDS_TO),
        (
            "status_history",
            input.status_history.as_ref().map_or(0, Vec::len),
            MAX_STATUS_HISTORY,
        ),
    ];
    for (field, len, max) in counted {
        if len > max {
            errors.push(FieldError::new(
                field,
                format!("at most {max} entries ({len} given)"),
            ));
        }
    }
    errors
}

pub(crate) fn check_static(input: &NewAction) -> Vec<FieldError> {
    check_static_keeping(input, &HashSet::new())
}

/// `check_static`, with the source URLs the action already has exempt from the URL rule.
fn check_static_keeping(input: &NewAction, stored_urls: &HashSet<String>) -> Vec<FieldError> {
    let mut errors = over_limit(input);
    // An over-long list is reported by its count alone: its items are not checked one by one.
    let within = |field: &str| !errors.iter().any(|e: &FieldError| e.field == field);
    let (check_sources, check_history) = (within("sources"), within("status_history"));
    check_text(
        &mut errors,
        "title",
        Some(&input.title),
        MAX_TITLE_LEN,
        true,
    );
    check_text(
        &mut errors,
        "summary",
        input.summary.as_deref(),
        MAX_TEXT_LEN,
        false,
    );
    check_text(
        &mut errors,
        "legal_basis",
        input.legal_basis.as_deref(),
        MAX_SHORT_TEXT_LEN,
        false,
    );
    check_text(
        &mut errors,
        "program",
        input.program.as_deref(),
        MAX_NAME_LEN,
        false,
    );
    if resolved_precision(input).is_none() {
        errors.push(FieldError::new(
            "date_precision",
            format!(
                "`{}` precision does not fit announced_on {} (given to the {}); send a month \
                 as YYYY-MM or its first day, a year as YYYY or its 1 January",
                input.date_precision.map(|p| p.as_str()).unwrap_or(""),
                input.announced_on.date,
                input.announced_on.precision
            ),
        ));
    }
    if let (Some(from), Some(to)) = (input.effective_from, input.effective_to) {
        if to.0 < from.0 {
            errors.push(FieldError::new(
                "effective_to",
                format!("{} is before effective_from {}", to.0, from.0),
            ));
        }
    }
    if let Some(s) = input.severity {
        if !s.is_finite() || !(MIN_SEVERITY..=MAX_SEVERITY).contains(&s) {
            errors.push(FieldError::new(
                "severity",
                format!("must be between {MIN_SEVERITY} and {MAX_SEVERITY}"),
            ));
        }
    }
    check_tags(&mut errors, &input.tags);
    check_external_key(
        &mut errors,
        input.external_id.as_deref(),
        input.source_dataset.as_deref(),
    );
    let mut urls = HashSet::new();
    let sources = if check_sources {
        &input.sources[..]
    } else {
        &[]
    };
    for (i, s) in sources.iter().enumerate() {
        if !stored_urls.contains(&s.url) {
            check_url(&mut errors, &format!("sources[{i}].url"), &s.url);
        }
        if !urls.insert(s.url.as_str()) {
            errors.push(FieldError::new(
                format!("sources[{i}].url"),
                "the same URL is given twice",
            ));
        }
        check_text(
            &mut errors,
            &format!("sources[{i}].publisher"),
            s.publisher.as_deref(),
            MAX_NAME_LEN,
            false,
        );
        check_text(
            &mut errors,
            &format!("sources[{i}].quote"),
            s.quote.as_deref(),
            MAX_TEXT_LEN,
            false,
        );
    }
    if let Some(history) = input.status_history.as_ref().filter(|_| check_history) {
        match history.last() {
            None => errors.push(FieldError::new(
                "status_history",
                "must not be empty when given",
            )),
            Some(last) if last.status != input.status => errors.push(FieldError::new(
                "status_history",
                format!(
                    "the last entry's status ({}) must equal `status` ({})",
                    last.status, input.status
                ),
            )),
            Some(_) => {}
        }
        for (i, entry) in history.iter().enumerate() {
            if i > 0 && entry.on.0 < history[i - 1].on.0 {
                errors.push(FieldError::new(
                    format!("status_history[{i}].on"),
                    "entries must be in chronological order",
                ));
            }
            if let Some(url) = &entry.source_url {
                check_url(&mut errors, &format!("status_history[{i}].source_url"), url);
            }
            check_text(
                &mut errors,
                &format!("status_history[{i}].note"),
                entry.note.as_deref(),
                MAX_SHORT_TEXT_LEN,
                false,
            );
        }
    }
    errors
}

/// The given history, or one entry for the current status.
pub(crate) fn initial_history(input: &NewAction, write: &ActionWrite) -> Vec<StatusEntryInput> {
    if let Some(history) = &input.status_history {
        return history.clone();
    }
    let on = match input.status {
        ActionStatus::InForce => write.effective_from.unwrap_or(write.announced_on),
        ActionStatus::Lifted | ActionStatus::Expired => {
            write.effective_to.unwrap_or(write.announced_on)
        }
        _ => write.announced_on,
    };
    vec![StatusEntryInput {
        status: input.status,
        on: Day(on),
        source_url: None,
        note: None,
    }]
}

/// The rows of an action's lists, as the plan gives them.
fn list_rows(id: Uuid, plan: &Plan) -> (Vec<DesignationRow>, Vec<SourceRow>, Vec<ResponseRow>) {
    let designations = plan
        .designations
        .iter()
        .map(|(actor_id, listed_on)| DesignationRow {
            action_id: id,
            actor_id: *actor_id,
            listed_on: *listed_on,
        })
        .collect();
    let sources = plan
        .sources
        .iter()
        .map(|s| SourceRow {
            action_id: id,
            url: s.url.clone(),
            publisher: s.publisher.clone(),
            published_on: s.published_on.map(|d| d.0),
            quote: s.quote.clone(),
        })
        .collect();
    let responses = plan
        .responds_to
        .iter()
        .map(|r| ResponseRow {
            action_id: id,
            responds_to_id: r.action,
            relation: r.relation.as_str().to_string(),
        })
        .collect();
    (designations, sources, responses)
}

/// Replaces the lists a patch gives.
async fn write_lists(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    plan: &Plan,
    designations: bool,
    sources: bool,
    responses: bool,
) -> AppResult<()> {
    let (designation_rows, source_rows, response_rows) = list_rows(id, plan);
    action::replace_lists(
        conn,
        id,
        designations.then_some(designation_rows.as_slice()),
        sources.then_some(source_rows.as_slice()),
        responses.then_some(response_rows.as_slice()),
    )
    .await?;
    Ok(())
}

/// The checks of an action's type and actor codes against what is stored (`found`: the
/// actors its codes name, by code; `authority_acts`: whether its authority acts for its
/// initiator, `actor_acts_for`). The API resolves codes with a query per action, imports
/// from memory; both check here, except the authority for imports, which pass `true` and
/// check every line's at once in SQL (`import::resolve`, over `actor_acts_for` too).
pub(crate) fn check_references(
    types: &ActionTypes,
    input: &NewAction,
    found: &HashMap<String, ActorRefRow>,
    authority_acts: bool,
    errors: &mut Vec<FieldError>,
) {
    if types.lookup(&input.type_).is_none() {
        errors.push(FieldError::new(
            "type",
            format!(
                "unknown action type `{}`; see GET /v1/action-types",
                input.type_
            ),
        ));
    }
    let dyad = |field: &str, code: &str, errors: &mut Vec<FieldError>| match found.get(code) {
        None => errors.push(FieldError::new(
            field,
            format!("unknown actor code `{code}`"),
        )),
        Some(a) => {
            let kind: ActorKind = code_kind(a);
            if !kind.is_dyad_member() {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "`{code}` is a {kind}; initiator and target must be states or IGOs \
                             (record a body as `authority`)"
                    ),
                ));
            }
        }
    };
    dyad("initiator", &input.initiator, errors);
    dyad("target", &input.target, errors);
    if input.initiator == input.target {
        errors.push(FieldError::new(
            "target",
            "initiator and target must differ",
        ));
    }
    if let Some(code) = &input.authority {
        if !found.contains_key(code) {
            errors.push(FieldError::new(
                "authority",
                format!("unknown actor code `{code}`"),
            ));
        } else if !authority_acts && found.contains_key(&input.initiator) {
            errors.push(FieldError::new(
                "authority",
                format!(
                    "`{code}` does not act for the initiator `{}`: an authority must be the \
                     initiator, belong to it (`country`) or sit under it (`parent`)",
                    input.initiator
                ),
            ));
        }
    }
    let mut designated = HashSet::new();
    for (i, d) in input.designations.iter().enumerate() {
        if !found.contains_key(&d.actor) {
            errors.push(FieldError::new(
                format!("designations[{i}].actor"),
                format!("unknown actor code `{}`", d.actor),
            ));
        } else if !designated.insert(d.actor.as_str()) {
            errors.push(FieldError::new(
                format!("designations[{i}].actor"),
                format!("`{}` is designated twice", d.actor),
            ));
        }
    }
}

/// The row an action that passed every check writes (`found` as in `check_references`).
pub(crate) fn action_write(
    types: &ActionTypes,
    input: &NewAction,
    found: &HashMap<String, ActorRefRow>,
    precision: DatePrecision,
) -> ActionWrite {
    let default_severity = types
        .lookup(&input.type_)
        .map_or(0.0, |t| t.default_severity);
    let initiator = &found[&input.initiator];
    let target = &found[&input.target];
    ActionWrite {
        title: input.title.clone(),
        summary: input.summary.clone(),
        initiator_id: initiator.id,
        initiator_kind: initiator.kind.clone(),
        target_id: target.id,
        target_kind: target.kind.clone(),
        authority_id: input.authority.as_ref().map(|c| found[c].id),
        type_code: input.type_.clone(),
        status: input.status.as_str().to_string(),
        announced_on: input.announced_on.date,
        date_precision: precision.as_str().to_string(),
        effective_from: input.effective_from.map(|d| d.0),
        effective_to: input.effective_to.map(|d| d.0),
        legal_basis: input.legal_basis.clone(),
        program: input.program.clone(),
        severity: input.severity.unwrap_or(default_severity),
        tags: input.tags.clone(),
        external_id: input.external_id.clone(),
        source_dataset: input.source_dataset.clone(),
        designated_names: action::designated_names_of(
            input.designations.iter().map(|d| &found[&d.actor]),
        ),
    }
}
