//! GDELT 2.0 event export lines (`*.export.CSV`) to riposte import lines.
//!
//! An export line has 61 tab-separated columns and no header. By 0-based index, per the GDELT
//! 2.0 Event Codebook:
//!
//! | # | column | # | column | # | column |
//! |---|---|---|---|---|---|
//! | 0 | GLOBALEVENTID | 21 | Actor2Religion2Code | 42 | Actor1Geo_FeatureID |
//! | 1 | SQLDATE (YYYYMMDD) | 22 | Actor2Type1Code | 43 | Actor2Geo_Type |
//! | 2 | MonthYear | 23 | Actor2Type2Code | 44 | Actor2Geo_FullName |
//! | 3 | Year | 24 | Actor2Type3Code | 45 | Actor2Geo_CountryCode |
//! | 4 | FractionDate | 25 | IsRootEvent | 46 | Actor2Geo_ADM1Code |
//! | 5 | Actor1Code | 26 | EventCode | 47 | Actor2Geo_ADM2Code |
//! | 6 | Actor1Name | 27 | EventBaseCode | 48 | Actor2Geo_Lat |
//! | 7 | Actor1CountryCode | 28 | EventRootCode | 49 | Actor2Geo_Long |
//! | 8 | Actor1KnownGroupCode | 29 | QuadClass | 50 | Actor2Geo_FeatureID |
//! | 9 | Actor1EthnicCode | 30 | GoldsteinScale | 51 | ActionGeo_Type |
//! | 10 | Actor1Religion1Code | 31 | NumMentions | 52 | ActionGeo_FullName |
//! | 11 | Actor1Religion2Code | 32 | NumSources | 53 | ActionGeo_CountryCode |
//! | 12 | Actor1Type1Code | 33 | NumArticles | 54 | ActionGeo_ADM1Code |
//! | 13 | Actor1Type2Code | 34 | AvgTone | 55 | ActionGeo_ADM2Code |
//! | 14 | Actor1Type3Code | 35 | Actor1Geo_Type | 56 | ActionGeo_Lat |
//! | 15 | Actor2Code | 36 | Actor1Geo_FullName | 57 | ActionGeo_Long |
//! | 16 | Actor2Name | 37 | Actor1Geo_CountryCode | 58 | ActionGeo_FeatureID |
//! | 17 | Actor2CountryCode | 38 | Actor1Geo_ADM1Code | 59 | DATEADDED (YYYYMMDDHHMMSS) |
//! | 18 | Actor2KnownGroupCode | 39 | Actor1Geo_ADM2Code | 60 | SOURCEURL |
//! | 19 | Actor2EthnicCode | 40 | Actor1Geo_Lat | | |
//! | 20 | Actor2Religion1Code | 41 | Actor1Geo_Long | | |
//!
//! The `*CountryCode` columns of the actors are CAMEO country codes (ISO alpha-3 for states,
//! three letters for regions such as `AFR`, `EUR`, `WST`); the `*Geo_CountryCode` columns
//! are FIPS 10-4 and are not used. GDELT 1.0 lines (57 or 58 columns) are refused.
//!
//! Rules, in the order they are applied (the first that fails names the skip reason):
//! 1. 61 columns, and the columns used parse (id, SQLDATE, EventCode, QuadClass,
//!    GoldsteinScale; the counts and AvgTone, which only the summary gives, may be empty):
//!    `malformed_line`, naming the column.
//! 2. `EventCode` must lead to a riposte type (`TypeMap::resolve`): `unmapped_event`.
//! 3. `Actor1CountryCode` and `Actor2CountryCode` must both be states
//!    (`crosswalk::state_code`): `not_state_to_state`.
//! 4. Actor1 must act for its state: no `Actor1Type1Code` or a state body (GOV, MIL, COP,
//!    JUD, LEG, SPY), and no known group, ethnic or religious code: `source_non_state_sector`.
//!    Actor2 may be any part of its state (the state is on the receiving end).
//! 5. `same_state` when both are the same state.
//!
//! `GoldsteinScale` becomes `severity` (clamped to -10..10, one decimal), `SOURCEURL` the one
//! source when it is an http(s) URL.

