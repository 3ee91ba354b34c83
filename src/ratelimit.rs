//! Rate limiting: a token bucket per authenticated API key, and one per client address for
//! everything else (no key, a malformed, unknown, expired or revoked one), kept in memory by
//! each server process (`governor`'s keyed GCRA limiters: constant cost per request).
//!
//! A request with a key is authenticated here, once, before its bucket is chosen: buckets
//! belong to keys, not to `Authorization` header spellings, so made-up keys or other
//! spellings of a real one buy no extra budget. A key this server has not seen succeed lately
//! spends one token of the address's budget before it is looked up, so a flood of made-up
//! keys costs at most the address's rate in database look-ups, then gets 429s without any.
//!
//! Every `/v1` response carries `RateLimit-Limit` (the sustained rate per second, as
//! documented), `RateLimit-Remaining` and `RateLimit-Reset`; a request over the limit gets
//! 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use crate::auth::{self, Authenticated, Presented};
use crate::error::AppError;
use crate::state::AppState;

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second (tests use fractions for slow refills).
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    /// `N` requests per second with a burst of `2N`; 0 means no limit.
    pub fn per_second(n: u32) -> Option<Rate> {
        (n > 0).then(|| Rate {
            per_second: f64::from(n),
            burst: n.saturating_mul(2),
        })
    }

    fn quota(self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.per_second.max(1e-6));
        let burst = NonZeroU32::new(self.burst.max(1)).expect("at least 1");
        Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(burst)
    }

    /// The rate as `RateLimit-Limit` states it.
    fn header(self) -> String {
        if self.per_second.fract() == 0.0 {
            format!("{}", self.per_second as u64)
        } else {
            format!("{}", self.per_second)
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Per API key (`RIPOSTE_RATE_LIMIT`, requests per second).
    pub per_key: Option<Rate>,
    /// Per client address, for requests without a valid key (`RIPOSTE_RATE_LIMIT_ANONYMOUS`).
    pub anonymous: Option<Rate>,
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One kind of bucket: a keyed limiter and its rate.
struct Buckets<K: std::hash::Hash + Eq + Clone> {
    limiter: Keyed<K>,
    rate: Rate,
    /// Size at which idle buckets are next dropped; doubles with the live ones, so the
    /// clean-up costs a constant amount per request however many clients there are.
    sweep_at: AtomicUsize,
}

/// Buckets of clients that have been idle long enough to be full again are forgotten once
/// the table has grown to this size (then twice the live ones).
const SWEEP_MIN: usize = 10_000;

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    fn new(rate: Rate) -> Self {
        Buckets {
            limiter: RateLimiter::keyed(rate.quota()).with_middleware(),
            rate,
            sweep_at: AtomicUsize::new(SWEEP_MIN),
        }
    }

    fn check(&self, key: &K) -> Verdict {
        let len = self.limiter.len();
        if len >= self.sweep_at.load(Ordering::Relaxed) {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
            let live = self.limiter.len();
            self.sweep_at
                .store((live * 2).max(SWEEP_MIN), Ordering::Relaxed);
        }
        let per_token = 1.0 / self.rate.per_second.max(1e-6);
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = f64::from(self.rate.burst.saturating_sub(remaining));
                Verdict {
                    allowed: true,
                    limit: self.rate.header(),
                    remaining,
                    reset: (missing * per_token).ceil().max(1.0) as u64,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Verdict {
                    allowed: false,
                    limit: self.rate.header(),
                    remaining: 0,
                    reset: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }
}

/// The buckets of one server, and the keys it saw authenticate lately.
pub struct Limiter {
    keys: Option<Buckets<Uuid>>,
    addresses: Option<Buckets<Option<IpAddr>>>,
    /// SHA-256 of secrets that authenticated here lately: they skip the address's budget
    /// before their look-up. Only real keys get in, so it stays small; cleared when full.
    known: Mutex<HashMap<Vec<u8>, Instant>>,
}

const KNOWN_MAX: usize = 10_000;
const KNOWN_FOR: Duration = Duration::from_secs(600);

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Limiter {
            keys: limits.per_key.map(Buckets::new),
            addresses: limits.anonymous.map(Buckets::new),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn is_known(&self, hash: &[u8]) -> bool {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(hash).is_some_and(|at| at.elapsed() < KNOWN_FOR)
    }

    fn remember(&self, hash: Vec<u8>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= KNOWN_MAX {
            known.clear();
        }
        known.insert(hash, Instant::now());
    }

    fn address(&self, addr: Option<IpAddr>) -> Option<Verdict> {
        self.addresses.as_ref().map(|b| b.check(&addr))
    }
}

/// What a request may know of its bucket.
pub struct Verdict {
    pub allowed: bool,
    /// Requests per second (the documented rate, not the burst).
    pub limit: String,
    pub remaining: u32,
    /// Seconds until a request is allowed again (when refused) or the bucket is full.
    pub reset: u64,
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if !req.path().starts_with("/v1/") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limiter = &state.limiter;
    let addr = state
        .config
        .trusted_proxies
        .client(req.peer_addr().map(|a| a.ip()), req.headers());
    let verdict = match auth::presented(req.headers()) {
        Presented::Nothing => limiter.address(addr),
        Presented::Malformed(error) => {
            req.extensions_mut().insert(Authenticated(Err(error)));
            limiter.address(addr)
        }
        Presented::Key(secret) => {
            let hash = auth::hash(&secret);
            let attempt = if limiter.is_known(&hash) {
                None
            } else {
                limiter.address(addr)
            };
            match attempt {
                Some(refused) if !refused.allowed => Some(refused),
                attempt => match auth::authenticate(&state, &secret).await {
                    Ok(key) => {
                        limiter.remember(hash);
                        let verdict = limiter.keys.as_ref().map(|b| b.check(&key.id));
                        req.extensions_mut().insert(Authenticated(Ok(Some(key))));
                        verdict
                    }
                    Err(error) => {
                        req.extensions_mut().insert(Authenticated(Err(error)));
                        // A known key that now fails (revoked, expired) spends the address's
                        // budget like any other failure.
                        attempt.or_else(|| limiter.address(addr))
                    }
                },
            }
        }
    };
    let Some(verdict) = verdict else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let mut res = if verdict.allowed {
        next.call(req).await?.map_into_left_body()
    } else {
        let error = AppError::rate_limited(&verdict.limit, verdict.reset);
        req.into_response(error.error_response())
            .map_into_right_body()
    };
    let headers = res.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", verdict.limit),
        ("ratelimit-remaining", verdict.remaining.to_string()),
        ("ratelimit-reset", verdict.reset.to_string()),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("digits"),
        );
    }
    Ok(res)
}
