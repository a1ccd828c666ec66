//! The loopback HTTP API: what `kizashi export` and `kizashi sources` use while the daemon
//! holds the store (sled admits one process).
//!
//! Owns: routes, request checks (Host allow-list against DNS rebinding, bearer token when
//! configured, body cap) and error answers. Reads only from the store. May import: model,
//! store, export, config.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::config::Config;
use crate::export::{self, Format, sources};
use crate::model::{DateRange, Quarter, jst};
use crate::store::Store;

/// A request carrying this header was sent by a program, not by a web page (a page cannot
/// add it without a CORS preflight this server never grants): state-changing requests need
/// it, or the bearer token.
pub const CLIENT_HEADER: &str = "x-kizashi-client";

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
/// Slow clients are cut off after this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub listen: SocketAddr,
}

/// An error answer: status and one line of text.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, format!("{}\n", self.1)).into_response()
    }
}

/// The router with its checks.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/export", get(export_handler))
        .route("/api/sources", get(sources_handler))
        .route("/api/alerts", get(alerts_handler))
        .route("/api/alerts/replay", axum::routing::post(replay_handler))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(time_limit))
        .with_state(state)
}

async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            ApiError(StatusCode::REQUEST_TIMEOUT, "request took too long".into()).into_response()
        }
    }
}

/// Refuses requests whose Host is neither the listen address nor a loopback name, and
/// requests without the token when one is configured.
async fn guard(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, state.listen) {
        return ApiError(
            StatusCode::MISDIRECTED_REQUEST,
            format!("host {host:?} is not served here"),
        )
        .into_response();
    }
    if let Some(token) = &state.config.api.token {
        let expected = format!("Bearer {token}");
        let given = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes)
            .unwrap_or(b"");
        if !constant_time_eq(given, expected.as_bytes()) && req.uri().path() != "/healthz" {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `localhost`, `127.0.0.1`, `[::1]` and the configured address, with or without the port.
pub fn host_allowed(host: &str, listen: SocketAddr) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1") || name == listen.ip().to_string()
}

#[derive(Deserialize)]
struct ExportQuery {
    quarter: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    #[serde(default)]
    all: bool,
}

async fn export_handler(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let range = match (&q.quarter, &q.from, &q.to) {
        (Some(quarter), None, None) => DateRange::quarter(quarter.parse::<Quarter>().map_err(bad)?),
        (None, Some(from), Some(to)) => {
            let day = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| bad(format!("{s:?}: {e}")))
            };
            DateRange::between(day(from)?, day(to)?)
        }
        _ => return Err(bad("give quarter, or from and to".into())),
    };
    let format: Format = q.format.as_deref().unwrap_or("md").parse().map_err(bad)?;
    let request = export::Request {
        range,
        format,
        all: q.all,
        generated_at: chrono::Utc::now().with_timezone(&jst()),
    };
    let store = state.store.clone();
    let body = tokio::task::spawn_blocking(move || {
        store.flush()?;
        let items = store.items_published_between(range.from, range.to)?;
        Ok::<_, crate::store::Error>(export::render(items, &request))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

async fn alerts_handler(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = crate::alert::listing(state.store.as_ref(), &state.config.alerts)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[derive(Deserialize)]
struct ReplayQuery {
    id: Option<String>,
}

async fn replay_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ReplayQuery>,
) -> Result<Response, ApiError> {
    if state.config.api.token.is_none() && !headers.contains_key(CLIENT_HEADER) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("state-changing requests need the {CLIENT_HEADER} header or a token"),
        ));
    }
    let n =
        crate::alert::deliver::replay(state.store.as_ref(), q.id.as_deref(), chrono::Utc::now())
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(format!("{n} alerts queued again\n").into_response())
}

#[derive(Deserialize)]
struct SourcesQuery {
    format: Option<String>,
}

async fn sources_handler(
    State(state): State<AppState>,
    Query(q): Query<SourcesQuery>,
) -> Result<Response, ApiError> {
    // What the API reports has to survive a crash the moment after.
    state
        .store
        .flush()
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let states = state
        .store
        .states()
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let rows = sources::rows(&state.config.sources, &states);
    Ok(match q.format.as_deref() {
        Some("json") => axum::Json(rows).into_response(),
        _ => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            sources::render_text(&rows),
        )
            .into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let listen: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        assert!(host_allowed("localhost:8787", listen));
        assert!(host_allowed("127.0.0.1:8787", listen));
        assert!(host_allowed("[::1]:8787", listen));
        assert!(!host_allowed("evil.example:8787", listen));
        assert!(!host_allowed("", listen));
    }
}
