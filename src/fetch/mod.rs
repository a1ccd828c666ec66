//! HTTP: one configured client, conditional GET, a capped body, status semantics.
//!
//! Owns: timeouts, user agent, decompression, redirects (at most 5, http and https only),
//! proxies (only when configured: the environment's are ignored), the body cap counted after
//! decompression, and the limits on concurrency (a global bound, one request at a time per
//! host). Returns bytes, never text: decoding belongs to `parse`. May import: model, config.

pub mod guard;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, redirect};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::FetchSettings;

/// What feed publishers are asked for, in order of preference.
pub const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// A fetch failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The body was larger than the cap (after decompression).
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The server answered 200 with nothing.
    #[error("empty response body")]
    Empty,
    /// The whole request took longer than the total timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The address is not on the public internet and the source does not allow that.
    #[error("refused: {0}")]
    Blocked(String),
    /// A redirect was refused (too many, or to a scheme other than http and https).
    #[error("redirect refused: {0}")]
    Redirect(String),
    /// Connection, TLS or protocol failure.
    #[error("request failed: {0}")]
    Network(String),
    /// The client could not be built from the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Error {
    /// Short status for the source's record: `500`, `timeout`, `too-large` …
    pub fn label(&self) -> String {
        match self {
            Error::Status { status, .. } => status.to_string(),
            Error::TooLarge { .. } => "too-large".into(),
            Error::Empty => "empty".into(),
            Error::Timeout(_) => "timeout".into(),
            Error::Redirect(_) => "redirect".into(),
            Error::Blocked(_) => "blocked".into(),
            Error::Network(_) | Error::Client(_) => "network".into(),
        }
    }

    /// The server's `Retry-After`, when it sent one with a 429 or 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Validators remembered from the last answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// 304: nothing changed since the validators were given.
    NotModified,
    /// A body to parse.
    Body(Box<Body>),
}

/// A 2xx body with what the parser needs to know about it.
#[derive(Debug, Clone)]
pub struct Body {
    pub status: u16,
    pub bytes: Bytes,
    /// The `charset` parameter of `Content-Type`, if any.
    pub charset: Option<String>,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Where the body came from after redirects: relative links resolve against it.
    pub final_url: Url,
}

/// The shared HTTP client with its concurrency limits.
pub struct Fetcher {
    /// For sources that must stay on the public internet (the default).
    client: reqwest::Client,
    /// For sources with `allow_private = true`.
    permissive: reqwest::Client,
    settings: FetchSettings,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    /// Builds the clients from the configuration.
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, Error> {
        Ok(Fetcher {
            client: build_client(settings, false)?,
            permissive: build_client(settings, true)?,
            settings: settings.clone(),
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a turn: a global slot, then the host's single slot.
    async fn permits(&self, url: &Url) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let host_key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let host = {
            let mut hosts = self
                .hosts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            hosts
                .entry(host_key)
                .or_insert_with(|| Arc::new(Semaphore::new(1)))
                .clone()
        };
        // Host first: a source waiting for a busy host must not hold a global slot.
        let host_permit = host
            .acquire_owned()
            .await
            .expect("semaphores are never closed");
        let global_permit = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("semaphores are never closed");
        (global_permit, host_permit)
    }

    /// Fetches a URL, conditionally when validators are given, refusing non-public addresses
    /// unless `allow_private`.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        allow_private: bool,
    ) -> Result<Fetched, Error> {
        let _permits = self.permits(url).await;
        let total = self.settings.timeout;
        let client = if allow_private {
            &self.permissive
        } else {
            &self.client
        };
        // reqwest's timeout covers the body too, but a stream read loop is ours: bound it all.
        let inner = self.fetch_inner(client, url, validators);
        match tokio::time::timeout(total + Duration::from_secs(1), inner).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(total)),
        }
    }

    async fn fetch_inner(
        &self,
        client: &reqwest::Client,
        url: &Url,
        validators: &Validators,
    ) -> Result<Fetched, Error> {
        let mut request = client.get(url.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            // The redirect policy refused it (e.g. a file: URL) and the 3xx came back as is.
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            return Err(Error::Redirect(format!(
                "HTTP {} to {location:?} not followed",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let retry_after = if status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE
            {
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after)
            } else {
                None
            };
            return Err(Error::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let limit = self.settings.max_body;
        if response.content_length().is_some_and(|n| n > limit)
            && response.headers().get(header::CONTENT_ENCODING).is_none()
        {
            return Err(Error::TooLarge { limit });
        }
        let header_text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header_text(header::ETAG),
            last_modified: header_text(header::LAST_MODIFIED),
        };
        let content_type = header_text(header::CONTENT_TYPE);
        let charset = content_type.as_deref().and_then(charset_of);
        let final_url = response.url().clone();
        // Chunks arrive decompressed: the cap counts what we would hold in memory.
        let mut buf = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if buf.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::Empty);
        }
        Ok(Fetched::Body(Box::new(Body {
            status: status.as_u16(),
            bytes: Bytes::from(buf),
            charset,
            content_type,
            validators,
            final_url,
        })))
    }

    fn classify(&self, e: reqwest::Error) -> Error {
        let text = chain(&e);
        if text.contains("non-public address") {
            Error::Blocked(text)
        } else if e.is_timeout() {
            Error::Timeout(self.settings.timeout)
        } else if e.is_redirect() {
            Error::Redirect(chain(&e))
        } else {
            Error::Network(chain(&e))
        }
    }
}

fn build_client(settings: &FetchSettings, allow_private: bool) -> Result<reqwest::Client, Error> {
    let max = settings.max_redirects;
    let policy = redirect::Policy::custom(move |attempt| {
        let next = attempt.url();
        if attempt.previous().len() > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        if !matches!(next.scheme(), "http" | "https") {
            let scheme = next.scheme().to_string();
            return attempt.error(format!("redirect to a {scheme}: URL"));
        }
        // A literal address is not resolved, so the resolver cannot refuse it: a redirect to
        // a non-public literal is refused here, unless it stays on the host the operator wrote.
        let literal = match next.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        let same_host = attempt
            .previous()
            .first()
            .is_some_and(|first| first.host() == next.host());
        if !allow_private && !same_host && literal.is_some_and(guard::is_non_public) {
            let shown = next.to_string();
            return attempt.error(format!("redirect to {shown}: a non-public address"));
        }
        attempt.follow()
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
    let mut builder = reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .default_headers(headers)
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.connect_timeout)
        .redirect(policy)
        .gzip(true)
        .brotli(true)
        .no_proxy();
    if !allow_private {
        builder = builder.dns_resolver(guard::PublicOnly);
    }
    if let Some(proxy) = &settings.proxy {
        let proxy =
            reqwest::Proxy::all(proxy.as_str()).map_err(|e| Error::Client(e.to_string()))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| Error::Client(chain(&e)))
}

/// An error with its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset")).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(300)).to_rfc2822();
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(290) && d <= Duration::from_secs(300),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn charset_parameter() {
        assert_eq!(
            charset_of("application/rss+xml; charset=\"Shift_JIS\"").as_deref(),
            Some("Shift_JIS")
        );
        assert_eq!(charset_of("text/xml").as_deref(), None);
    }
}
