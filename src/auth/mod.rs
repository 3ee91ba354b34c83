//! API keys and who may do what.
//!
//! A key looks like `rsk_` + 43 random base62 characters + 6 base62 characters of CRC-32 over
//! them: the prefix makes leaked keys easy to recognise (and scan for), the checksum lets a
//! mistyped key be refused without a database look-up. Only the SHA-256 of a key is stored.
//!
//! What a request presents, and the extractors that admit a caller by scope, are HTTP's:
//! `request`. The rest (keys, scopes, who is calling) is what services take.

mod request;
pub use request::{presented, Admin, Authenticated, Presented, Reader, Writer};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::models::api_key::{self, ApiKeyRow, Standing};
use crate::models::enums::parse_stored;
use crate::state::AppState;

pub const KEY_PREFIX: &str = "rsk_";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
pub const KEY_LEN: usize = KEY_PREFIX.len() + BODY_LEN + CHECK_LEN;
/// How much of a key is shown in lists and logs.
pub const DISPLAY_PREFIX_LEN: usize = 12;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

crate::models::enums::text_enum! {
    /// What a key may do: `read` < `write` < `admin`; each includes the ones before it.
    Scope {
        Read => "read",
        Write => "write",
        Admin => "admin",
    }
}

impl Scope {
    fn rank(self) -> u8 {
        match self {
            Scope::Read => 0,
            Scope::Write => 1,
            Scope::Admin => 2,
        }
    }

    pub fn includes(self, other: Scope) -> bool {
        self.rank() >= other.rank()
    }
}

/// A freshly made key: the secret is shown once, the hash is stored.
#[derive(Clone)]
pub struct NewSecret {
    pub secret: String,
    pub prefix: String,
    pub hash: Vec<u8>,
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

pub fn generate() -> NewSecret {
    let mut body = String::with_capacity(BODY_LEN);
    let mut buf = [0u8; 64];
    while body.len() < BODY_LEN {
        getrandom::fill(&mut buf).expect("the operating system provides randomness");
        // Rejection sampling keeps every character equally likely.
        for b in buf {
            if b < 248 && body.len() < BODY_LEN {
                body.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    let secret = format!("{KEY_PREFIX}{body}{}", checksum(&body));
    NewSecret {
        prefix: secret[..DISPLAY_PREFIX_LEN].to_string(),
        hash: hash(&secret),
        secret,
    }
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Shape and checksum, without touching the database.
pub fn well_formed(secret: &str) -> bool {
    secret.len() == KEY_LEN
        && secret.starts_with(KEY_PREFIX)
        && secret
            .bytes()
            .skip(KEY_PREFIX.len())
            .all(|b| b.is_ascii_alphanumeric())
        && {
            let body = &secret[KEY_PREFIX.len()..KEY_PREFIX.len() + BODY_LEN];
            checksum(body) == secret[KEY_PREFIX.len() + BODY_LEN..]
        }
}

/// The key a request was made with, if any.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: Scope,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who is calling: an API key or nobody, plus the request id for the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: Option<KeyInfo>,
    pub request_id: Option<String>,
}

/// The request id set by the request-id middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl Caller {
    /// The command line: no key, no request.
    pub fn cli() -> Self {
        Caller {
            key: None,
            request_id: None,
        }
    }

    pub fn key_id(&self) -> Option<Uuid> {
        self.key.as_ref().map(|k| k.id)
    }

    /// Demands a key of at least `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        match &self.key {
            None => Err(AppError::Unauthorized {
                detail: format!(
                    "this operation needs an API key with `{scope}` scope, sent as \
                     `Authorization: Bearer rsk_...`"
                ),
                invalid_token: false,
            }),
            Some(key) if key.scope.includes(scope) => Ok(()),
            Some(key) => Err(AppError::Forbidden(format!(
                "the key `{}` has `{}` scope; this operation needs `{scope}`",
                key.name, key.scope
            ))),
        }
    }

    /// Reads are open unless `RIPOSTE_PUBLIC_READ=false`.
    pub fn require_read(&self, state: &AppState) -> AppResult<()> {
        if state.config.public_read {
            Ok(())
        } else {
            self.require(Scope::Read)
        }
    }
}

pub(crate) fn unauthorized(detail: &str) -> AppError {
    AppError::Unauthorized {
        detail: detail.to_string(),
        invalid_token: true,
    }
}

/// Checks a presented secret, well formed (`presented` said so), against the stored keys.
pub async fn authenticate(state: &AppState, secret: &str) -> AppResult<KeyInfo> {
    let mut conn = state.conn().await?;
    let row: ApiKeyRow = api_key::find_by_hash(&mut conn, &hash(secret))
        .await?
        .ok_or_else(|| unauthorized("unknown API key"))?;
    if let Some(refused) = refusal(&row) {
        return Err(refused);
    }
    if row.touch_due() {
        api_key::touch(&mut conn, row.id).await?;
    }
    Ok(KeyInfo {
        id: row.id,
        scope: parse_stored(&row.scope)?,
        name: row.name,
        expires_at: row.expires_at,
    })
}

/// Why a stored key is refused now, if it is: revoked, or past its expiry.
fn refusal(row: &ApiKeyRow) -> Option<AppError> {
    match row.standing() {
        Standing::Active => None,
        Standing::Revoked(at) => Some(unauthorized(&format!(
            "the API key `{}` was revoked at {at}",
            row.prefix
        ))),
        Standing::Expired(at) => Some(unauthorized(&format!(
            "the API key `{}` expired at {at}",
            row.prefix
        ))),
    }
}

/// Whether the key `id` is still in force, for a response that outlives the request that
/// presented it (the event stream).
pub async fn still_in_force(state: &AppState, id: Uuid) -> AppResult<bool> {
    let mut conn = state.conn().await?;
    Ok(api_key::find(&mut conn, id)
        .await?
        .is_some_and(|row| refusal(&row).is_none()))
}

#[cfg(test)]
mod documented {
    /// Every key the OpenAPI document shows is one a client could send: well-formed (length,
    /// alphabet, check characters), so a server refuses it only as unknown.
    #[test]
    fn every_documented_key_is_well_formed() {
        fn keys(value: &serde_json::Value, found: &mut Vec<String>) {
            match value {
                serde_json::Value::String(s) if s.starts_with("rsk_") && !s.contains('.') => {
                    found.push(s.clone())
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, found)),
                serde_json::Value::Object(map) => map.values().for_each(|v| keys(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        keys(&crate::openapi::document(), &mut found);
        let whole: Vec<&String> = found.iter().filter(|k| k.len() == super::KEY_LEN).collect();
        assert!(!whole.is_empty(), "no whole key among {found:?}");
        for key in whole {
            assert!(super::well_formed(key), "{key}");
        }
    }
}
