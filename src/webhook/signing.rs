//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of the secret
//! (`whsec_` + base64).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};

use crate::error::{AppError, AppResult};

pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes of a secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A fresh signing secret.
pub fn new_secret() -> AppResult<String> {
    let mut key = [0u8; SECRET_BYTES];
    getrandom::fill(&mut key)
        .map_err(|e| AppError::Internal(format!("no randomness for a webhook secret: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The `webhook-id` of a change: the same for every attempt and every redelivery of it, so
/// that receivers can drop duplicates. The entry's time beside its cursor keeps it unique
/// where cursors repeat: a database restored from a backup numbers its next entries again
/// from there, and every deployment starts at 1 (`chg_<cursor>` alone made receivers that
/// dropped duplicates drop those entries).
pub fn message_id(seq: i64, at: chrono::DateTime<chrono::Utc>) -> String {
    format!("chg_{seq}_{}", at.timestamp_micros())
}

/// The `webhook-signature` value for one request.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> AppResult<String> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or_else(|| AppError::Internal("a stored webhook secret is malformed".into()))?;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_specification_does() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        let key = STANDARD
            .decode(a.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), SECRET_BYTES);
    }
}
