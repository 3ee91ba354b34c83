//! Named data sets bundled with riposte (`riposte seed NAME`). Loading one twice changes
//! nothing: actors are matched by code and actions by their fixed ids.

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::parse_json;
use crate::input::{NewAction, NewActor};
use crate::models::action;
use crate::service;
use crate::state::AppState;

const SEEDS: &[(&str, &str)] = &[("xinjiang-2020", include_str!("../seeds/xinjiang-2020.json"))];

pub fn names() -> Vec<&'static str> {
    SEEDS.iter().map(|(name, _)| *name).collect()
}

#[derive(Deserialize)]
struct SeedFile {
    description: String,
    actors: Vec<NewActor>,
    actions: Vec<serde_json::Value>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub actors_created: usize,
    pub actors_existing: usize,
    pub actions_created: usize,
    pub actions_existing: usize,
}

pub async fn run(state: &AppState, name: &str) -> AppResult<SeedReport> {
    let text = SEEDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no seed named `{name}`; available: {}",
                names().join(", ")
            ))
        })?;
    let seed: SeedFile = parse_json(text.as_bytes())?;
    log::info!("seeding `{name}`: {}", seed.description);
    let mut report = SeedReport::default();
    let total = seed.actors.len();
    for (i, input) in seed.actors.iter().enumerate() {
        let mut conn = state.conn().await?;
        let created = service::actors::ensure(&mut conn, &Caller::cli(), input).await?;
        if created {
            report.actors_created += 1;
        } else {
            report.actors_existing += 1;
        }
        log::info!(
            "[{}/{total}] actor {} {}",
            i + 1,
            input.code,
            if created {
                "created"
            } else {
                "already present"
            }
        );
    }
    let total = seed.actions.len();
    for (i, mut value) in seed.actions.into_iter().enumerate() {
        let id: Uuid = value
            .as_object_mut()
            .and_then(|o| o.remove("id"))
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| AppError::Internal(format!("seed action {i} has no valid id")))?;
        let input: NewAction = parse_json(value.to_string().as_bytes())?;
        let exists = {
            let mut conn = state.conn().await?;
            action::find(&mut conn, id, true).await?.is_some()
        };
        if exists {
            report.actions_existing += 1;
        } else {
            let once = crate::service::idempotency::Once::none();
            service::actions::create(
                state,
                &Caller::cli(),
                input.clone(),
                Vec::new(),
                Some(id),
                once,
            )
            .await?;
            report.actions_created += 1;
        }
        log::info!(
            "[{}/{total}] action {id} {}: {}",
            i + 1,
            if exists { "already present" } else { "created" },
            input.title
        );
    }
    Ok(report)
}
