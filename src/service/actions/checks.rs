//! Every rule an action must satisfy, and the rows it yields: checks that need no
//! database, the references to actors and types, the graph's rules against what is stored,
//! the patch laid over the stored action. `super` writes what passed; imports use the same
//! checks and row building line by line (`import::stage`).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::messages;
use crate::error::{AppError, AppResult, FieldError};
use crate::input::*;
use crate::limits::*;
use crate::models::action::{self, ActionWrite, DesignationRow, ResponseRow, SourceRow};
use crate::models::actor::{self, ActorRefRow};
use crate::models::enums::{parse_stored, ActionStatus, ActorKind, DatePrecision};
use crate::taxonomy::ActionTypes;
use crate::validation::merge;
use crate::views::Action;

/// An action that passed every check, ready to be written.
pub(super) struct Plan {
    pub(super) write: ActionWrite,
    designations: Vec<(Uuid, Option<NaiveDate>)>,
    sources: Vec<SourceInput>,
    responds_to: Vec<ResponseInput>,
}

/// The current action as a complete input, with the patch laid over it.
pub(super) fn apply_patch(types: &ActionTypes, current: Action, p: ActionPatch) -> NewAction {
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
pub(super) struct Kept {
    /// Source URLs stored before the URL rule tightened stay acceptable on their action.
    pub(super) source_urls: HashSet<String>,
    /// The answers are the stored ones: an answer dated after the action is the new date's
    /// fault, named `announced_on`.
    pub(super) responds_to: bool,
}

/// Every check of an action, reporting all failures at once, with `faults` (the fields of
/// the body that could not be read; see `validation`).
pub(super) async fn plan(
    conn: &mut AsyncPgConnection,
    types: &ActionTypes,
    input: &NewAction,
    existing: Option<Uuid>,
    kept: &Kept,
    faults: &[FieldError],
) -> AppResult<Plan> {
    let mut errors = check_static_keeping(input, &kept.source_urls, Body::Request);
    if !over_limit(input, Body::Request).is_empty() {
        // Looking up thousands of codes would cost what the limits are there to bound.
        return Err(AppError::invalid(merge(faults, errors)));
    }

    // Actor codes, resolved in one query.
    let mut codes: Vec<&str> = vec![&input.initiator, &input.target];
    codes.extend(input.authority.as_deref());
    codes.extend(input.designations.iter().map(|d| d.actor.as_str()));
    let found: HashMap<String, ActorRefRow> = actor::refs_for_write(conn, &codes)
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
            errors.push(FieldError::new(field, messages::answers_itself()));
        } else if !answered.insert(r.action) {
            errors.push(FieldError::new(field, messages::listed_twice(r.action)));
        } else {
            match dates.get(&r.action) {
                None if deleted.contains(&r.action) => {
                    errors.push(FieldError::new(field, messages::answers_deleted(r.action)))
                }
                None => errors.push(FieldError::new(field, messages::no_such_action(r.action))),
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
                    messages::answers_later(
                        format_args!("action {}", r.action),
                        date,
                        input.announced_on.date,
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
                    messages::dated_after_answer(responder, date),
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

/// Where an action's body comes from.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    /// `POST`/`PATCH`: every list within its limit.
    Request,
    /// A line of an import, itself at most 1 MiB: its `status_history` may be longer than a
    /// request's, as an action's stored history can grow past it through PATCHes and an
    /// export with `include_history=true` writes it whole (a re-import of such a file was
    /// refused, into the database it came from too).
    ImportLine,
}

/// The lists longer than their limit. Checked before anything else, so that the cost of a
/// request stays bounded by the limits rather than by what the client sent.
fn over_limit(input: &NewAction, body: Body) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let history = match body {
        Body::Request => input.status_history.as_ref().map_or(0, Vec::len),
        Body::ImportLine => 0,
    };
    let counted = [
        ("designations", input.designations.len(), MAX_DESIGNATIONS),
        ("sources", input.sources.len(), MAX_SOURCES),
        ("responds_to", input.responds_to.len(), MAX_RESPONDS_TO),
        ("status_history", history, MAX_STATUS_HISTORY),
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

/// The rules an import line's action must follow on its own (the API's, but for the
/// length of `status_history`: see `Body::ImportLine`).
pub(crate) fn check_static(input: &NewAction) -> Vec<FieldError> {
    check_static_keeping(input, &HashSet::new(), Body::ImportLine)
}

/// `check_static`, with the source URLs the action already has exempt from the URL rule.
fn check_static_keeping(
    input: &NewAction,
    stored_urls: &HashSet<String>,
    body: Body,
) -> Vec<FieldError> {
    let mut errors = over_limit(input, body);
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
pub(super) fn list_rows(
    id: Uuid,
    plan: &Plan,
) -> (Vec<DesignationRow>, Vec<SourceRow>, Vec<ResponseRow>) {
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
pub(super) async fn write_lists(
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
                messages::authority_does_not_act(code, &input.initiator),
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
