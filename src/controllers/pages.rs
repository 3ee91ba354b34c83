//! The dashboard: one HTML shell for every page, and its assets, all compiled into the
//! binary (`src/web/`). The pages read the public API from the browser, so they show exactly
//! what any client with the same key can see; nothing here touches the database.
//!
//! Not in the OpenAPI document: these are pages for people, not part of the API. A browser
//! asking for a page at an address that names none gets the shell as a 404
//! ([`not_found_page`]), which says so; API clients get the problem+json 404.

use std::sync::LazyLock;

use actix_web::http::{header, Method};
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

/// Scripts and styles only from this server; the API only on this origin (the dashboard's
/// pages and Swagger UI at /docs/). uPlot sizes its elements through inline styles, hence
/// `'unsafe-inline'` for styles (never for scripts).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
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

/// Marks a response as a dashboard page given on purpose with an error status (the shell
/// as a 404): `app::plain_errors_as_problems` leaves it as it is.
pub struct Page;

/// The shell as a 404, for a browser (it asks for HTML) at an address outside the API that
/// names no page (`/nope`, `/search/`): its script then says "No such page", where the
/// API's problem+json would be shown as raw JSON. `None` for API clients (they do not ask
/// for HTML), for paths under `/v1`, and for methods other than GET and HEAD.
pub fn not_found_page(req: &HttpRequest) -> Option<HttpResponse> {
    let path = req.path();
    let api = path == "/v1" || path.starts_with("/v1/");
    let read = req.method() == Method::GET || req.method() == Method::HEAD;
    if api || !read || !wants_html(req) {
        return None;
    }
    let mut res = HttpResponse::NotFound()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::VARY, "Accept"))
        .content_type(ASSETS[0].content_type)
        .body(ASSETS[0].body);
    res.extensions_mut().insert(Page);
    Some(res)
}

/// Whether `Accept` names HTML (as a browser's navigation does), not refused with `q=0`.
fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            !refused
                && (media.eq_ignore_ascii_case("text/html")
                    || media.eq_ignore_ascii_case("application/xhtml+xml"))
        })
}

async fn shell(req: HttpRequest) -> HttpResponse {
    if !crate::extract::well_escaped(req.path()) {
        return not_found_page(&req).unwrap_or_else(|| {
            actix_web::ResponseError::error_response(&crate::error::AppError::NotFound(format!(
                "no page at `{}`: a malformed percent escape",
                req.path()
            )))
        });
    }
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
    let page = [
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, CSP),
    ];
    // The policy governs documents: the page, not the scripts and styles it loads.
    let headers = if i == 0 { &page[..] } else { &page[..1] };
    crate::conditional::static_file(
        req,
        &ETAGS[i],
        a.content_type,
        web::Bytes::from_static(a.body),
        headers,
    )
}
