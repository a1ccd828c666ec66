//! The loopback HTTP API: what `kizashi export` and `kizashi sources` use while the daemon
//! holds the store (sled admits one process).
//!
//! Owns: routes, request checks (Host allow-list against DNS rebinding, bearer token when
//! configured, body cap) and error answers. Reads only from the store. May import: model,
//! store, export, config.

use std::io::Write as _;
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

mod page;
pub mod serve;

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
        .route("/", get(page::review_page))
        .route("/login", get(page::login))
        .route("/api/export", get(export_handler))
        .route("/api/sources", get(sources_handler))
        .route("/api/alerts", get(alerts_handler))
        .route("/api/items", get(items_handler))
        .route("/api/items/{id}", get(item_handler))
        .route(
            "/api/items/{id}/decision",
            axum::routing::post(decision_handler),
        )
        .route("/api/review/import", axum::routing::post(import_handler))
        .route("/metrics", get(metrics_handler))
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
        // Browsers cannot send the header: the review page's cookie (set by /login) stands
        // in for it, for same-origin requests only when they change something.
        let by_cookie = || {
            page::cookie_from(&headers).is_some_and(|c| {
                constant_time_eq(c.as_bytes(), page::cookie_value(token).as_bytes())
            })
        };
        let open = matches!(req.uri().path(), "/healthz" | "/login");
        if !constant_time_eq(given, expected.as_bytes()) && !open {
            if !by_cookie() {
                return ApiError(
                    StatusCode::UNAUTHORIZED,
                    "a valid bearer token is required (browsers: open /login?token=…)".into(),
                )
                .into_response();
            }
            let safe = matches!(
                *req.method(),
                axum::http::Method::GET | axum::http::Method::HEAD
            );
            if !safe && !page::cookie_may_change(&headers) {
                return ApiError(
                    StatusCode::FORBIDDEN,
                    "with the cookie, state-changing requests must be same-origin JSON".into(),
                )
                .into_response();
            }
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
    // An export names its range; the item list may default to the current quarter.
    if q.quarter.is_none() && q.from.is_none() && q.to.is_none() {
        return Err(bad("give quarter, or from and to".into()));
    }
    let range =
        query_range(q.quarter.as_deref(), q.from.as_deref(), q.to.as_deref()).map_err(bad)?;
    let format: Format = q.format.as_deref().unwrap_or("md").parse().map_err(bad)?;
    let request = export::Request {
        range,
        format,
        all: q.all,
        generated_at: chrono::Utc::now().with_timezone(&jst()),
    };
    let store = state.store.clone();
    // The items are read before the answer starts, so that a store error is still a 500.
    let items = tokio::task::spawn_blocking(move || {
        store.flush()?;
        store.items_published_between(range.from, range.to)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    // Then the export is sent as it is made: a quarter's JSON is tens of megabytes, and the
    // daemon need not hold it whole. A client that goes away stops the writing.
    let (chunks, body) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(EXPORT_CHUNK, ChunkSender(chunks.clone()));
        let written = export::render_to(items, &request, &mut out).and_then(|_| out.flush());
        if let Err(e) = written {
            tracing::warn!(error = %e, "export not sent whole");
            // The client sees the connection fail instead of a document cut short.
            let _ = chunks.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    });
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// Bytes of an export sent at a time.
const EXPORT_CHUNK: usize = 1 << 16;

/// Hands what is written to the response, waiting while the client is behind.
struct ChunkSender(tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>);

impl std::io::Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// State-changing requests need the bearer token (checked by `guard` when configured), or a
/// request no web page on another origin could have made: a JSON body (which needs a CORS
/// preflight this server never grants) whose `Origin`, if any, is this server, or the
/// client header that the command line sends.
fn may_change(state: &AppState, headers: &HeaderMap, json_body: bool) -> Result<(), ApiError> {
    if state.config.api.token.is_some() || headers.contains_key(CLIENT_HEADER) {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same_origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host),
    };
    if json_body && is_json && same_origin {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "state-changing requests need the token, a same-origin JSON request or the {CLIENT_HEADER} header"
            ),
        ))
    }
}

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    pub quarter: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub section: Option<String>,
    pub sector: Option<String>,
    pub source: Option<String>,
    /// Words that the title or summary must contain.
    pub q: Option<String>,
    #[serde(default)]
    pub all: bool,
}

/// The date range a query names: a quarter, from/to, or the current quarter.
pub fn query_range(
    quarter: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, String> {
    match (quarter, from, to) {
        (Some(q), None, None) => Ok(DateRange::quarter(q.parse::<Quarter>()?)),
        (None, Some(f), Some(t)) => {
            let day = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("{s:?}: {e}"))
            };
            Ok(DateRange::between(day(f)?, day(t)?))
        }
        (None, None, None) => {
            let today = chrono::Utc::now().with_timezone(&jst()).date_naive();
            Ok(DateRange::quarter(Quarter::containing(today)))
        }
        _ => Err("give quarter, or from and to".into()),
    }
}

