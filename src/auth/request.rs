//! The HTTP side of keys: what a request's `Authorization` header presents, and the
//! extractors that admit a caller (`Caller`, `Reader`, `Writer`, `Admin`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::{authenticate, unauthorized, well_formed, Caller, KeyInfo, RequestId, Scope};
use super::{BODY_LEN, CHECK_LEN, KEY_PREFIX};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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
