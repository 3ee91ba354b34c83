//! Request bodies and the checks that need no database. Actors are named by code.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::limits::*;
use crate::models::enums::{ActionStatus, ActorKind, DatePrecision, Relation};

/// The one reading of a calendar day: `YYYY-MM-DD` with a four-digit year from 0001 to 9999,
/// nothing before or after (no sign, no fifth digit). chrono alone would take `-001-01-01`,
/// `+202-01-01` and year 0, which PostgreSQL then stores and prints in other forms.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' {
        return None;
    }
    if !digits(8..10) || &text[..4] == "0000" {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The one written form of an id: 36 characters, hex digits in groups of 8-4-4-4-12 joined by
/// hyphens (either case). The braced, `urn:uuid:` and unhyphenated forms the uuid crate also
/// reads are refused, so that an id has one spelling in URLs, bodies and logs.
/// The fault of a range given backwards: `first` (named by its field) after `last`.
pub fn backwards<T: PartialOrd + std::fmt::Display>(
    (first_field, first): (&str, Option<T>),
    (last_field, last): (&str, Option<T>),
) -> Option<FieldError> {
    match (first, last) {
        (Some(first), Some(last)) if first > last => Some(FieldError::new(
            first_field,
            format!("{first} is after {last_field} ({last})"),
        )),
        _ => None,
    }
}

/// A calendar day sent as `YYYY-MM-DD` (years 0001 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_day(&text).map(Day).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a valid date; expected YYYY-MM-DD with a year from 0001 to 9999"
            ))
        })
    }
}

/// A point in time sent as RFC 3339 (`2026-11-28T12:00:00Z`, any offset), with a four-digit
/// year from 0001 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339())
    }
}

impl Timestamp {
    pub fn parse(text: &str) -> Option<Self> {
        // The date part decides the range; RFC 3339 itself has no room for other years.
        parse_day(text.get(..10)?)?;
        let t = DateTime::parse_from_rfc3339(text).ok()?;
        let utc = t.with_timezone(&Utc);
        (1..=9999).contains(&utc.year()).then_some(Timestamp(utc))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not an RFC 3339 time such as 2026-11-28T12:00:00Z with a year from \
                 0001 to 9999 once in UTC"
            ))
        })
    }
}

/// A date known to the day (`2020-07-09`), the month (`2019-10`) or the year (`2017`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzyDate {
    pub date: NaiveDate,
    pub precision: DatePrecision,
}

impl FuzzyDate {
    pub fn parse(text: &str) -> Option<Self> {
        let (date, precision) = match text.len() {
            10 => (parse_day(text)?, DatePrecision::Day),
            7 => (parse_day(&format!("{text}-01"))?, DatePrecision::Month),
            4 => (parse_day(&format!("{text}-01-01"))?, DatePrecision::Year),
            _ => return None,
        };
        Some(FuzzyDate { date, precision })
    }

    /// The last day the date may stand for.
    pub fn latest(date: NaiveDate, precision: DatePrecision) -> NaiveDate {
        match precision {
            DatePrecision::Day => date,
            DatePrecision::Month => {
                let (y, m) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).expect("valid month") - chrono::Days::new(1)
            }
            DatePrecision::Year => {
                NaiveDate::from_ymd_opt(date.year(), 12, 31).expect("valid year end")
            }
        }
    }

    /// `latest` in SQL, over a date column and its precision column, for the checks that run
    /// in SQL over stored actions (the import's). `tests/api/migrations.rs` holds the two to
    /// the same days.
    pub fn latest_sql(date: &str, precision: &str) -> String {
        format!(
            "CASE {precision} WHEN '{day}' THEN {date} \
             WHEN '{month}' THEN (date_trunc('month', {date}) + interval '1 month - 1 day')::date \
             ELSE (date_trunc('year', {date}) + interval '1 year - 1 day')::date END",
            day = DatePrecision::Day.as_str(),
            month = DatePrecision::Month.as_str(),
        )
    }
}

impl<'de> Deserialize<'de> for FuzzyDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FuzzyDate::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a valid date; expected YYYY-MM-DD, YYYY-MM or YYYY with a year \
                 from 0001 to 9999"
            ))
        })
    }
}

/// A patch field that may be absent but not null.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "must not be null; leave the field out to keep its value",
        )),
    }
}

