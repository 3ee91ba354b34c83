//! Request bodies and the checks that need no database: the scalars here (days, times,
//! fuzzy dates, patch fields), actors, actions and the checks each in its module, all
//! re-exported here (each module takes the imports below with `use super::*`). Actors are
//! named by code.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::limits::*;
use crate::models::enums::{ActionStatus, ActorKind, DatePrecision, Relation};

/// Reads the struct `$ty` (derived with `#[serde(remote = "Self")]`) from a JSON object only.
/// serde's derive reads a struct from an array too, field by field in order: without this,
/// `"designations": [["chen-quanguo"]]` was a designation. The object is read by the derived
/// code through `MapAccessDeserializer`, so field paths in errors stay whole.
macro_rules! objects_only {
    ($($ty:ident),+) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$ty, A::Error> {
                        $ty::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(Fields)
            }
        }
    )+};
}

mod action;
mod actor;
mod checks;

pub use action::*;
pub use actor::*;
pub use checks::*;

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
