use actix_web::route;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Reader;
use crate::error::AppResult;
use crate::state::AppState;
use crate::views::{ActionType, List};

/// The taxonomy of action types, by category then code. It is fixed by migrations, so the
/// list is always complete on one page.
#[utoipa::path(get, path = "/v1/action-types", tag = "action types",
    operation_id = "listActionTypes",
    responses((status = 200, description = "Every action type", body = List<ActionType>,
        example = json!({"items": [{"code": "asset_freeze", "label": "Asset freeze / blocking",
            "description": "Blocking of property and interests in property of designated persons or bodies.",
            "category": "sanction", "cameo_code": "163", "quad_class": 4, "default_severity": -8.0}],
            "next_page_token": null}))))]
#[route("/v1/action-types", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    _none: crate::extract::Query<super::NoParams>,
) -> AppResult<HttpResponse> {
    crate::conditional::respond(&req, &List::one_page(state.types.all().to_vec()))
}
