use std::time::Duration;

use actix_web::route;
use actix_web::{web, HttpResponse};

use crate::auth::Reader;
use crate::error::{AppError, AppResult};
use crate::metrics::{Scraped, CONTENT_TYPE};
use crate::state::AppState;

/// A scrape waits at most this long for the database's figures; without them it still
/// answers, so that the pool's gauges are there when the database is what is wrong.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

/// Metrics for Prometheus
///
/// This server process's metrics in the Prometheus text exposition format (version 0.0.4):
/// requests and latency by route pattern, the connection pool, webhook deliveries and
/// backlog, event-stream clients, import jobs (each listed in docs/OPERATIONS.md). Readable
/// like the rest of the API: by anyone while reads are public, else with a `read` key
/// (Prometheus sends it as a bearer token). Not rate limited, like `/healthz`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    operation_id = "getMetrics",
    security((), ("api_key" = [])),
    responses((status = 200, description = "The metrics of this server process",
        content_type = "text/plain; version=0.0.4", body = String,
        example = "# HELP riposte_events_clients Clients connected to GET /v1/events.\n\
            # TYPE riposte_events_clients gauge\nriposte_events_clients 0\n"),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden)))]
#[route("/metrics", method = "GET", method = "HEAD")]
pub async fn metrics(state: web::Data<AppState>, _reader: Reader) -> AppResult<HttpResponse> {
    let mut scraped = Scraped::local(&state);
    scraped.webhooks = webhook_figures(&state).await;
    let text = state
        .metrics
        .render(&scraped)
        .map_err(|e| AppError::Internal(format!("cannot encode the metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

/// Read on a spare connection only: a scrape never queues behind requests for the pool.
async fn webhook_figures(state: &AppState) -> Option<crate::models::webhook::WebhookFigures> {
    let mut conn = state.spare_conns(1).await.pop()?;
    let read = crate::models::webhook::figures(&mut conn);
    match tokio::time::timeout(DATABASE_WAIT, read).await {
        Ok(Ok(figures)) => Some(figures),
        Ok(Err(e)) => {
            log::warn!("metrics: cannot read the webhook figures: {e}");
            None
        }
        Err(_) => None,
    }
}
