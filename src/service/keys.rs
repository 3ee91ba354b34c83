//! Creating and revoking API keys (over HTTP by admins, and from the command line).

use chrono::{DateTime, Utc};

use super::audit;
use crate::auth::{self, Caller, Scope};
use crate::db::DbPool;
use crate::error::{AppError, AppResult, FieldError};
use crate::input::check_text;
use crate::limits::MAX_KEY_NAME_LEN;
use crate::models::api_key::{self, NewApiKeyRow};
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::views::{ApiKey, NewApiKeySecret};

pub async fn create(
    pool: &DbPool,
    caller: &Caller,
    name: &str,
    scope: Scope,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<NewApiKeySecret> {
    let mut errors = Vec::new();
    check_text(&mut errors, "name", Some(name), MAX_KEY_NAME_LEN, true);
    // Operators read key names in a terminal (`riposte keys list`) to tell keys apart: a
    // line break or an escape sequence there would forge rows or run terminal commands, and
    // a bidi override (U+202E), a zero-width space, a byte-order mark, a no-break space or
    // a space at either end would show a name as another.
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    let unseen = |c: char| {
        c != ' '
            && matches!(
                c.general_category(),
                G::Control
                    | G::Format
                    | G::SpaceSeparator
                    | G::LineSeparator
                    | G::ParagraphSeparator
            )
    };
    if name.chars().any(unseen) || name.trim_matches(' ') != name {
        errors.push(FieldError::new(
            "name",
            "must not contain control or format characters (line breaks, tabs, escapes, \
             zero-width spaces and joiners, direction marks and overrides, byte-order \
             marks), separators other than the plain space, nor a space at either end",
        ));
    }
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        errors.push(FieldError::new("expires_at", "must be in the future"));
    }
    // A key made by a key that expires cannot outlive it (a temporary admin key would
    // otherwise leave a permanent one behind): it expires with its maker unless asked
    // to expire sooner.
    let limit = caller.key.as_ref().and_then(|k| k.expires_at);
    let expires_at = match (expires_at, limit) {
        (Some(at), Some(limit)) if at > limit => {
            errors.push(FieldError::new(
                "expires_at",
                format!(
                    "must not be after {}, when the key making this one expires",
                    limit.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
            None
        }
        (None, limit) => limit,
        (given, _) => given,
    };
    if !errors.is_empty() {
        return Err(AppError::invalid(errors));
    }
    let secret = auth::generate();
    let row = NewApiKeyRow {
        name: name.to_string(),
        scope: scope.as_str().to_string(),
        prefix: secret.prefix.clone(),
        secret_hash: secret.hash.clone(),
        expires_at,
    };
    let caller = caller.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, row, secret) = (caller.clone(), row.clone(), secret.clone());
        Box::pin(async move {
            let key = ApiKey::from_row(api_key::insert(conn, &row).await?)?;
            audit(
                conn,
                &caller,
                AuditOperation::Create,
                AuditEntity::ApiKey,
                key.id,
                None,
                Some(&key),
            )
            .await?;
            Ok(NewApiKeySecret {
                key,
                secret: secret.secret,
            })
        })
    })
    .await
}

/// Revokes by id or printed prefix; revoking twice is harmless.
/// Revokes a key named by its id or printed prefix; `Ok` with the key, and whether it was
/// revoked before (then nothing changes).
pub async fn revoke(
    pool: &DbPool,
    caller: &Caller,
    key: &str,
    expect: super::Expect<ApiKey>,
) -> AppResult<(ApiKey, bool)> {
    // A whole secret is never repeated back: in a message it lands in terminals and logs.
    if key.starts_with(auth::KEY_PREFIX) && key.len() > auth::DISPLAY_PREFIX_LEN {
        return Err(AppError::bad_param(
            "key",
            format!(
                "this is a whole secret, which is not repeated here; give the key's id or its \
                 prefix `{}`",
                &key[..auth::DISPLAY_PREFIX_LEN]
            ),
        ));
    }
    let caller = caller.clone();
    let key = key.to_string();
    super::write_outside_feed(pool, move |conn| {
        let (caller, expect, key) = (caller.clone(), expect.clone(), key.clone());
        Box::pin(async move {
            let mut found = api_key::find_by_id_or_prefix(conn, &key).await?;
            let row = match found.len() {
                0 => return Err(AppError::not_found(format_args!("API key `{key}`"))),
                1 => found.remove(0),
                n => {
                    return Err(AppError::Conflict(format!(
                        "{n} keys share the prefix `{key}`; revoke by id"
                    )))
                }
            };
            let before = ApiKey::from_row(row.clone())?;
            expect(&before)?;
            if row.revoked_at.is_some() {
                return Ok((before, true));
            }
            let after = ApiKey::from_row(api_key::revoke(conn, row.id).await?)?;
            audit(
                conn,
                &caller,
                AuditOperation::Revoke,
                AuditEntity::ApiKey,
                row.id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok((after, false))
        })
    })
    .await
}
