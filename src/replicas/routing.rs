//! Which database serves a read (`AppState::read`), and the consistency tokens that let a
//! client read its own writes: issued by the middleware after a commit, honoured on reads.

use std::sync::atomic::Ordering;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use diesel_async::AsyncPgConnection;

use crate::db::{DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

use super::*;

/// Placed by a read whose answer reports writes committed by others (a finished import
/// job): the answer gets a consistency token as a write's does, so that the reads after it
/// see those writes.
pub struct IssueToken;

/// The position a request asked to see (its token), placed by the middleware.
#[derive(Debug, Clone, Copy)]
struct Wanted(Lsn);

/// Which database answered a read that could have gone to a replica.
#[derive(Debug, Clone, Copy)]
enum ServedBy {
    Primary,
    Replica,
}

/// A connection that a read runs on: to a replica or to the primary.
pub struct ReadConn {
    conn: DbConn,
    pool: DbPool,
}

impl std::ops::Deref for ReadConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

impl ReadConn {
    /// Up to `n` more connections to the same database (see `AppState::spare_conns`): spares
    /// share this connection's snapshot, so they must be of the same server.
    pub async fn spares(&self, n: usize) -> Vec<DbConn> {
        crate::db::spare_conns(&self.pool, n).await
    }
}

/// Errors a replica can give where the primary could answer: it went away (503), a recovery
/// conflict cancelled the statement (SQLSTATE 40001, `Contended`), or it failed otherwise.
/// A read never conflicts on the primary, so none of these is the request's fault.
fn worth_retrying(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Unavailable(_) | AppError::Internal(_) | AppError::Contended(_)
    )
}

impl AppState {
    /// Runs the read `f` on a replica when one may serve this request (see the module
    /// documentation), else on the primary. A read that fails on the replica for a reason
    /// of the replica's is run again on the primary: no request fails because a replica is
    /// down. `f` may therefore run twice; it must only read.
    pub async fn read<T>(
        &self,
        req: &HttpRequest,
        f: impl AsyncFn(&mut ReadConn) -> AppResult<T>,
    ) -> AppResult<T> {
        let replicas = &self.replicas;
        if !replicas.is_empty() {
            let wanted = req.extensions().get::<Wanted>().map(|w| w.0);
            if let Some((replica, conn)) = replicas.checkout(wanted).await {
                let mut conn = ReadConn {
                    conn,
                    pool: replica.pool.clone(),
                };
                // A replica that stops answering (a frozen host, a partition) would hold the
                // read until the request's deadline; once its health check finds it down (a
                // few seconds), the read is abandoned and the primary answers.
                let mut down = replica.down.subscribe();
                let (outcome, abandoned) = tokio::select! {
                    outcome = f(&mut conn) => (outcome, false),
                    _ = down.wait_for(|down| *down) => {
                        // Its query may still be in flight: the connection is closed, never
                        // handed out again.
                        drop(deadpool::managed::Object::take(conn.conn));
                        let e = AppError::Unavailable("it went down during the read".into());
                        (Err(e), true)
                    }
                };
                match outcome {
                    Err(e) if worth_retrying(&e) => {
                        log::warn!(
                            "{} {}: replica {} failed ({e}); reading from the primary",
                            req.method(),
                            req.path(),
                            replica.name
                        );
                        // (Abandoned: the health check has said why, in its own words.)
                        if matches!(e, AppError::Unavailable(_)) && !abandoned {
                            replica.set(ReplicaState::Down, Some(e.to_string()));
                        }
                        replicas
                            .stats
                            .retried_on_primary
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    outcome => {
                        replicas.stats.replica_reads.fetch_add(1, Ordering::Relaxed);
                        req.extensions_mut().insert(ServedBy::Replica);
                        return outcome;
                    }
                }
            }
            replicas.stats.primary_reads.fetch_add(1, Ordering::Relaxed);
            req.extensions_mut().insert(ServedBy::Primary);
        }
        let mut conn = ReadConn {
            conn: self.conn().await?,
            pool: self.pool.clone(),
        };
        f(&mut conn).await
    }
}

/// The token of a request: the header's (400 when malformed), else the cookie's (ignored when
/// malformed: a browser cannot be told to fix a cookie, and the next write replaces it).
pub(super) fn token(headers: &HeaderMap) -> AppResult<Option<Lsn>> {
    if let Some(value) = headers.get(CONSISTENCY_HEADER) {
        // Which write must be seen would be a guess: the later one? Say so instead.
        if headers.get_all(CONSISTENCY_HEADER).nth(1).is_some() {
            return Err(AppError::bad_param(
                "Riposte-Consistency",
                "given more than once; send the token of the latest write only",
            ));
        }
        return value
            .to_str()
            .ok()
            .and_then(|v| Lsn::parse(v.trim()))
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_param(
                    "Riposte-Consistency",
                    "not a consistency token: send back the `Riposte-Consistency` value of a \
                     write's response as it was (e.g. `0/3000148`), or leave the header out",
                )
            });
    }
    let cookie = headers
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == CONSISTENCY_COOKIE)
        .filter_map(|(_, value)| Lsn::parse(value.trim()))
        .max();
    Ok(cookie)
}

/// Reads the consistency token of `/v1` requests for `AppState::read`; marks reads with the
/// database that answered them (`Riposte-Served-By`, when the server has replicas); gives
/// every successful write its token (`Riposte-Consistency` header and cookie).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !req.path().starts_with("/v1/") {
        return next.call(req).await;
    }
    if let Some(lsn) = token(req.headers())? {
        req.extensions_mut().insert(Wanted(lsn));
    }
    let write = [Method::POST, Method::PATCH, Method::DELETE].contains(req.method());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    // A 304 of such a read too: the client keeps its cached copy and needs the token as much.
    let asked = res.request().extensions().get::<IssueToken>().is_some()
        && (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED);
    let served = res.request().extensions().get::<ServedBy>().copied();
    if let Some(served) = served {
        let value = match served {
            ServedBy::Primary => "primary",
            ServedBy::Replica => "replica",
        };
        res.headers_mut()
            .insert(SERVED_BY_HEADER, HeaderValue::from_static(value));
    }
    if let (true, Some(state)) = ((write && res.status().is_success()) || asked, state) {
        let position = async {
            let mut conn = state.conn().await?;
            primary_position(&mut conn).await
        };
        match position.await {
            Ok(lsn) => {
                let cookie = format!(
                    "{CONSISTENCY_COOKIE}={lsn}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; \
                     SameSite=Lax; HttpOnly"
                );
                if let (Ok(token), Ok(cookie)) = (
                    HeaderValue::from_str(&lsn.to_string()),
                    HeaderValue::from_str(&cookie),
                ) {
                    res.headers_mut().insert(CONSISTENCY_HEADER, token);
                    res.headers_mut().append(SET_COOKIE, cookie);
                }
            }
            // The write is committed and its answer must reach the client; without a token
            // its reads fall back on the replicas' bounded lag.
            Err(e) => log::warn!("no consistency token for a committed write: {e}"),
        }
    }
    Ok(res)
}