use super::crosswalk::{self, Draft, Mapped, TypeMap};

/// Columns of a GDELT 2.0 event export line.
pub const COLUMNS: usize = 61;

const GLOBALEVENTID: usize = 0;
const SQLDATE: usize = 1;
const ACTOR1_CODE: usize = 5;
const ACTOR1_NAME: usize = 6;
const ACTOR1_COUNTRY: usize = 7;
const ACTOR1_KNOWN_GROUP: usize = 8;
const ACTOR1_ETHNIC: usize = 9;
const ACTOR1_RELIGION1: usize = 10;
const ACTOR1_TYPE1: usize = 12;
const ACTOR2_CODE: usize = 15;
const ACTOR2_NAME: usize = 16;
const ACTOR2_COUNTRY: usize = 17;
const ACTOR2_KNOWN_GROUP: usize = 18;
const ACTOR2_ETHNIC: usize = 19;
const ACTOR2_RELIGION1: usize = 20;
const ACTOR2_TYPE1: usize = 22;
const EVENT_CODE: usize = 26;
const QUAD_CLASS: usize = 29;
const GOLDSTEIN: usize = 30;
const NUM_MENTIONS: usize = 31;
const NUM_SOURCES: usize = 32;
const NUM_ARTICLES: usize = 33;
const AVG_TONE: usize = 34;
const ACTION_GEO_FULLNAME: usize = 52;
const SOURCEURL: usize = 60;

const NAMES: [&str; COLUMNS] = [
    "GLOBALEVENTID",
    "SQLDATE",
    "MonthYear",
    "Year",
    "FractionDate",
    "Actor1Code",
    "Actor1Name",
    "Actor1CountryCode",
    "Actor1KnownGroupCode",
    "Actor1EthnicCode",
    "Actor1Religion1Code",
    "Actor1Religion2Code",
    "Actor1Type1Code",
    "Actor1Type2Code",
    "Actor1Type3Code",
    "Actor2Code",
    "Actor2Name",
    "Actor2CountryCode",
    "Actor2KnownGroupCode",
    "Actor2EthnicCode",
    "Actor2Religion1Code",
    "Actor2Religion2Code",
    "Actor2Type1Code",
    "Actor2Type2Code",
    "Actor2Type3Code",
    "IsRootEvent",
    "EventCode",
    "EventBaseCode",
    "EventRootCode",
    "QuadClass",
    "GoldsteinScale",
    "NumMentions",
    "NumSources",
    "NumArticles",
    "AvgTone",
    "Actor1Geo_Type",
    "Actor1Geo_FullName",
    "Actor1Geo_CountryCode",
    "Actor1Geo_ADM1Code",
    "Actor1Geo_ADM2Code",
    "Actor1Geo_Lat",
    "Actor1Geo_Long",
    "Actor1Geo_FeatureID",
    "Actor2Geo_Type",
    "Actor2Geo_FullName",
    "Actor2Geo_CountryCode",
    "Actor2Geo_ADM1Code",
    "Actor2Geo_ADM2Code",
    "Actor2Geo_Lat",
    "Actor2Geo_Long",
    "Actor2Geo_FeatureID",
    "ActionGeo_Type",
    "ActionGeo_FullName",
    "ActionGeo_CountryCode",
    "ActionGeo_ADM1Code",
    "ActionGeo_ADM2Code",
    "ActionGeo_Lat",
    "ActionGeo_Long",
    "ActionGeo_FeatureID",
    "DATEADDED",
    "SOURCEURL",
];