/// Distinguishes a field that is absent (`None`) from one set to null (`Some(None)`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------------------
// Actors

/// A new actor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "marco-rubio",
    "name": "Marco Rubio",
    "kind": "person",
    "country": "USA",
    "aliases": ["Marco Antonio Rubio"],
    "description": "US Senator for Florida; sanctioned by China on 13 July 2020."
}))]
pub struct NewActor {
    /// ISO 3166-1 alpha-3 in upper case for states (`USA`); a lower-case slug
    /// (`^[a-z0-9]+(-[a-z0-9]+)*$`, at most 100 characters) for everything else.
    pub code: String,
    pub name: String,
    pub kind: ActorKind,
    /// Code of the state the actor belongs to; required for all but states and IGOs, which
    /// must not have one. The state must exist.
    #[serde(default)]
    pub country: Option<String>,
    /// Code of the body or state the actor belongs to.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Wikidata item id, `Q` followed by digits.
    #[serde(default)]
    pub wikidata_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Changes to an actor: absent fields are kept, `null` clears a nullable field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"aliases": ["陈全国", "Chen Quan-guo"], "wikidata_id": null}))]
pub struct ActorPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub kind: Option<ActorKind>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub aliases: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub wikidata_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

impl ActorPatch {
    pub fn apply(self, mut actor: NewActor) -> NewActor {
        if let Some(v) = self.code {
            actor.code = v;
        }
        if let Some(v) = self.name {
            actor.name = v;
        }
        if let Some(v) = self.kind {
            actor.kind = v;
        }
        if let Some(v) = self.country {
            actor.country = v;
        }
        if let Some(v) = self.parent {
            actor.parent = v;
        }
        if let Some(v) = self.aliases {
            actor.aliases = v;
        }
        if let Some(v) = self.wikidata_id {
            actor.wikidata_id = v;
        }
        if let Some(v) = self.description {
            actor.description = v;
        }
        actor
    }
}

pub fn is_state_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

pub fn is_slug(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl NewActor {
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let state = self.kind == ActorKind::State;
        if state && !is_state_code(&self.code) {
            errors.push(FieldError::new(
                "code",
                "a state's code is its ISO 3166-1 alpha-3 code in upper case, e.g. `USA`",
            ));
        } else if !state && !is_slug(&self.code) {
            errors.push(FieldError::new(
                "code",
                format!(
                    "must be a lower-case slug of letters, digits and single hyphens, at most \
                     {MAX_CODE_LEN} characters, e.g. `chen-quanguo`"
                ),
            ));
        }
        check_text(&mut errors, "name", Some(&self.name), MAX_NAME_LEN, true);
        match (&self.country, self.kind) {
            (Some(_), ActorKind::State) => errors.push(FieldError::new(
                "country",
                "a state has no country; leave it out",
            )),
            (Some(c), _) if !is_state_code(c) => errors.push(FieldError::new(
                "country",
                "must be the alpha-3 code of a state, e.g. `CHN`",
            )),
            (None, kind) if !kind.is_dyad_member() => errors.push(FieldError::new(
                "country",
                "required for actors that are not states or IGOs",
            )),
            _ => {}
        }
        if self.parent.as_deref() == Some(self.code.as_str()) {
            errors.push(FieldError::new(
                "parent",
                "an actor cannot be its own parent",
            ));
        }
        if self.aliases.len() > MAX_ALIASES {
            errors.push(FieldError::new(
                "aliases",
                format!(
                    "at most {MAX_ALIASES} aliases ({} given)",
                    self.aliases.len()
                ),
            ));
        } else {
            for (i, alias) in self.aliases.iter().enumerate() {
                check_text(
                    &mut errors,
                    &format!("aliases[{i}]"),
                    Some(alias),
                    MAX_NAME_LEN,
                    true,
                );
            }
        }
        if let Some(q) = &self.wikidata_id {
            let ok = q.len() > 1
                && q.len() <= 20
                && q.starts_with('Q')
                && !q[1..].starts_with('0')
                && q[1..].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                errors.push(FieldError::new(
                    "wikidata_id",
                    "must be a Wikidata item id such as `Q148`",
                ));
            }
        }
        check_text(
            &mut errors,
            "description",
            self.description.as_deref(),
            MAX_TEXT_LEN,
            false,
        );
        errors
    }
}

