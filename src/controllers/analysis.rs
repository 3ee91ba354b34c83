use actix_web::{web, HttpResponse};

use super::parse_id;
use crate::analysis::chain::{self, Chain};
use crate::auth::Reader;
use crate::error::AppResult;
use crate::state::AppState;

/// The whole episode around an action: every action connected to it through responses, in
/// either direction, with each one's generation, the edges, and a summary. At most 10,000
/// actions; a larger episode is a 400.
#[utoipa::path(get, path = "/v1/actions/{id}/chain", tag = "analysis",
    params(("id" = Uuid, Path, description = "Any action of the episode")),
    responses(
        (status = 200, description = "The episode, oldest action first", body = Chain),
        (status = 404, response = crate::openapi::NotFound)))]
pub async fn chain(
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(HttpResponse::Ok().json(chain::chain(&mut conn, &state.types, id).await?))
}
