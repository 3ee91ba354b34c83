//! The one written form of ids: hyphenated, 8-4-4-4-12 hex digits, either case. Braced,
//! `urn:uuid:` and unhyphenated forms, which `Uuid::parse_str` takes, are refused, so that an
//! id has one spelling in URLs, bodies and page tokens. Read by request shapes, path
//! segments and the models that take an actor's id or code.

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// The one written form of an id: 36 characters, hex digits in groups of 8-4-4-4-12 joined by
/// hyphens (either case). The braced, `urn:uuid:` and unhyphenated forms the uuid crate also
/// reads are refused, so that an id has one spelling in URLs, bodies and logs.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let hyphens = [8, 13, 18, 23];
    let shaped = text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| {
            if hyphens.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    shaped.then(|| Uuid::parse_str(text).ok()).flatten()
}

/// Reads an optional id in its one written form (`parse_uuid`).
pub fn canonical_uuid_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    canonical_uuid(d).map(Some)
}

/// Reads an id in its one written form (`parse_uuid`).
pub fn canonical_uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    let text = String::deserialize(d)?;
    parse_uuid(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{text}` is not a UUID in its hyphenated form (8-4-4-4-12 hex digits)"
        ))
    })
}