// ---------------------------------------------------------------------------------------
// Actions

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"actor": "chen-quanguo", "listed_on": "2020-07-09"}))]
pub struct DesignationInput {
    /// Code of the designated person or body.
    #[schema(example = "chen-quanguo")]
    pub actor: String,
    /// The designation's own listing date, when it differs from the action's.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub listed_on: Option<Day>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://home.treasury.gov/news/press-releases/sm1055",
    "publisher": "US Treasury",
    "published_on": "2020-07-09"
}))]
pub struct SourceInput {
    /// An http(s) URL, unique within the action.
    pub url: String,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub published_on: Option<Day>,
    #[serde(default)]
    pub quote: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "0a1f0000-0000-4000-8000-000000000001", "relation": "retaliates"}))]
pub struct ResponseInput {
    /// The id of an earlier action (announced no later than this one).
    #[serde(deserialize_with = "crate::ids::canonical_uuid")]
    pub action: Uuid,
    pub relation: Relation,
}

/// An entry of an explicit status history.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "in_force", "on": "2020-07-09", "note": "Designations take effect"}))]
pub struct StatusEntryInput {
    pub status: ActionStatus,
    /// The day the action took this status.
    #[schema(value_type = String, format = Date)]
    pub on: Day,
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A new action, with what it names, its sources and the earlier actions it answers, all
/// created in one transaction.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "US Treasury sanctions Xinjiang officials under Global Magnitsky",
    "initiator": "USA",
    "target": "CHN",
    "authority": "us-ofac",
    "type": "asset_freeze",
    "status": "in_force",
    "announced_on": "2020-07-09",
    "effective_from": "2020-07-09",
    "legal_basis": "Global Magnitsky Human Rights Accountability Act; Executive Order 13818",
    "program": "GLOMAG",
    "tags": ["xinjiang", "human_rights"],
    "designations": [{"actor": "chen-quanguo"}, {"actor": "xinjiang-psb"}],
    "sources": [{"url": "https://home.treasury.gov/news/press-releases/sm1055", "publisher": "US Treasury", "published_on": "2020-07-09"}]
}))]
pub struct NewAction {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    /// Code of the acting state or IGO.
    pub initiator: String,
    /// Code of the state or IGO acted upon.
    pub target: String,
    /// Code of the body that acted for the initiator.
    #[serde(default)]
    pub authority: Option<String>,
    /// An action type code from `GET /v1/action-types`.
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ActionStatus,
    /// `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when only the month or year is known.
    #[schema(value_type = String, example = "2020-07-09")]
    pub announced_on: FuzzyDate,
    /// Defaults to the precision `announced_on` was given with; if given, it must agree.
    #[serde(default)]
    pub date_precision: Option<DatePrecision>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Day>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_to: Option<Day>,
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub program: Option<String>,
    /// -10..+10; defaults to the type's `default_severity`.
    #[serde(default)]
    pub severity: Option<f64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub designations: Vec<DesignationInput>,
    #[serde(default)]
    pub sources: Vec<SourceInput>,
    #[serde(default)]
    pub responds_to: Vec<ResponseInput>,
    /// The statuses the action went through, oldest first, ending with `status`. When left
    /// out, one entry is recorded: `status` on `effective_from` (for `in_force`) or on
    /// `announced_on`.
    #[serde(default)]
    pub status_history: Option<Vec<StatusEntryInput>>,
    /// The identifier another dataset gives this action (a GDELT GLOBALEVENTID, a PLOVER id),
    /// at most 200 characters, unique within `source_dataset`: imports find the action by it.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The dataset `external_id` belongs to: lower-case letters, digits, `_`, `.` or `-`, at
    /// most 50 characters (`gdelt`, `plover`).
    #[serde(default)]
    pub source_dataset: Option<String>,
}