/// Items of a range that pass the filters, in export order.
pub fn filtered_items(
    store: &dyn Store,
    q: &ItemsQuery,
) -> Result<(DateRange, Vec<crate::model::Item>), ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let range =
        query_range(q.quarter.as_deref(), q.from.as_deref(), q.to.as_deref()).map_err(bad)?;
    let section = q
        .section
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<crate::model::Section>)
        .transpose()
        .map_err(bad)?;
    let sector = q
        .sector
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<crate::model::Sector>)
        .transpose()
        .map_err(bad)?;
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
    let mut items = store
        .items_published_between(range.from, range.to)
        .map_err(internal)?;
    items.retain(|i| {
        (q.all || i.candidate())
            && section.is_none_or(|s| i.section() == Some(s))
            && sector.is_none_or(|s| i.classification.sectors.contains(&s))
            && q.source
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| i.source == s)
            && words
                .iter()
                .all(|w| i.title.to_lowercase().contains(w) || i.summary.to_lowercase().contains(w))
    });
    let rank = |i: &crate::model::Item| {
        i.section()
            .filter(|_| !i.excluded())
            .map(|s| s as u8)
            .unwrap_or(u8::MAX)
    };
    items.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(a.published.cmp(&b.published))
            .then(a.id.cmp(&b.id))
    });
    Ok((range, items))
}

async fn items_handler(
    State(state): State<AppState>,
    Query(q): Query<ItemsQuery>,
) -> Result<Response, ApiError> {
    let (_, items) = filtered_items(state.store.as_ref(), &q)?;
    let out = export::json::with_stories(&items);
    Ok(axum::Json(out).into_response())
}

async fn item_handler(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    match state.store.item(&id) {
        Ok(item) => Ok(axum::Json(export::json::ItemOut::new(&item)).into_response()),
        Err(crate::store::Error::NotFound(_)) => {
            Err(ApiError(StatusCode::NOT_FOUND, format!("no item {id}")))
        }
        Err(e) => Err(internal(e)),
    }
}

async fn decision_handler(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    may_change(&state, &headers, true)?;
    let change: crate::review::Change = serde_json::from_slice(&body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("decision JSON: {e}")))?;
    match crate::review::apply(state.store.as_ref(), &id, &change, chrono::Utc::now()) {
        Ok(item) => Ok(axum::Json(export::json::ItemOut::new(&item)).into_response()),
        Err(crate::review::Error::Invalid(m)) => Err(ApiError(StatusCode::UNPROCESSABLE_ENTITY, m)),
        Err(crate::review::Error::Store(crate::store::Error::NotFound(_))) => {
            Err(ApiError(StatusCode::NOT_FOUND, format!("no item {id}")))
        }
        Err(e) => Err(internal(e)),
    }
}

async fn import_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    may_change(&state, &headers, false)?;
    let report = crate::review::import_csv(state.store.as_ref(), &body, chrono::Utc::now())
        .map_err(|e| match e {
            crate::review::Error::Invalid(m) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, m),
            e => internal(e),
        })?;
    Ok(report.to_string().into_response())
}

async fn metrics_handler(State(state): State<AppState>) -> Result<Response, ApiError> {
    use std::fmt::Write;
    let store = state.store.as_ref();
    let states = store.states().map_err(internal)?;
    let alerts = store.alerts().map_err(internal)?;
    let mut out = String::new();
    let mut family = |name: &str, help: &str, kind: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let per_source = |f: &dyn Fn(&crate::model::SourceState) -> f64| -> Vec<(String, f64)> {
        states
            .iter()
            .map(|(id, s)| (format!("{{source=\"{id}\"}}"), f(s)))
            .collect()
    };
    family(
        "kizashi_polls_total",
        "Polls of each source.",
        "counter",
        per_source(&|s| s.polls as f64),
    );
    family(
        "kizashi_poll_failures_total",
        "Failed polls of each source.",
        "counter",
        per_source(&|s| s.failures as f64),
    );
    family(
        "kizashi_source_items",
        "Items stored from each source.",
        "gauge",
        per_source(&|s| s.items_stored as f64),
    );
    family(
        "kizashi_source_consecutive_failures",
        "Failed polls in a row.",
        "gauge",
        per_source(&|s| s.consecutive_failures as f64),
    );
    family(
        "kizashi_source_last_success_timestamp_seconds",
        "When each source last answered.",
        "gauge",
        per_source(&|s| s.last_success.map(|t| t.timestamp() as f64).unwrap_or(0.0)),
    );
    family(
        "kizashi_items",
        "Items in the store.",
        "gauge",
        vec![(String::new(), store.item_count().map_err(internal)? as f64)],
    );
    family(
        "kizashi_store_size_bytes",
        "Bytes the store's files take on disk.",
        "gauge",
        vec![(String::new(), dir_size(&state.config.data_dir) as f64)],
    );
    let count =
        |st: crate::model::AlertState| alerts.iter().filter(|a| a.state == st).count() as f64;
    family(
        "kizashi_alerts",
        "Alerts by state.",
        "gauge",
        vec![
            (
                "{state=\"queued\"}".into(),
                count(crate::model::AlertState::Queued),
            ),
            (
                "{state=\"delivered\"}".into(),
                count(crate::model::AlertState::Delivered),
            ),
            (
                "{state=\"dead\"}".into(),
                count(crate::model::AlertState::Dead),
            ),
        ],
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
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
