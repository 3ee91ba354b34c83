//! Turns the query parameters of `GET /v1/actions` into an `ActionFilter`: splits lists,
//! resolves actor codes and categories, and reports every bad value at once, per parameter.

use crate::input::Timestamp;
use actix_web::HttpRequest;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::actions::ActionListParams;
use crate::error::{AppError, AppResult, FieldError};
use crate::limits::{MAX_FILTER_VALUES, MAX_SEARCH_LEN, MAX_SEARCH_NEGATIONS, MAX_TAG_LEN};
use crate::models::action_list::{self, ActionFilter, Cursor, SortValue};
use crate::models::actor::{self, ActorRefRow};
use crate::models::change::{ChangeEntity, ChangeFilter, ChangeKind};
use crate::models::enums::{ActionSort, ActionStatus, Category};
use crate::pagination;
use crate::taxonomy::ActionTypes;

/// Splits a comma-separated parameter. Empty items are errors, not silently skipped, and so
/// are items with NUL (`without_nul`).
fn split<'a>(errors: &mut Vec<FieldError>, field: &str, value: &'a Option<String>) -> Vec<&'a str> {
    let Some(value) = value else {
        return Vec::new();
    };
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        let pair = |a: &str, b: &str| format!("{a},{b}");
        let example = match field {
            "type" => pair("asset_freeze", "visa_ban"),
            "entity" => pair(ChangeEntity::Action.as_str(), ChangeEntity::Actor.as_str()),
            "kind" => pair(ChangeKind::Created.as_str(), ChangeKind::Deleted.as_str()),
            "category" => pair(Category::Sanction.as_str(), Category::Threat.as_str()),
            "status" => pair(
                ActionStatus::InForce.as_str(),
                ActionStatus::Lifted.as_str(),
            ),
            "tag" => pair("xinjiang", "hong-kong"),
            _ => pair("USA", "CHN"),
        };
        errors.push(FieldError::new(
            field,
            format!("contains an empty value; give values separated by commas, e.g. `{example}`"),
        ));
        return Vec::new();
    }
    if items.len() > MAX_FILTER_VALUES {
        errors.push(FieldError::new(
            field,
            format!(
                "{} values; at most {MAX_FILTER_VALUES} are allowed",
                items.len()
            ),
        ));
        return Vec::new();
    }
    without_nul(errors, items, |item| [*item], |_| field.to_string())
}

/// Parses each item as a closed-vocabulary value.
fn parse_all<T: std::str::FromStr<Err = String>>(
    errors: &mut Vec<FieldError>,
    field: &str,
    items: Vec<&str>,
) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|item| {
            item.parse()
                .map_err(|e: String| errors.push(FieldError::new(field, e)))
                .ok()
        })
        .collect()
}

/// `A,B` pairs, several separated by `;`.
fn parse_dyads<'a>(
    errors: &mut Vec<FieldError>,
    value: &'a Option<String>,
) -> Vec<(&'a str, &'a str)> {
    let mut dyads = Vec::new();
    let Some(value) = value else {
        return dyads;
    };
    let pairs: Vec<&str> = value.split(';').collect();
    if pairs.len() > MAX_FILTER_VALUES {
        errors.push(FieldError::new(
            "dyad",
            format!(
                "{} dyads; at most {MAX_FILTER_VALUES} are allowed",
                pairs.len()
            ),
        ));
        return dyads;
    }
    for pair in pairs {
        match pair.split(',').map(str::trim).collect::<Vec<_>>()[..] {
            [a, b] if !a.is_empty() && !b.is_empty() && a != b => dyads.push((a, b)),
            _ => errors.push(FieldError::new(
                "dyad",
                format!("`{pair}` is not two different actor codes like `USA,CHN`"),
            )),
        }
    }
    without_nul(errors, dyads, |&(a, b)| [a, b], |_| "dyad".into())
}

