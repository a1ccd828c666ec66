//! Shared helpers: fixtures, a local fixture server, configurations pointing at it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kizashi::config::Config;
use kizashi::pipeline::Deps;

/// A fixture's bytes.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}

/// A source entry for a test configuration.
pub struct Src<'a> {
    pub id: &'a str,
    pub path: &'a str,
    pub publisher: &'a str,
    pub country: &'a str,
    pub lang: &'a str,
}

pub const fn src<'a>(
    id: &'a str,
    path: &'a str,
    publisher: &'a str,
    country: &'a str,
    lang: &'a str,
) -> Src<'a> {
    Src {
        id,
        path,
        publisher,
        country,
        lang,
    }
}

/// Configuration text for sources served by `base` (e.g. wiremock's uri()).
pub fn config_text(base: &str, data_dir: &Path, listen: &str, sources: &[Src<'_>]) -> String {
    let mut text = format!(
        "data_dir = {:?}\n[api]\nlisten = {listen:?}\n[defaults]\ninterval = \"1h\"\n[fetch]\ntimeout = \"2s\"\nconnect_timeout = \"2s\"\n",
        data_dir.display().to_string()
    );
    for s in sources {
        text.push_str(&format!(
            "[[sources]]\nid = {:?}\npublisher = {:?}\ncountry = {:?}\nlang = {:?}\nurl = \"{base}{}\"\n",
            s.id, s.publisher, s.country, s.lang, s.path
        ));
    }
    text
}

/// A validated configuration for sources served by `base`.
pub fn config(base: &str, data_dir: &Path, sources: &[Src<'_>]) -> Arc<Config> {
    let text = config_text(base, data_dir, "127.0.0.1:0", sources);
    Arc::new(Config::parse(&text, "test.toml").expect("test configuration is valid"))
}

/// Everything a poll needs, over a store in `config.data_dir`.
pub fn deps(config: &Config) -> Deps {
    kizashi::daemon::prepare(config).expect("store and rules open")
}

/// The path of the shared corpus, if this checkout has it beside it.
pub fn shared_corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    p.is_dir().then_some(p)
}

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_kizashi");

/// Runs the binary to completion (warnings only in its log).
pub async fn kizashi(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("binary runs")
}

/// Bytes as text, for assertions and messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Serves fixtures (`fixtures/<file>`) at paths of a local server.
pub async fn serve_fixtures(server: &wiremock::MockServer, routes: &[(&str, &str)]) {
    use wiremock::matchers::path;
    use wiremock::{Mock, ResponseTemplate};
    for (p, f) in routes {
        Mock::given(path(*p))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture(f)))
            .mount(server)
            .await;
    }
}

/// A TCP port free on loopback a moment ago, for a daemon started as a separate process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Asks a running daemon for its sources (`/api/sources?format=json`, with `token` as bearer
/// when given) every 50 ms until `ready` holds for the rows; panics with `what` after `within`.
pub async fn wait_for_sources(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    within: std::time::Duration,
    what: &str,
    ready: impl Fn(&[serde_json::Value]) -> bool,
) {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        let mut request = client.get(format!("{base}/api/sources?format=json"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Ok(r) = request.send().await
            && let Ok(body) = r.bytes().await
            && let Ok(rows) = serde_json::from_slice::<Vec<serde_json::Value>>(&body)
            && ready(&rows)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}");
}
