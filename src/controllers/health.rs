use std::time::Duration;

use actix_web::route;
use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::views::Health;

/// Liveness: the process answers, and the embedded PostgreSQL it runs (if any) is up. While
/// that PostgreSQL is being restarted after a crash, 503.
#[utoipa::path(get, path = "/healthz", tag = "health",
    operation_id = "getHealth",
    responses((status = 200, description = "The process is alive", body = Health,
        example = json!({"status": "ok"})),
        (status = 503, response = crate::openapi::ServiceUnavailable)))]
#[route("/healthz", method = "GET", method = "HEAD")]
pub async fn healthz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    if let Some(why) = state.database_down() {
        return Err(AppError::Unavailable(why.into()));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        replicas: None,
    }))
}

/// Readiness: the database answers a query within two seconds. With read replicas, each
/// one's state and lag too (a replica out of rotation leaves the server ready: the primary
/// serves its reads), to callers who may read: with `--public-read false`, only to a key
/// (replica names are internal hosts, their errors the driver's).
#[utoipa::path(get, path = "/readyz", tag = "health",
    operation_id = "getReadiness",
    responses(
        (status = 200, description = "Ready to serve", body = Health,
            example = json!({"status": "ready", "replicas": [{"name": "replica.internal:5432/riposte",
                "state": "in_rotation", "replay_lsn": "0/3000148", "lag_bytes": 0,
                "lag_seconds": 0.0, "error": null}]})),
        (status = 503, response = crate::openapi::ServiceUnavailable)))]
#[route("/readyz", method = "GET", method = "HEAD")]
pub async fn readyz(
    state: web::Data<AppState>,
    // A refused key is no key here: a load balancer's probe is never a 401.
    caller: Result<Caller, AppError>,
) -> AppResult<HttpResponse> {
    if let Some(why) = state.database_down() {
        return Err(AppError::Unavailable(why.into()));
    }
    let check = async {
        let mut conn = state.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, AppError>(())
    };
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(Health {
            status: "ready".into(),
            replicas: (!state.replicas.is_empty()
                && caller.is_ok_and(|c| c.require_read(&state).is_ok()))
            .then(|| state.replicas.list().iter().map(|r| r.health()).collect()),
        })),
        Ok(Err(e)) => Err(AppError::Unavailable(format!("database not ready: {e}"))),
        Err(_) => Err(AppError::Unavailable(
            "database did not answer within 2 s".into(),
        )),
    }
}