/// The code of the actor `given` names by code or, failing that, by id (as the feed's
/// filters take them); `given` when none does.
fn code_of<'a>(found: &'a [ActorRefRow], given: &'a str) -> &'a str {
    if found.iter().any(|a| a.code == given) {
        return given;
    }
    let id: Option<Uuid> = given.parse().ok();
    found
        .iter()
        .find(|a| Some(a.id) == id)
        .map_or(given, |a| a.code.as_str())
}

/// The ids of `codes` among `found`; each unknown code is an error of `field`.
fn codes_to_ids(
    found: &[ActorRefRow],
    field: &str,
    codes: &[&str],
    errors: &mut Vec<FieldError>,
) -> Vec<Uuid> {
    codes
        .iter()
        .filter_map(|code| match found.iter().find(|a| a.code == *code) {
            Some(a) => Some(a.id),
            None => {
                errors.push(FieldError::new(
                    field,
                    format!("unknown actor code `{code}`"),
                ));
                None
            }
        })
        .collect()
}

/// The ids of a dyad filter's two members: states or IGOs, as every action's initiator and
/// target are (another kind matched nothing, silently).
fn dyad_ids(
    found: &[ActorRefRow],
    (a, b): (&str, &str),
    errors: &mut Vec<FieldError>,
) -> Option<(Uuid, Uuid)> {
    let before = errors.len();
    for code in [a, b] {
        if let Some(actor) = found.iter().find(|f| f.code == code) {
            let kind: Option<crate::models::enums::ActorKind> = actor.kind.parse().ok();
            if !kind.is_some_and(|k| k.is_dyad_member()) {
                errors.push(FieldError::new(
                    "dyad",
                    format!(
                        "`{code}` is a {}; a dyad is two states or IGOs, as actions are \
                         between (filter by `initiator`, `target` or `designated` instead)",
                        actor.kind
                    ),
                ));
            }
        }
    }
    match codes_to_ids(found, "dyad", &[a, b], errors)[..] {
        [a, b] if errors.len() == before => Some((a, b)),
        _ => None,
    }
}

/// The values that can be looked up. PostgreSQL text cannot hold NUL, so no code has one
/// and looking one up would fail: a value with one is a fault of the field `field_of` its
/// index names (once per field), not a filter that matches nothing.
pub fn without_nul<T, I>(
    errors: &mut Vec<FieldError>,
    values: Vec<T>,
    texts: impl Fn(&T) -> I,
    field_of: impl Fn(usize) -> String,
) -> Vec<T>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut kept = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        if texts(&value).into_iter().any(|t| t.as_ref().contains('\0')) {
            let fault = FieldError::new(field_of(i), "must not contain NUL characters");
            if !errors.contains(&fault) {
                errors.push(fault);
            }
        } else {
            kept.push(value);
        }
    }
    kept
}