/// Changes to an action: absent fields are kept, `null` clears a nullable field, and the
/// lists (`tags`, `designations`, `sources`, `responds_to`) are replaced whole when given.
/// A new `status` is appended to the history on `status_changed_on` (default: today).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "in_force", "status_changed_on": "2020-07-13"}))]
pub struct ActionPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub initiator: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub authority: Option<Option<String>>,
    #[serde(rename = "type")]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status: Option<ActionStatus>,
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub announced_on: Option<FuzzyDate>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub date_precision: Option<DatePrecision>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Option<Day>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_to: Option<Option<Day>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub legal_basis: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub program: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub severity: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub designations: Option<Vec<DesignationInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub sources: Option<Vec<SourceInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub responds_to: Option<Vec<ResponseInput>>,
    /// The day a new `status` took effect (default: today, UTC).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_changed_on: Option<Day>,
    /// A source for the status change.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_source_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_note: Option<String>,
}

pub fn check_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max_chars: usize,
    required: bool,
) {
    match value {
        Some(v) if v.trim().is_empty() => errors.push(FieldError::new(
            field,
            if required {
                "must not be empty"
            } else {
                "must not be blank; use null to leave it out"
            },
        )),
        Some(v) if v.chars().count() > max_chars => errors.push(FieldError::new(
            field,
            format!("at most {max_chars} characters"),
        )),
        Some(v) if v.contains('\0') => {
            errors.push(FieldError::new(field, "must not contain NUL characters"))
        }
        _ => {}
    }
}

/// Whether `url` is one a source may have (`url_fault`).
pub fn url_ok(url: &str) -> bool {
    url_fault(url).is_none()
}

/// Why `url` is not one a source may have: http(s) with a host, at most `MAX_URL_LEN`
/// characters, no whitespace or control characters (a browser's parser would drop or encode
/// them, so the link followed would not be the one stored), and readable by the URL standard
/// browsers follow (a host such as `a%zz.org` or a port of 99999 opens nowhere). The one rule
/// for the API and the importers.
pub fn url_fault(url: &str) -> Option<String> {
    if url.chars().count() > MAX_URL_LEN {
        return Some(format!("it has more than {MAX_URL_LEN} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains spaces or control characters".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if !rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '.', '?', '#', '$'])) {
        return Some("it is not http:// or https:// followed by a host".into());
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => None,
        Ok(_) => Some("it has no host".into()),
        Err(e) => Some(format!("a browser cannot read it: {e}")),
    }
}

pub fn check_url(errors: &mut Vec<FieldError>, field: &str, url: &str) {
    if let Some(fault) = url_fault(url) {
        errors.push(FieldError::new(
            field,
            format!("must be an http(s) URL of at most {MAX_URL_LEN} characters: {fault}"),
        ));
    }
}

pub fn check_tags(errors: &mut Vec<FieldError>, tags: &[String]) {
    // The count first: the per-item rules of an over-long list would only add noise and cost.
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new(
            "tags",
            format!("at most {MAX_TAGS} tags ({} given)", tags.len()),
        ));
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        let ok = !tag.is_empty()
            && tag.len() <= MAX_TAG_LEN
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            errors.push(FieldError::new(
                format!("tags[{i}]"),
                format!("a tag is 1 to {MAX_TAG_LEN} lower-case letters, digits, `_` or `-`"),
            ));
        } else if !seen.insert(tag.as_str()) {
            errors.push(FieldError::new(format!("tags[{i}]"), "duplicate tag"));
        }
    }
}

/// `external_id` and `source_dataset` (migration 000013 holds the same bounds).
pub fn check_external_key(
    errors: &mut Vec<FieldError>,
    external_id: Option<&str>,
    source_dataset: Option<&str>,
) {
    check_text(
        errors,
        "external_id",
        external_id,
        MAX_EXTERNAL_ID_LEN,
        false,
    );
    if let Some(dataset) = source_dataset {
        let ok = dataset.len() <= MAX_SOURCE_DATASET_LEN
            && dataset.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (i > 0 && matches!(b, b'_' | b'.' | b'-'))
            })
            && !dataset.is_empty();
        if !ok {
            errors.push(FieldError::new(
                "source_dataset",
                format!(
                    "1 to {MAX_SOURCE_DATASET_LEN} lower-case letters, digits, `_`, `.` or `-`, \
                     starting with a letter or digit, e.g. `gdelt`"
                ),
            ));
        } else if external_id.is_none() {
            errors.push(FieldError::new(
                "source_dataset",
                "names the dataset of `external_id`; give external_id with it",
            ));
        }
    }
}
