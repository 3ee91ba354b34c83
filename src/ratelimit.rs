//! Rate limiting: a token bucket per API key (per client address for requests without one),
//! kept in memory by each server process.
//!
//! Every `/v1` response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`;
//! a request over the limit gets 429 with `Retry-After`. The bucket is chosen from the
//! `Authorization` header itself, before the key is checked, so even floods of bad keys are
//! limited without touching the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::error::AppError;
use crate::state::AppState;

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `N` requests per second with a burst of `2N`; 0 means no limit.
    pub fn per_second(n: u32) -> Option<Rate> {
        (n > 0).then(|| Rate {
            per_second: f64::from(n),
            burst: f64::from(n) * 2.0,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Per API key (`RIPOSTE_RATE_LIMIT`, requests per second).
    pub per_key: Option<Rate>,
    /// Per client address, for requests without a key (`RIPOSTE_RATE_LIMIT_ANONYMOUS`).
    pub anonymous: Option<Rate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Key(u64),
    Address(Option<IpAddr>),
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of one server.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<Client, Bucket>>,
}

/// What a request may know of its bucket.
pub struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until a request is allowed again (when refused) or the bucket is full.
    pub reset: u64,
}

impl Limiter {
    fn check(&self, client: Client, rate: Rate) -> Verdict {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget idle clients rather than grow without bound.
            buckets.retain(|_, b| now.duration_since(b.at).as_secs() < 60);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let reset = if allowed {
            (rate.burst - bucket.tokens) / rate.per_second
        } else {
            (1.0 - bucket.tokens) / rate.per_second
        };
        Verdict {
            allowed,
            limit: rate.burst as u64,
            remaining: bucket.tokens.floor().max(0.0) as u64,
            reset: reset.ceil().max(1.0) as u64,
        }
    }
}

fn client_of(req: &ServiceRequest) -> (Client, bool) {
    match req.headers().get(AUTHORIZATION) {
        Some(value) => {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            value.as_bytes().hash(&mut hasher);
            (Client::Key(hasher.finish()), true)
        }
        None => (Client::Address(req.peer_addr().map(|a| a.ip())), false),
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let verdict = state.as_ref().and_then(|state| {
        if !req.path().starts_with("/v1/") {
            return None;
        }
        let (client, keyed) = client_of(&req);
        let limits = state.config.rate_limits;
        let rate = if keyed {
            limits.per_key
        } else {
            limits.anonymous
        }?;
        Some(state.limiter.check(client, rate))
    });
    let Some(verdict) = verdict else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let mut res = if verdict.allowed {
        next.call(req).await?.map_into_left_body()
    } else {
        let error = AppError::TooManyRequests(format!(
            "rate limit of {} requests exceeded; retry in {} s",
            verdict.limit, verdict.reset
        ));
        let mut response = error.error_response();
        response.headers_mut().insert(
            RETRY_AFTER,
            HeaderValue::from_str(&verdict.reset.to_string()).expect("digits"),
        );
        req.into_response(response).map_into_right_body()
    };
    let headers = res.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", verdict.limit),
        ("ratelimit-remaining", verdict.remaining),
        ("ratelimit-reset", verdict.reset),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value.to_string()).expect("digits"),
        );
    }
    Ok(res)
}