/// The filters of the change feed (`GET /v1/changes`, `GET /v1/events`).
pub async fn resolve_changes(
    conn: &mut AsyncPgConnection,
    types: &ActionTypes,
    kind: &Option<String>,
    entity: &Option<String>,
    actor: &Option<String>,
    dyad: &Option<String>,
    type_: &Option<String>,
) -> AppResult<ChangeFilter> {
    let mut errors = Vec::new();
    let kinds = split(&mut errors, "kind", kind);
    let kinds: Vec<ChangeKind> = parse_all(&mut errors, "kind", kinds);
    let entities = split(&mut errors, "entity", entity);
    for e in &entities {
        if e.parse::<crate::models::change::ChangeEntity>().is_err() {
            errors.push(FieldError::new(
                "entity",
                format!("`{e}` is not one of `actor`, `action`, `response`"),
            ));
        }
    }
    let actors = split(&mut errors, "actor", actor);
    let dyads = parse_dyads(&mut errors, dyad);
    let type_codes = split(&mut errors, "type", type_);
    for code in &type_codes {
        if types.lookup(code).is_none() {
            errors.push(FieldError::new(
                "type",
                format!("unknown action type `{code}`; see GET /v1/action-types"),
            ));
        }
    }
    let mut codes: Vec<&str> = actors.clone();
    codes.extend(dyads.iter().flat_map(|&(a, b)| [a, b]));
    let found = actor::refs_by_codes_or_ids_with_deleted(conn, &codes).await?;
    let actors: Vec<&str> = actors.iter().map(|g| code_of(&found, g)).collect();
    let dyads: Vec<(&str, &str)> = dyads
        .iter()
        .map(|&(a, b)| (code_of(&found, a), code_of(&found, b)))
        .collect();
    let actor_ids = codes_to_ids(&found, "actor", &actors, &mut errors);
    let dyads: Vec<(Uuid, Uuid)> = dyads
        .iter()
        .filter_map(|&pair| dyad_ids(&found, pair, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(AppError::bad_params(errors));
    }
    Ok(ChangeFilter {
        kinds: kinds.iter().map(|k| k.as_str().to_string()).collect(),
        entities: entities.into_iter().map(str::to_string).collect(),
        actors: actor_ids,
        dyads,
        types: type_codes.into_iter().map(str::to_string).collect(),
    })
}

pub async fn resolve(
    conn: &mut AsyncPgConnection,
    types: &ActionTypes,
    p: ActionListParams,
) -> AppResult<ActionFilter> {
    let mut errors = Vec::new();
    let initiators = split(&mut errors, "initiator", &p.initiator);
    let targets = split(&mut errors, "target", &p.target);
    let designated = split(&mut errors, "designated", &p.designated);
    let dyads = parse_dyads(&mut errors, &p.dyad);

    // Every actor code, resolved in one query.
    let mut codes: Vec<&str> = Vec::new();
    codes.extend(&initiators);
    codes.extend(&targets);
    codes.extend(&designated);
    codes.extend(dyads.iter().flat_map(|&(a, b)| [a, b]));
    let found = actor::refs_by_codes_with_deleted(conn, &codes).await?;
    let ids = |field: &str, codes: &[&str], errors: &mut Vec<FieldError>| {
        codes_to_ids(&found, field, codes, errors)
    };
    let initiators = ids("initiator", &initiators, &mut errors);
    let targets = ids("target", &targets, &mut errors);
    let designated = ids("designated", &designated, &mut errors);
    let dyads: Vec<(Uuid, Uuid)> = dyads
        .iter()
        .filter_map(|&pair| dyad_ids(&found, pair, &mut errors))
        .collect();

    let type_codes = split(&mut errors, "type", &p.type_);
    for code in &type_codes {
        if types.lookup(code).is_none() {
            errors.push(FieldError::new(
                "type",
                format!("unknown action type `{code}`; see GET /v1/action-types"),
            ));
        }
    }
    let categories: Vec<Category> = {
        let items = split(&mut errors, "category", &p.category);
        parse_all(&mut errors, "category", items)
    };
    // `type` and `category` together keep the types that satisfy both.
    let types_filter = match (p.type_.is_some(), p.category.is_some()) {
        (false, false) => None,
        _ => Some(
            types
                .all()
                .iter()
                .filter(|t| p.type_.is_none() || type_codes.contains(&t.code.as_str()))
                .filter(|t| p.category.is_none() || categories.contains(&t.category))
                .map(|t| t.code.clone())
                .collect(),
        ),
    };
    let statuses: Vec<ActionStatus> = {
        let items = split(&mut errors, "status", &p.status);
        parse_all(&mut errors, "status", items)
    };
    let tags: Vec<String> = split(&mut errors, "tag", &p.tag)
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(long) = tags.iter().find(|t| t.chars().count() > MAX_TAG_LEN) {
        errors.push(FieldError::new(
            "tag",
            format!("`{long}` is longer than {MAX_TAG_LEN} characters, so no action has it"),
        ));
    }
    for (field, value) in [
        ("severity_min", p.severity_min),
        ("severity_max", p.severity_max),
    ] {
        if value.is_some_and(|v| !v.is_finite()) {
            errors.push(FieldError::new(field, "must be a finite number"));
        }
    }
    if let (Some(min), Some(max)) = (p.severity_min, p.severity_max) {
        if min > max {
            errors.push(FieldError::new(
                "severity_min",
                format!("{min} is greater than severity_max ({max})"),
            ));
        }
    }
    errors.extend(crate::input::backwards(
        ("from", p.from.map(|d| d.0)),
        ("to", p.to.map(|d| d.0)),
    ));
    let updated_since = p.updated_since.as_deref().and_then(|s| {
        let parsed = Timestamp::parse(s).map(|t| t.0);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "updated_since",
                format!(
                    "`{s}` is not an RFC 3339 time such as 2026-11-28T12:00:00Z with a year \
                     from 0001 to 9999 once in UTC (write `+` in an offset as %2B)"
                ),
            ));
        }
        parsed
    });
    if let Some(id) = &p.external_id {
        crate::input::check_text(
            &mut errors,
            "external_id",
            Some(id),
            crate::limits::MAX_EXTERNAL_ID_LEN,
            true,
        );
    }
    if let Some(dataset) = &p.source_dataset {
        crate::input::check_source_dataset(&mut errors, dataset);
    }
    let q = p.q.as_deref().map(str::trim).map(str::to_string);
    match &q {
        Some(q) if q.is_empty() => errors.push(FieldError::new(
            "q",
            "is empty; give words to search for, or leave q out",
        )),
        Some(q) if q.chars().count() > MAX_SEARCH_LEN => errors.push(FieldError::new(
            "q",
            format!("longer than {MAX_SEARCH_LEN} characters"),
        )),
        Some(q) if q.contains('\0') => {
            errors.push(FieldError::new("q", "must not contain NUL characters"))
        }
        Some(q) if negations_in_a_row(q) > MAX_SEARCH_NEGATIONS => errors.push(FieldError::new(
            "q",
            format!(
                "more than {MAX_SEARCH_NEGATIONS} `-` (NOT) signs in a row (with no word \
                 between them); the search cannot nest them deeper (two in a row cancel out)"
            ),
        )),
        _ => {}
    }
    if p.sort == Some(ActionSort::Relevance) && q.is_none() {
        errors.push(FieldError::new(
            "sort",
            "`relevance` orders by full-text rank; give `q` with it",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::bad_params(errors));
    }
    Ok(ActionFilter {
        show_deleted: p.show_deleted.unwrap_or(false),
        initiators,
        targets,
        dyads,
        types: types_filter,
        statuses: statuses.iter().map(|s| s.as_str().to_string()).collect(),
        designated,
        tags,
        severity_min: p.severity_min,
        severity_max: p.severity_max,
        from: p.from.map(|d| d.0),
        to: p.to.map(|d| d.0),
        updated_since,
        answered: p.answered,
        q,
        answers: None,
        as_of: p.as_of.map(|d| d.0),
        external_id: p.external_id,
        source_dataset: p.source_dataset,
    })
}

