//! Webhook deliveries (issue #12, section 4): signing (Standard Webhooks), the address guard
//! against requests to internal networks, the HTTP sender, and the delivery worker each
//! `riposte serve` process runs. Subscriptions and their rules are in
//! `service::webhooks`, their rows in `models::webhook`.

pub mod guard;
pub mod sender;
pub mod signing;
pub mod worker;

use std::time::Duration;

/// How deliveries behave; from flags of `riposte serve` (the timings are hidden flags, for
/// tests).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deliver to loopback, private, link-local and other internal addresses
    /// (`--webhook-allow-private`); refused by default.
    pub allow_private: bool,
    /// Connecting and the whole request, each at most this long.
    pub timeout: Duration,
    /// The first retry waits about this long; each further one twice as long...
    pub retry_base: Duration,
    /// ...up to this.
    pub retry_cap: Duration,
    /// A subscription whose oldest undelivered entry has failed for this long is disabled.
    pub give_up_after: Duration,
    /// Subscriptions one process delivers to at the same time (`--webhook-concurrency`).
    pub concurrency: usize,
}

/// After a rotation the replaced secret signs beside the new one this long: a receiver has a
/// day to deploy the new secret without refusing a delivery (Standard Webhooks' zero-downtime
/// rotation). Receivers verify with the secrets they hold, so the overlap gives nobody a
/// signature they could not already make.
pub const SECRET_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// By default a process delivers to every subscription there may be at once
/// (`MAX_WEBHOOKS`): a delivery in flight is a socket and a task, waiting, so receivers that
/// never answer hold nothing the healthy ones need. (With 8, eight such receivers held every
/// slot for the whole timeout, again at each retry.)
pub const DEFAULT_CONCURRENCY: u32 = crate::limits::MAX_WEBHOOKS as u32;

/// The defaults of `--webhook-timeout`, `--webhook-retry-base`, `--webhook-retry-cap` and
/// `--webhook-give-up-after`, as the flags are written.
pub const DEFAULT_TIMEOUT: &str = "10s";
pub const DEFAULT_RETRY_BASE: &str = "5s";
pub const DEFAULT_RETRY_CAP: &str = "1h";
pub const DEFAULT_GIVE_UP_AFTER: &str = "24h";

impl Default for Settings {
    fn default() -> Self {
        use crate::state::duration;
        Settings {
            allow_private: false,
            timeout: duration(DEFAULT_TIMEOUT),
            retry_base: duration(DEFAULT_RETRY_BASE),
            retry_cap: duration(DEFAULT_RETRY_CAP),
            give_up_after: duration(DEFAULT_GIVE_UP_AFTER),
            concurrency: DEFAULT_CONCURRENCY as usize,
        }
    }
}

impl Settings {
    /// How long a claim on a subscription lasts without renewal: past it another process may
    /// take the subscription over (the holder died). Longer than one attempt can take.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(10)
    }
}