/// Maps one line of a GDELT 2.0 event export (its line ending, if any, is ignored).
pub fn gdelt(line: &str, types: &TypeMap) -> Mapped {
    let line = line.trim_end_matches(['\n', '\r']);
    let cols: Vec<&str> = line.split('\t').collect();
    if cols.len() != COLUMNS {
        // Say so rather than count the columns of compressed bytes (read as UTF-8, 0x8b of
        // gzip's magic is U+FFFD). A zip archive is refused before any line is read (stage).
        if line.starts_with("\u{1f}\u{fffd}") {
            return Mapped::skip(
                "malformed_line",
                "the file is gzip-compressed: decompress it, or upload it with \
                 `Content-Encoding: gzip`",
            );
        }
        return Mapped::skip(
            "malformed_line",
            format!(
                "expected {COLUMNS} tab-separated columns (GDELT 2.0 event export), found {}",
                cols.len()
            ),
        );
    }
    match parse(&cols) {
        Ok(event) => map(&cols, &event, types),
        Err(column) => Mapped::skip(
            "malformed_line",
            format!(
                "event `{}`: column {column} {} has `{}`, {}",
                cols[GLOBALEVENTID],
                NAMES[column],
                cols[column],
                expected(column)
            ),
        ),
    }
}

struct Event {
    id: u64,
    date: String,
    code: String,
    quad_class: u8,
    goldstein: f64,
    // Only the summary's: left out of it when empty.
    mentions: Option<u64>,
    sources: Option<u64>,
    articles: Option<u64>,
    tone: Option<f64>,
}

fn expected(column: usize) -> &'static str {
    match column {
        SQLDATE => "not a YYYYMMDD date",
        EVENT_CODE => "not a CAMEO code of 2 to 4 digits",
        QUAD_CLASS => "not 1, 2, 3 or 4",
        GOLDSTEIN | AVG_TONE => "not a number",
        _ => "not a whole number",
    }
}

/// The columns used, or the index of the first that does not parse.
fn parse(cols: &[&str]) -> Result<Event, usize> {
    let whole = |i: usize| {
        let s = cols[i].trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .ok_or(i)
    };
    let real = |i: usize| {
        cols[i]
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or(i)
    };
    let id = whole(GLOBALEVENTID)?;
    let raw = cols[SQLDATE].trim();
    let date = if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &raw[..4], &raw[4..6], &raw[6..])
    } else {
        String::new()
    };
    if raw.len() != 8 || !crosswalk::valid_date(&date) {
        return Err(SQLDATE);
    }
    let code = cols[EVENT_CODE].trim();
    if !(2..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EVENT_CODE);
    }
    let quad_class = match whole(QUAD_CLASS)? {
        q @ 1..=4 => q as u8,
        _ => return Err(QUAD_CLASS),
    };
    Ok(Event {
        id,
        date,
        code: code.to_string(),
        quad_class,
        goldstein: real(GOLDSTEIN)?,
        mentions: unless_empty(cols[NUM_MENTIONS], whole(NUM_MENTIONS))?,
        sources: unless_empty(cols[NUM_SOURCES], whole(NUM_SOURCES))?,
        articles: unless_empty(cols[NUM_ARTICLES], whole(NUM_ARTICLES))?,
        tone: unless_empty(cols[AVG_TONE], real(AVG_TONE))?,
    })
}

/// None for an empty column, else what parsing it gave.
fn unless_empty<T>(column: &str, parsed: Result<T, usize>) -> Result<Option<T>, usize> {
    match column.trim().is_empty() {
        true => Ok(None),
        false => parsed.map(Some),
    }
}

