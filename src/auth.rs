//! API keys and who may do what.
//!
//! A key looks like `rsk_` + 43 random base62 characters + 6 base62 characters of CRC-32 over
//! them: the prefix makes leaked keys easy to recognise (and scan for), the checksum lets a
//! mistyped key be refused without a database look-up. Only the SHA-256 of a key is stored.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
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

fn unauthorized(detail: &str) -> AppError {
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

/// What a request's `Authorization` header holds.
pub enum Presented {
    Nothing,
    /// Not `Bearer <well-formed key>`: refused without a look-up.
    Malformed(AppError),
    /// A well-formed key (shape and checksum), still to be looked up.
    Key(String),
}

/// Reads the `Authorization` header: the scheme in any case, then the key's shape.
pub fn presented(headers: &header::HeaderMap) -> Presented {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::Nothing;
    };
    if headers.get_all(header::AUTHORIZATION).nth(1).is_some() {
        return Presented::Malformed(unauthorized(
            "more than one Authorization header; send one, with one key",
        ));
    }
    let Ok(value) = value.to_str() else {
        return Presented::Malformed(unauthorized("the Authorization header is not ASCII"));
    };
    let secret = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Presented::Malformed(unauthorized(
                "send the key as `Authorization: Bearer rsk_...`",
            ))
        }
    };
    if !well_formed(secret) {
        return Presented::Malformed(unauthorized(&format!(
            "the API key is malformed (a key is `{KEY_PREFIX}` followed by {} letters and \
             digits); check that it was copied whole",
            BODY_LEN + CHECK_LEN
        )));
    }
    Presented::Key(secret.to_string())
}

/// The outcome of authenticating a request's key, left in its extensions by the rate-limit
/// middleware (which must know the key to pick its bucket), so it is looked up once.
#[derive(Clone)]
pub struct Authenticated(pub Result<Option<KeyInfo>, AppError>);

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let done = req.extensions().get::<Authenticated>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = presented(req.headers());
        Box::pin(async move {
            let key = match (done, presented) {
                (Some(Authenticated(result)), _) => result?,
                (None, Presented::Nothing) => None,
                (None, Presented::Malformed(error)) => return Err(error),
                (None, Presented::Key(secret)) => {
                    let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
                    Some(authenticate(&state, &secret).await?)
                }
            };
            Ok(Caller { key, request_id })
        })
    }
}

/// Extractors that admit only callers of a scope, checked before the body is read, so that an
/// unauthorised request is told so before anything about its body.
macro_rules! scoped_extractor {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let caller = Caller::from_request(req, payload);
                let state = req.app_data::<web::Data<AppState>>().cloned();
                Box::pin(async move {
                    let caller = caller.await?;
                    let state = state.ok_or_else(|| AppError::Internal("no app state".into()))?;
                    let check: fn(&Caller, &AppState) -> AppResult<()> = $check;
                    check(&caller, &state)?;
                    Ok($name(caller))
                })
            }
        }
    };
}

scoped_extractor!(
    /// A caller allowed to read: anyone while reads are public, else a `read` key.
    Reader,
    |caller, state| caller.require_read(state)
);
scoped_extractor!(
    /// A caller with a `write` key.
    Writer,
    |caller, _| caller.require(Scope::Write)
);
scoped_extractor!(
    /// A caller with an `admin` key.
    Admin,
    |caller, _| caller.require(Scope::Admin)
);

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
