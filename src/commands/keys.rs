//! `riposte keys create|list|revoke`.

use riposte::auth::Caller;
use riposte::db;
use riposte::logging::{hide_keys, say};

use super::out;
use crate::KeysCommand;

pub async fn keys(url: &str, command: KeysCommand) -> Result<(), String> {
    use riposte::models::api_key;
    use riposte::service::keys;
    let pool = db::pool(url, 1)?;
    match command {
        KeysCommand::Create {
            name,
            scope,
            expires,
        } => {
            let created = keys::create(&pool, &Caller::cli(), &name, scope, expires)
                .await
                .map_err(|e| format!("cannot create the key: {e}"))?;
            say(&format!(
                "created key {} ({}, scope {}); its secret, shown only this once:",
                created.key.id, created.key.name, created.key.scope
            ));
            // A secret nobody received must not stay a working key.
            if let Err(e) = out(&format!("{}\n", created.secret)) {
                keys::revoke(
                    &pool,
                    &Caller::cli(),
                    &created.key.id.to_string(),
                    riposte::service::anything(),
                )
                .await
                .map_err(|r| format!("{e}; revoking the key failed too: {r}"))?;
                return Err(format!("{e}; the key was revoked: create another"));
            }
        }
        KeysCommand::List => {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let mut after = None;
            out(&format!(
                "{:<36}  {:<12}  {:<5}  {:<8}  {:<20}  name\n",
                "id", "prefix", "scope", "state", "expires"
            ))?;
            loop {
                let rows = api_key::list(&mut conn, after, 200)
                    .await
                    .map_err(|e| e.to_string())?;
                for k in &rows {
                    let state = match k.standing() {
                        api_key::Standing::Active => "active",
                        api_key::Standing::Revoked(_) => "revoked",
                        api_key::Standing::Expired(_) => "expired",
                    };
                    // Names stored before control characters were refused are shown
                    // escaped, never interpreted by the terminal.
                    let expires = k.expires_at.map_or("never".to_string(), |t| {
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    });
                    out(&format!(
                        "{:<36}  {:<12}  {:<5}  {:<8}  {:<20}  {}\n",
                        k.id,
                        k.prefix,
                        k.scope,
                        state,
                        expires,
                        k.name
                            .chars()
                            .map(|c| match c.is_control() {
                                true => c.escape_default().to_string(),
                                false => c.to_string(),
                            })
                            .collect::<String>()
                    ))?;
                }
                match rows.last() {
                    Some(last) if rows.len() == 200 => after = Some((last.created_at, last.id)),
                    _ => break,
                }
            }
        }
        KeysCommand::Revoke { key } => {
            let (revoked, before) =
                keys::revoke(&pool, &Caller::cli(), &key, riposte::service::anything())
                    .await
                    .map_err(|e| format!("cannot revoke `{}`: {e}", hide_keys(&key)))?;
            match (before, revoked.revoked_at) {
                (true, Some(at)) => say(&format!(
                    "key {} ({}) was already revoked, at {}; nothing changed",
                    revoked.id,
                    revoked.name,
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
                _ => say(&format!("revoked key {} ({})", revoked.id, revoked.name)),
            }
        }
    }
    Ok(())
}
