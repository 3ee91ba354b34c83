//! The checks of request values that need no database, shared by the bodies, the
//! webhooks and the importers.

use super::*;

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
    // Schemes are case-insensitive (RFC 3986 3.1): `HTTPS://` is a link like any other.
    let rest = url.split_once("://").and_then(|(scheme, rest)| {
        (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http"))
            .then_some(rest)
    });
    if !rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '.', '?', '#', '$'])) {
        return Some("it is not http:// or https:// followed by a host".into());
    }
    match reqwest::Url::parse(url) {
        // Port 0 is no port: nothing listens there, nothing connects to it.
        Ok(parsed) if parsed.port() == Some(0) => Some("its port is 0".into()),
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

/// A dataset's name (migration 000013 holds the same rule); whether it is one.
pub fn check_source_dataset(errors: &mut Vec<FieldError>, dataset: &str) -> bool {
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
    }
    ok
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
        if check_source_dataset(errors, dataset) && external_id.is_none() {
            errors.push(FieldError::new(
                "source_dataset",
                "names the dataset of `external_id`; give external_id with it",
            ));
        }
    }
}