fn map(cols: &[&str], event: &Event, types: &TypeMap) -> Mapped {
    let id = event.id;
    let resolved = match types.resolve(&event.code) {
        Ok(resolved) => resolved,
        Err(why) => return Mapped::skip("unmapped_event", format!("event {id}: {why}")),
    };
    let actor = |code: usize, name: usize, country: usize| {
        format!(
            "`{}` (code `{}`, country `{}`)",
            cols[name], cols[code], cols[country]
        )
    };
    let actor1 = actor(ACTOR1_CODE, ACTOR1_NAME, ACTOR1_COUNTRY);
    let actor2 = actor(ACTOR2_CODE, ACTOR2_NAME, ACTOR2_COUNTRY);
    let (Some(initiator), Some(target)) = (
        crosswalk::state_code(cols[ACTOR1_COUNTRY]),
        crosswalk::state_code(cols[ACTOR2_COUNTRY]),
    ) else {
        return Mapped::skip(
            "not_state_to_state",
            format!("event {id}: Actor1 {actor1} and Actor2 {actor2} are not both states"),
        );
    };
    let group = [ACTOR1_KNOWN_GROUP, ACTOR1_ETHNIC, ACTOR1_RELIGION1]
        .into_iter()
        .find(|&i| !cols[i].trim().is_empty());
    if let Some(i) = group {
        return Mapped::skip(
            "source_non_state_sector",
            format!(
                "event {id}: Actor1 {actor1} is a group ({} `{}`), not its state",
                NAMES[i], cols[i]
            ),
        );
    }
    if !crosswalk::acts_for_state(cols[ACTOR1_TYPE1]) {
        return Mapped::skip(
            "source_non_state_sector",
            format!(
                "event {id}: Actor1 {actor1} has Actor1Type1Code `{}`, not a body of its state \
                 (counted: none, GOV, MIL, COP, JUD, LEG, SPY)",
                cols[ACTOR1_TYPE1]
            ),
        );
    }
    if initiator == target {
        return Mapped::skip(
            "same_state",
            format!("event {id}: Actor1 {actor1} and Actor2 {actor2} are both {initiator}"),
        );
    }

    let named = crosswalk::cameo_label(&event.code);
    let label = named
        .map(str::to_string)
        .unwrap_or_else(|| format!("CAMEO {}", event.code));
    let quoted = named.map(|l| format!(" \"{l}\"")).unwrap_or_default();
    let place = cols[ACTION_GEO_FULLNAME].trim();
    let tone = event
        .tone
        .map(|t| format!(", average tone {t:.2}"))
        .unwrap_or_default();
    let reach = match (event.mentions, event.sources, event.articles) {
        (Some(m), Some(s), Some(a)) => format!("; {m} mentions in {s} sources and {a} articles"),
        (m, s, a) => {
            let given: Vec<String> = [(m, "mentions"), (s, "sources"), (a, "articles")]
                .into_iter()
                .filter_map(|(n, what)| Some(format!("{} {what}", n?)))
                .collect();
            match given.is_empty() {
                true => String::new(),
                false => format!("; {}", given.join(", ")),
            }
        }
    };
    let summary = format!(
        "GDELT event {id}: {} ({}) to {} ({}), CAMEO {}{quoted}, quad class {}, Goldstein \
         {:.1}{tone}{reach}{}.",
        cols[ACTOR1_NAME].trim(),
        cols[ACTOR1_CODE].trim(),
        cols[ACTOR2_NAME].trim(),
        cols[ACTOR2_CODE].trim(),
        event.code,
        event.quad_class,
        event.goldstein,
        if place.is_empty() {
            String::new()
        } else {
            format!("; action location: {place}")
        }
    );
    // A target that is part of its state but does not act for it (rebels, civilians, a
    // group) is counted as the state: the summary says so, as for PLOVER.
    let part = [
        ACTOR2_TYPE1,
        ACTOR2_KNOWN_GROUP,
        ACTOR2_ETHNIC,
        ACTOR2_RELIGION1,
    ]
    .into_iter()
    .find(|&i| {
        let v = cols[i].trim();
        !v.is_empty() && (i != ACTOR2_TYPE1 || !crosswalk::acts_for_state(v))
    });
    let mut notes = Vec::new();
    // The row was read as UTF-8, as GDELT writes it: bytes of another encoding (a file
    // re-saved as Latin-1) became U+FFFD in the names, which nothing else would show.
    if cols.iter().any(|c| c.contains(char::REPLACEMENT_CHARACTER)) {
        notes.push(
            "the row holds bytes that are not UTF-8, shown as `\u{FFFD}` (GDELT exports are \
             UTF-8: was the file saved in another encoding?)"
                .to_string(),
        );
    }
    if let Some(i) = part {
        let name = match cols[ACTOR2_NAME].trim() {
            "" => String::new(),
            name => format!(
                "`{}` ",
                crosswalk::truncate(name, crosswalk::NOTE_NAME_CHARS)
            ),
        };
        notes.push(format!(
            "target {name}({}, {} `{}`) counted as {target}",
            crosswalk::truncate(cols[ACTOR2_CODE], crosswalk::NOTE_NAME_CHARS),
            NAMES[i],
            crosswalk::truncate(cols[i], crosswalk::NOTE_NAME_CHARS)
        ));
    }
    let url = cols[SOURCEURL].trim();
    let sources = match crate::input::url_fault(url) {
        None => vec![serde_json::json!({ "url": url })],
        Some(fault) => {
            if !url.is_empty() {
                let shown: String = url.chars().take(100).collect();
                let cut = if shown.len() < url.len() { "..." } else { "" };
                notes.push(format!("SOURCEURL `{shown}{cut}` left out: {fault}"));
            }
            Vec::new()
        }
    };
    Mapped::Lines(
        Draft {
            title: crosswalk::title(initiator, target, &label),
            text: summary,
            notes,
            initiator,
            target,
            type_code: resolved.type_code,
            status: crosswalk::status_for(&event.code),
            announced_on: event.date.clone(),
            severity: Some(severity(event.goldstein)),
            tags: vec![
                "gdelt".to_string(),
                format!("cameo-{}", event.code),
                format!("quad-class-{}", event.quad_class),
            ],
            sources,
            external_id: id.to_string(),
            source_dataset: "gdelt",
        }
        .into_lines(),
    )
}

