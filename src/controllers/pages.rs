//! The dashboard: one HTML shell for every page, and its assets, all compiled into the
//! binary (`src/web/`). The pages read the public API from the browser, so they show exactly
//! what any client with the same key can see; nothing here touches the database.
//!
//! Not in the OpenAPI document: these are pages for people, not part of the API.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("timeline.js", JS),
    asset!("layered.js", JS),
    asset!("views/overview.js", JS),
    asset!("views/dyad.js", JS),
    asset!("views/chain.js", JS),
    asset!("views/action.js", JS),
    asset!("views/actor.js", JS),
    asset!("views/search.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("vendor/uPlot.iife.min.js", JS),
    asset!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
];

/// Strong ETags, computed once: assets change only with the binary.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", crate::conditional::digest_hex(a.body, 12)))
        .collect()
});

/// Scripts and styles only from this server; the API only on this origin. uPlot sizes its
/// elements through inline styles, hence `'unsafe-inline'` for styles (never for scripts).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// Only UUIDs: any other `/actions/...` stays the API's 404.
macro_rules! action_id {
    () => {
        "{id:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}}"
    };
}

/// The paths of the pages; each serves the same shell, whose script draws the view the
/// path names (state lives in the URL, so every view can be bookmarked and shared).
pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in [
        "/",
        "/search",
        "/dyads/{a}/{b}",
        concat!("/actions/", action_id!()),
        concat!("/actions/", action_id!(), "/chain"),
        "/actors/{actor}",
    ] {
        cfg.route(path, web::get().to(shell))
            .route(path, web::head().to(shell));
    }
    cfg.route("/assets/{name:.*}", web::get().to(asset))
        .route("/assets/{name:.*}", web::head().to(asset));
}

async fn shell(req: HttpRequest) -> HttpResponse {
    serve(&req, 0)
}

async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().position(|a| a.name == name.as_str()) {
        Some(i) if i > 0 => serve(&req, i),
        _ => actix_web::ResponseError::error_response(&crate::error::AppError::NotFound(format!(
            "no dashboard asset `{}`; the dashboard starts at /",
            name.as_str()
        ))),
    }
}

fn serve(req: &HttpRequest, i: usize) -> HttpResponse {
    let a = &ASSETS[i];
    let etag = &ETAGS[i];
    let fresh = crate::conditional::none_match(req, etag);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.as_str()))
        // Revalidated on every load (a 304 is cheap): a new binary shows its new pages.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
    if i == 0 {
        res.insert_header((header::CONTENT_SECURITY_POLICY, CSP));
    }
    if fresh {
        return res.finish();
    }
    res.content_type(a.content_type).body(a.body)
}
