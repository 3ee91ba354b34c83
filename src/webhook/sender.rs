//! One delivery attempt over HTTP: a signed POST, no redirects followed, no proxies, bounded
//! in time, to an address the guard allows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{guard, signing, Settings};
use crate::error::{AppError, AppResult};

/// Bytes of error text kept per attempt.
const MAX_ERROR_LEN: usize = 500;

/// What became of an attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver's status code, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed without an answer (or what the answer meant).
    pub error: Option<String>,
    pub latency: Duration,
    /// How long the receiver asked to be left alone (`Retry-After` on a failure).
    pub retry_after: Option<Duration>,
}

impl Outcome {
    /// Delivered: a 2xx answer. Anything else, redirects included, is a failure.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What the attempt came to, for logs and the disable reason: "status 503",
/// "status 301: redirects are not followed", "connection refused ...".
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, &self.error) {
            (Some(s), Some(e)) => write!(f, "status {s}: {e}"),
            (Some(s), None) => write!(f, "status {s}"),
            (None, Some(e)) => f.write_str(e),
            (None, None) => f.write_str("no answer"),
        }
    }
}

pub struct Sender {
    client: reqwest::Client,
    settings: Settings,
}

impl Sender {
    pub fn new(settings: &Settings) -> AppResult<Sender> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .http1_only()
            .user_agent(concat!("riposte-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(guard::GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .build()
            .map_err(|e| AppError::Internal(format!("cannot make the webhook client: {e}")))?;
        Ok(Sender {
            client,
            settings: settings.clone(),
        })
    }

    /// POSTs `body` to `url` as message `id`, signed with each of `secrets`.
    pub async fn send(&self, url: &str, secrets: &[&str], id: &str, body: String) -> Outcome {
        let started = Instant::now();
        let failed = |error: String| Outcome {
            status: None,
            error: Some(error),
            latency: started.elapsed(),
            retry_after: None,
        };
        // The URL was checked when it was set, but the switch may have changed since.
        let url = match guard::check_url(url, self.settings.allow_private) {
            Ok(url) => url,
            Err(why) => return failed(format!("refused: {why}")),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signatures = secrets
            .iter()
            .map(|secret| signing::signature(secret, id, timestamp, body.as_bytes()))
            .collect::<AppResult<Vec<_>>>();
        let signature = match signatures {
            // Space-separated, as Standard Webhooks lists several.
            Ok(s) => s.join(" "),
            Err(e) => return failed(e.to_string()),
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let latency = started.elapsed();
        match sent {
            Ok(response) => {
                let status = response.status();
                let error = match status.as_u16() {
                    200..=299 => None,
                    300..=399 => Some("redirects are not followed".to_string()),
                    _ => None,
                };
                let retry_after = match status.is_success() {
                    true => None,
                    false => response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(retry_after),
                };
                Outcome {
                    status: Some(status.as_u16()),
                    error,
                    latency,
                    retry_after,
                }
            }
            Err(e) if e.is_timeout() => failed(format!(
                "no answer within {} ms",
                self.settings.timeout.as_millis()
            )),
            Err(e) => failed(describe(&e)),
        }
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (a date past is no wait).
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at: actix_web::http::header::HttpDate = value.trim().parse().ok()?;
    let at: std::time::SystemTime = at.into();
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The error with its causes, which say what went wrong (refused address, connection
/// refused, TLS), shortened.
fn describe(e: &reqwest::Error) -> String {
    let mut text = crate::error::with_causes(e);
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{retry_after, Outcome};
    use std::time::Duration;

    #[test]
    fn an_outcome_reads_as_words() {
        let outcome = |status, error: Option<&str>| Outcome {
            status,
            error: error.map(String::from),
            latency: Duration::ZERO,
            retry_after: None,
        };
        assert_eq!(outcome(Some(503), None).to_string(), "status 503");
        assert_eq!(
            outcome(Some(301), Some("redirects are not followed")).to_string(),
            "status 301: redirects are not followed"
        );
        assert_eq!(
            outcome(None, Some("no answer within 3000 ms")).to_string(),
            "no answer within 3000 ms"
        );
        assert_eq!(outcome(None, None).to_string(), "no answer");
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(600);
        let text = actix_web::http::header::HttpDate::from(later).to_string();
        let wait = retry_after(&text).unwrap();
        assert!(wait > Duration::from_secs(590) && wait <= Duration::from_secs(600));
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-5"), None);
    }
}