/// GoldsteinScale as riposte's severity: -10..10, one decimal.
fn severity(goldstein: f64) -> f64 {
    // `+ 0.0` makes a negative zero (`-0`, `-0.04`) plain 0.
    (goldstein.clamp(-10.0, 10.0) * 10.0).round() / 10.0 + 0.0
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::crosswalk::{check_lines, riposte_types};
    use super::*;

    /// Lines made up in the shape of a GDELT 2.0 export (`tests/fixtures/` in riposte too).
    fn fixture() -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gdelt-sample.export.CSV");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn map(line: &str) -> Mapped {
        gdelt(line, &TypeMap::new(&riposte_types()))
    }

    fn action(line: &str) -> Value {
        match map(line) {
            Mapped::Lines(lines) => {
                check_lines(&lines);
                assert_eq!(lines.len(), 3);
                lines[2].clone()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_fixture_line_has_its_outcome() {
        // (initiator, target, type, status, severity) for actions, or the skip reason.
        type Action<'a> = (&'a str, &'a str, &'a str, &'a str, f64);
        let expected: &[Result<Action, &str>] = &[
            Ok(("USA", "IRN", "sectoral_sanction", "announced", -8.0)), // 163
            Ok(("CHN", "USA", "visa_ban", "announced", -5.0)),          // 172
            Ok(("CHN", "USA", "threaten_sanctions", "threatened", -5.8)), // 1312
            Ok(("RUS", "GBR", "criticize", "announced", -2.0)),         // 111
            Ok(("USA", "VEN", "intent_to_ease", "announced", 7.0)),     // 0354
            Ok(("PRK", "KOR", "threaten", "threatened", -7.0)),         // 138 -> 130
            Ok(("DEU", "UKR", "reduce_relations", "announced", -5.6)),  // 1622 -> 160
            Err("unmapped_event"),                                      // 0231
            Err("unmapped_event"),                                      // 042
            Err("unmapped_event"),                                      // 1056
            Err("not_state_to_state"),                                  // no Actor2
            Err("not_state_to_state"),                                  // EUR
            Err("not_state_to_state"),                                  // WST
            Err("not_state_to_state"),                                  // IGOUNO
            Err("source_non_state_sector"),                             // USABUS
            Err("same_state"),                                          // ISRGOV -> ISROPP
            Err("malformed_line"),                                      // 60 columns
            Err("malformed_line"),                                      // SQLDATE 20241340
            Err("malformed_line"),                                      // GoldsteinScale n/a
        ];
        let lines = fixture();
        assert_eq!(lines.len(), expected.len());
        for (i, (line, want)) in lines.iter().zip(expected).enumerate() {
            match (map(line), want) {
                (Mapped::Lines(lines), Ok((initiator, target, type_, status, severity))) => {
                    check_lines(&lines);
                    let a = &lines[2];
                    assert_eq!(a["initiator"], *initiator, "line {}", i + 1);
                    assert_eq!(a["target"], *target, "line {}", i + 1);
                    assert_eq!(a["type"], *type_, "line {}", i + 1);
                    assert_eq!(a["status"], *status, "line {}", i + 1);
                    assert_eq!(a["severity"], *severity, "line {}", i + 1);
                }
                (Mapped::Skipped { reason, .. }, Err(want)) => {
                    assert_eq!(reason, *want, "line {}", i + 1)
                }
                (got, want) => panic!("line {}: {got:?}, expected {want:?}", i + 1),
            }
        }
    }

    #[test]
    fn a_sanction_event_in_full() {
        let a = action(&fixture()[0]);
        assert_eq!(
            a,
            json!({
                "title": "United States → Iran: Impose embargo, boycott, or sanctions",
                "summary": "GDELT event 1187254401: UNITED STATES (USAGOV) to IRAN (IRN), CAMEO \
                    163 \"Impose embargo, boycott, or sanctions\", quad class 4, Goldstein -8.0, \
                    average tone -4.82; 10 mentions in 1 sources and 10 articles; action \
                    location: Iran.",
                "initiator": "USA",
                "target": "IRN",
                "type": "sectoral_sanction",
                "status": "announced",
                "announced_on": "2024-08-15",
                "severity": -8.0,
                "tags": ["gdelt", "cameo-163", "quad-class-4"],
                "sources": [{"url": "https://www.reuters.com/world/us/us-imposes-new-sanctions-iran-oil-network-2024-08-15/"}],
                "external_id": "1187254401",
                "source_dataset": "gdelt",
            })
        );
    }

    #[test]
    fn event_codes_keep_their_leading_zero() {
        let a = action(&fixture()[4]);
        assert_eq!(a["tags"][1], "cameo-0354");
        assert_eq!(
            a["title"],
            "United States → Venezuela: Express intent to ease economic sanctions, boycott, embargo"
        );
    }

    #[test]
    fn skip_details_name_the_values() {
        let lines = fixture();
        let detail = |i: usize| match map(&lines[i]) {
            Mapped::Skipped { detail, .. } => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            detail(7),
            "event 1187254408: CAMEO 0231 has no riposte type, nor has 023"
        );
        assert!(
            detail(11).contains("`EUROPE` (code `EUR`, country `EUR`)"),
            "{}",
            detail(11)
        );
        assert!(
            detail(14).contains("Actor1Type1Code `BUS`"),
            "{}",
            detail(14)
        );
        assert_eq!(
            detail(16),
            "expected 61 tab-separated columns (GDELT 2.0 event export), found 60"
        );
        assert_eq!(
            detail(17),
            "event `1187254418`: column 1 SQLDATE has `20241340`, not a YYYYMMDD date"
        );
        assert_eq!(
            detail(18),
            "event `1187254419`: column 30 GoldsteinScale has `n/a`, not a number"
        );
    }

    fn edit(line: &str, changes: &[(usize, &str)]) -> String {
        let mut cols: Vec<&str> = line.split('\t').collect();
        for (i, v) in changes {
            cols[*i] = v;
        }
        cols.join("\t")
    }

    /// The counts and the tone only feed the summary: empty, they are left out of it (the
    /// row was skipped as `malformed_line`); given, they must still parse.
    #[test]
    fn empty_counts_and_tone_leave_the_summary_only() {
        let line = &fixture()[0];
        let summary = |changes: &[(usize, &str)]| {
            action(&edit(line, changes))["summary"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let whole = summary(&[]);
        assert!(
            whole.contains("average tone -4.82; 10 mentions in 1 sources and 10 articles"),
            "{whole}"
        );
        let without = summary(&[(AVG_TONE, ""), (NUM_ARTICLES, " ")]);
        assert!(
            without.contains("Goldstein -8.0; 10 mentions, 1 sources; action location"),
            "{without}"
        );
        let bare = summary(&[
            (AVG_TONE, ""),
            (NUM_MENTIONS, ""),
            (NUM_SOURCES, ""),
            (NUM_ARTICLES, ""),
        ]);
        assert!(bare.contains("Goldstein -8.0; action location"), "{bare}");
        assert!(matches!(
            map(&edit(line, &[(NUM_ARTICLES, "ten")])),
            Mapped::Skipped {
                reason: "malformed_line",
                ..
            }
        ));
    }

    #[test]
    fn severities_are_clamped_and_rounded() {
        let line = &fixture()[0];
        for (goldstein, severity) in [
            ("-12", -10.0),
            ("10.5", 10.0),
            ("-5.83", -5.8),
            ("3.25", 3.3),
            ("-0", 0.0),
            ("-0.04", 0.0),
        ] {
            let a = action(&edit(line, &[(GOLDSTEIN, goldstein)]));
            assert_eq!(a["severity"], severity, "{goldstein}");
            assert!(!a["severity"].to_string().starts_with("-0"), "{goldstein}");
        }
    }

    #[test]
    fn odd_lines() {
        let line = &fixture()[0];
        // Windows line endings and a URL riposte would refuse.
        let a = action(&format!("{}\r\n", edit(line, &[(SOURCEURL, "")])));
        assert_eq!(a["sources"], json!([]));
        assert!(!a["summary"].as_str().unwrap().contains("Import note"));
        let a = action(&edit(line, &[(SOURCEURL, "javascript:alert(1)")]));
        assert_eq!(a["sources"], json!([]));
        assert!(
            a["summary"].as_str().unwrap().ends_with(
                "[Import note: SOURCEURL `javascript:alert(1)` left out: it is not http:// or \
                 https:// followed by a host.]"
            ),
            "{}",
            a["summary"]
        );
        let groups = [
            (ACTOR1_KNOWN_GROUP, "UNO"),
            (ACTOR1_ETHNIC, "kur"),
            (ACTOR1_TYPE1, "REB"),
        ];
        for change in groups {
            assert!(matches!(
                map(&edit(line, &[change])),
                Mapped::Skipped {
                    reason: "source_non_state_sector",
                    ..
                }
            ));
        }
        // Actor2 may be any part of its state, counted as the state; the summary says so.
        let summary = |a: &Value| a["summary"].as_str().unwrap().to_string();
        let part = action(&edit(
            line,
            &[(ACTOR2_TYPE1, "REB"), (ACTOR2_CODE, "IRNREB")],
        ));
        assert!(
            summary(&part).ends_with(&format!(
                "[Import note: target `{}` (IRNREB, Actor2Type1Code `REB`) counted as {}.]",
                line.split('\t').nth(ACTOR2_NAME).unwrap(),
                part["target"].as_str().unwrap()
            )),
            "{}",
            summary(&part)
        );
        // A target without a name is named by its code alone.
        let nameless = action(&edit(
            line,
            &[
                (ACTOR2_TYPE1, "REB"),
                (ACTOR2_CODE, "IRNREB"),
                (ACTOR2_NAME, ""),
            ],
        ));
        assert!(
            summary(&nameless).contains("[Import note: target (IRNREB, Actor2Type1Code `REB`)"),
            "{}",
            summary(&nameless)
        );
        // A root code without a label of its own is not quoted as its own label.
        let root = action(&edit(line, &[(EVENT_CODE, "13")]));
        assert!(
            summary(&root).contains("CAMEO 13, quad class"),
            "{}",
            summary(&root)
        );
        let group = action(&edit(line, &[(ACTOR2_ETHNIC, "kur")]));
        assert!(
            summary(&group).contains("Actor2EthnicCode `kur`"),
            "{}",
            summary(&group)
        );
        for body in ["GOV", ""] {
            let a = action(&edit(line, &[(ACTOR2_TYPE1, body)]));
            assert!(!summary(&a).contains("Import note"), "{}", summary(&a));
        }
        for (col, bad) in [
            (EVENT_CODE, "01a"),
            (QUAD_CLASS, "5"),
            (GLOBALEVENTID, ""),
            (NUM_MENTIONS, "-1"),
        ] {
            match map(&edit(line, &[(col, bad)])) {
                Mapped::Skipped {
                    reason: "malformed_line",
                    detail,
                } => {
                    assert!(detail.contains(NAMES[col]), "{detail}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            map(""),
            Mapped::Skipped {
                reason: "malformed_line",
                ..
            }
        ));
    }
}