impl pagination::CursorKey for Cursor {
    fn in_range(&self) -> bool {
        use chrono::Datelike;
        match self.0 {
            SortValue::Date(d) => pagination::year_in_range(d.year()),
            SortValue::Time(t) => pagination::year_in_range(t.year()),
            SortValue::FloatBits(bits) => f64::from_bits(bits).is_finite(),
        }
    }
}

/// The page token's position, refused when it was issued for another sort.
pub fn cursor(
    req: &HttpRequest,
    token: Option<&str>,
    sort: ActionSort,
) -> AppResult<Option<Cursor>> {
    let cursor = pagination::cursor::<Cursor>(req, token)?;
    match cursor {
        Some(c) if !action_list::cursor_fits(sort, &c) => Err(AppError::bad_param(
            pagination::TOKEN_PARAM,
            "this page token was issued for another sort; start again without a token",
        )),
        c => Ok(c),
    }
}

/// The longest run of `-` in `q` with no word between them: the search parser reads other
/// signs (spaces, `(`, `!`, `|`, ...) as separators, and its NOT signs stack across them.
fn negations_in_a_row(q: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in q.chars() {
        match c {
            '-' => {
                run += 1;
                longest = longest.max(run);
            }
            c if c.is_alphanumeric() => run = 0,
            _ => {}
        }
    }
    longest
}
