//! The review page at `/`: hostile feed text shows as text, the token cookie, and the real
//! daemon driven by a real headless Chromium (when installed): clicking Exclude changes the
//! export.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kizashi::api::{AppState, router};
use kizashi::config::Config;
use kizashi::pipeline::poll_once;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, BIN, Src, config_text, deps, fixture, src};

/// Polls the given fixtures once and serves the API (and page) in this process.
async fn serve_polled(
    feeds: &[(&str, &str)],
    sources: &[Src<'_>],
    api_extra: &str,
) -> (SocketAddr, MockServer, tempfile::TempDir) {
    let server = MockServer::start().await;
    for (p, f) in feeds {
        Mock::given(path(*p))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture(f)))
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(&server.uri(), dir.path(), "127.0.0.1:0", sources)
        .replace("[api]\n", &format!("[api]\n{api_extra}"));
    let config = Arc::new(Config::parse(&text, "page.toml").unwrap());
    let deps = deps(&config);
    for spec in &config.sources {
        let outcome = poll_once(spec, &deps).await.unwrap();
        assert_eq!(outcome.status, "200", "{}", spec.id);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap();
    let app = router(AppState {
        store: deps.store.clone(),
        config,
        listen,
    });
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(kizashi::api::serve::serve(
        listener,
        app,
        kizashi::api::serve::Limits::default(),
        stop,
    ));
    (listen, server, dir)
}

#[tokio::test]
async fn feed_text_is_escaped_and_never_runs() {
    let (addr, _server, _dir) = serve_polled(
        &[("/xss.xml", "feeds/xss.xml")],
        &[src(
            "hostile",
            "/xss.xml",
            "Hostile <b>News</b> & Co",
            "US",
            "en",
        )],
        "",
    )
    .await;
    let response = reqwest::get(format!("http://{addr}/?quarter=FY2024Q4&all=true"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'nonce-") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = response.text().await.unwrap();

    // The title is shown, as text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Hospital ransomware attack in Ohio"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
    // The summary's markup was removed by the parser or shows as text.
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(
        !html
            .replace("&lt;img src=x onerror=alert(2)&gt;", "")
            .contains("onerror="),
        "{html}"
    );
    assert!(!html.contains("<img") && !html.contains("<svg"));
    assert!(html.contains("&lt;svg onload=alert(4)&gt;"), "{html}");
    // Configured text is escaped too.
    assert!(
        html.contains("Hostile &lt;b&gt;News&lt;/b&gt; &amp; Co"),
        "{html}"
    );
    assert!(!html.contains("javascript:alert(3)\""));

    // Structurally: one script (ours, with the nonce), no event-handler attribute anywhere,
    // every link to a feed's page is http(s) and opens without opener or referrer.
    let doc = scraper::Html::parse_document(&html);
    let all = scraper::Selector::parse("*").unwrap();
    let mut scripts = 0;
    for el in doc.select(&all) {
        let e = el.value();
        if e.name() == "script" {
            scripts += 1;
            assert!(e.attr("nonce").is_some());
        }
        for (name, value) in e.attrs() {
            assert!(!name.starts_with("on"), "<{} {name}={value:?}>", e.name());
            assert!(
                !value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:"),
                "<{} {name}={value:?}>",
                e.name()
            );
        }
    }
    assert_eq!(scripts, 1);
    let titles = scraper::Selector::parse("li.item .title a").unwrap();
    let links: Vec<_> = doc.select(&titles).collect();
    assert_eq!(
        links.len(),
        2,
        "the javascript: item was dropped by the parser"
    );
    for a in &links {
        assert!(a.value().attr("href").unwrap().starts_with("https://"));
        assert_eq!(a.value().attr("rel"), Some("noopener noreferrer"));
        assert_eq!(a.value().attr("target"), Some("_blank"));
    }
    let first: String = links[0].text().collect();
    assert_eq!(
        first,
        "<script>alert(1)</script> Hospital ransomware attack in Ohio"
    );
    // Ids only in data-id attributes.
    let ids = scraper::Selector::parse("li.item[data-id]").unwrap();
    assert_eq!(doc.select(&ids).count(), 2);

    // A bad query keeps the form and shows the mistake, escaped.
    let bad = reqwest::get(format!("http://{addr}/?quarter=%3Cb%3EFY"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("&lt;b&gt;FY") && !bad.contains("<b>FY"),
        "{bad}"
    );
    assert!(bad.contains("<form class=\"filters\""));
}

#[tokio::test]
async fn page_shows_sections_filters_reasons_controls_and_downloads() {
    let (addr, _server, _dir) = serve_polled(
        &[
            ("/tr.xml", "feeds/therecord.xml"),
            ("/sn.xml", "feeds/securitynext.xml"),
        ],
        &[
            src("therecord", "/tr.xml", "The Record", "US", "en"),
            src("security-next", "/sn.xml", "Security NEXT", "JP", "ja"),
        ],
        "",
    )
    .await;
    let get = |q: &str| {
        let url = format!("http://{addr}/{q}");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let html = get("?quarter=FY2024Q4").await;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta name=\"viewport\""));
    assert!(html.contains("2024年度第4四半期"));
    assert!(html.contains("2.1 国外 — 重要インフラ関連"));
    assert!(html.contains("3.1 国内 — 重要インフラ関連"));
    for format in ["md", "json", "csv", "docx"] {
        assert!(
            html.contains(&format!(
                "href=\"/api/export?quarter=FY2024Q4&amp;format={format}\""
            )),
            "{format}"
        );
    }
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let ohio = doc
        .select(&sel("li.item"))
        .find(|li| li.text().collect::<String>().contains("Ohio hospital"))
        .expect("the Ohio hospital item is a candidate");
    for part in [
        "button.include",
        "button.exclude",
        "button.clear",
        "select.section",
        "input.note",
        "details.reasons li",
        ".citation",
        ".tag.sector",
    ] {
        assert!(ohio.select(&sel(part)).next().is_some(), "{part}");
    }
    let text: String = ohio.text().collect();
    assert!(
        text.contains("医療") && text.contains("ランサムウェア攻撃"),
        "{text}"
    );
    assert!(text.contains("The Record「Ohio hospital"), "{text}");
    assert!(text.contains("sector=medical"), "{text}");
    // The section a candidate sits under.
    let section_21 = doc.select(&sel("section#s2\\.1")).next().unwrap();
    assert!(
        section_21
            .text()
            .collect::<String>()
            .contains("Ohio hospital")
    );
    // Source choices come from the configuration.
    assert!(
        html.contains("<option value=\"security-next\">security-next — Security NEXT</option>")
    );

    // Filters.
    let only_jp = get("?quarter=FY2024Q4&source=security-next").await;
    assert!(!only_jp.contains("Ohio hospital") && only_jp.contains("病院でランサムウェア被害"));
    let medical = get("?quarter=FY2024Q4&sector=medical&q=ohio").await;
    assert!(medical.contains("Ohio hospital") && !medical.contains("病院でランサムウェア被害"));
    let section = get("?quarter=FY2024Q4&section=3.1").await;
    assert!(!section.contains("Ohio hospital") && section.contains("病院でランサムウェア被害"));
    // The form's empty fields mean "not given".
    let blank = get("?quarter=FY2024Q4&section=&sector=&source=&q=").await;
    assert!(blank.contains("Ohio hospital"));
}

#[tokio::test]
async fn with_a_token_the_browser_logs_in_with_a_same_site_cookie() {
    let token = "s3cret; token=+/";
    let (addr, _server, _dir) = serve_polled(
        &[("/tr.xml", "feeds/therecord.xml")],
        &[src("therecord", "/tr.xml", "The Record", "US", "en")],
        &format!("token = {token:?}\n"),
    )
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    assert_eq!(
        client
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let wrong = client
        .get(format!("{base}/login?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let login = client
        .get(format!("{base}/login?token={encoded}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/");
    let set = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("s3cret"),
        "the token itself stays out of the cookie"
    );
    let cookie = set.split(';').next().unwrap().to_string();

    let page = client
        .get(format!("{base}/?quarter=FY2024Q4"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let id = doc
        .select(&scraper::Selector::parse("li.item[data-id]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("data-id")
        .unwrap()
        .to_string();
    let decide = |content_type: &'static str, origin: String| {
        client
            .post(format!("{base}/api/items/{id}/decision"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .header("origin", origin)
            .body(r#"{"verdict":"exclude"}"#)
            .send()
    };
    // A form from another origin (even another port of this host: same site) is refused.
    let form = decide("text/plain", "http://127.0.0.1:1".into())
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    let elsewhere = decide("application/json", "http://127.0.0.1:1".into())
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);
    let ours = decide("application/json", base.clone()).await.unwrap();
    assert_eq!(ours.status(), 200, "{}", ours.text().await.unwrap());
    // The bearer header still works, and the cookie is no way around a wrong one.
    let bearer = client
        .get(format!("{base}/api/items/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let forged = client
        .get(format!("{base}/"))
        .header("cookie", "kizashi_token=00")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

// ---------------------------------------------------------------------------------------
// The real daemon and a real browser.

fn chromium() -> Option<String> {
    if let Ok(p) = std::env::var("KIZASHI_CHROMIUM")
        && !p.is_empty()
    {
        return Some(p);
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// A minimal WebSocket client (RFC 6455: masked text frames out, unmasked frames in), enough
/// for the Chrome DevTools Protocol on loopback.
struct Ws {
    stream: BufReader<TcpStream>,
}

impl Ws {
    async fn connect(url: &str) -> Ws {
        use base64::Engine;
        let url = url::Url::parse(url).unwrap();
        let host = url.host_str().unwrap().to_string();
        let port = url.port().unwrap();
        let mut stream = BufReader::new(TcpStream::connect((host.as_str(), port)).await.unwrap());
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            url.path()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut status = String::new();
        stream.read_line(&mut status).await.unwrap();
        assert!(status.starts_with("HTTP/1.1 101"), "websocket: {status}");
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            if line.trim().is_empty() {
                break;
            }
        }
        Ws { stream }
    }

    async fn frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend((n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend((n as u64).to_be_bytes());
            }
        }
        let mask: [u8; 4] = rand::random();
        frame.extend(mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }

    async fn send(&mut self, text: &str) {
        self.frame(0x1, text.as_bytes()).await;
    }

    async fn recv(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).await.unwrap();
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            let len = match head[1] & 0x7f {
                126 => self.stream.read_u16().await.unwrap() as usize,
                127 => self.stream.read_u64().await.unwrap() as usize,
                n => n as usize,
            };
            let mask = if head[1] & 0x80 != 0 {
                let mut m = [0u8; 4];
                self.stream.read_exact(&mut m).await.unwrap();
                Some(m)
            } else {
                None
            };
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).await.unwrap();
            if let Some(m) = mask {
                payload
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, b)| *b ^= m[i % 4]);
            }
            match opcode {
                0x0..=0x2 => {
                    message.extend(payload);
                    if fin {
                        return String::from_utf8(message).unwrap();
                    }
                }
                0x8 => panic!("the browser closed the DevTools connection"),
                0x9 => self.frame(0xA, &payload).await,
                _ => {}
            }
        }
    }
}

/// The Chrome DevTools Protocol over one browser-level connection, pages attached with flat
/// sessions.
struct Cdp {
    ws: Ws,
    next: u64,
}

impl Cdp {
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let answer = self.answer(session, method, params).await;
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// The browser's whole answer to a command, an error included.
    async fn answer(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(&msg.to_string()).await;
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let v: Value = serde_json::from_str(&self.ws.recv().await).unwrap();
                if v["id"] == id {
                    return v;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer"))
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let answer = self.evaluate(session, expression).await;
        assert!(answer.get("error").is_none(), "Runtime.evaluate: {answer}");
        let r = &answer["result"];
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// The browser's whole answer to evaluating an expression, an error included.
    async fn evaluate(&mut self, session: &str, expression: &str) -> Value {
        self.answer(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )
        .await
    }

    /// Loads a URL and waits until the new document has loaded.
    async fn goto(&mut self, session: &str, url: &str) {
        self.eval(session, "window.__old = true").await;
        self.call(Some(session), "Page.navigate", json!({"url": url}))
            .await;
        self.wait_for(
            session,
            "!window.__old && document.readyState === 'complete'",
        )
        .await;
    }

    /// Clicks the element a selector names and waits until the page has reloaded.
    async fn click_and_wait_reload(&mut self, session: &str, selector: &str) {
        self.eval(session, "window.__old = true").await;
        let click = format!("document.querySelector({}).click()", json!(selector));
        self.eval(session, &click).await;
        self.wait_for(
            session,
            "!window.__old && document.readyState === 'complete'",
        )
        .await;
    }

    /// Waits until an expression is true in the page.
    async fn wait_for(&mut self, session: &str, expression: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let wrapped = format!(
                "(function(){{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }})()"
            );
            // While the page navigates the browser may answer "Inspected target navigated or
            // closed": not yet, ask again.
            let answer = self.evaluate(session, &wrapped).await;
            if answer["result"]["result"]["value"] == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never satisfied {expression}");
    }
}

async fn export_items(client: &reqwest::Client, base: &str, all: bool) -> Vec<Value> {
    let url = format!(
        "{base}/api/export?quarter=FY2024Q4&format=json{}",
        if all { "&all=true" } else { "" }
    );
    let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    doc["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn clicking_exclude_in_a_real_browser_changes_the_export() {
    let Some(browser) = chromium() else {
        println!("SKIPPED: chromium not installed");
        return;
    };
    let started = Instant::now();
    let server = MockServer::start().await;
    crate::common::serve_fixtures(
        &server,
        &[
            ("/tr.xml", "feeds/therecord.xml"),
            ("/sn.xml", "feeds/securitynext.xml"),
            ("/xss.xml", "feeds/xss.xml"),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let config = dir.path().join("kizashi.toml");
    std::fs::write(
        &config,
        config_text(
            &server.uri(),
            &dir.path().join("data"),
            &listen,
            &[
                src("therecord", "/tr.xml", "The Record", "US", "en"),
                src("security-next", "/sn.xml", "Security NEXT", "JP", "ja"),
                src("hostile", "/xss.xml", "Hostile", "US", "en"),
            ],
        ),
    )
    .unwrap();
    let _daemon = Command::new(BIN)
        .args(["run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://{listen}");
    common::wait_for_sources(
        &client,
        &base,
        None,
        Duration::from_secs(10),
        "the daemon polled its sources",
        |rows| rows.len() == 3 && rows.iter().all(|r| r["last_status"] == "200"),
    )
    .await;
    let before = export_items(&client, &base, false).await;
    let ohio = before
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Ohio hospital"))
        .expect("a candidate before the click");
    let id = ohio["id"].as_str().unwrap().to_string();

    // The browser.
    let profile = tempfile::tempdir().unwrap();
    let mut chrome = Command::new(&browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{browser}: {e}"));
    let mut stderr = BufReader::new(chrome.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let ws_url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if let Some(at) = line.find("ws://") {
                return Some(line[at..].trim().to_string());
            }
            seen.push(line);
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("chromium did not start DevTools:\n{}", seen.join("\n")));
    // Keep reading so that the browser never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

    let mut cdp = Cdp {
        ws: Ws::connect(&ws_url).await,
        next: 0,
    };
    let target = cdp
        .call(None, "Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )
        .await;
    let session = attached["sessionId"].as_str().unwrap().to_string();
    let s = session.as_str();
    cdp.call(Some(s), "Page.enable", json!({})).await;
    // Any alert() a feed managed to run would land here.
    cdp.call(
        Some(s),
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"}),
    )
    .await;

    // Every item, the hostile ones included: their text shows, nothing runs.
    let all_url = format!("{base}/?quarter=FY2024Q4&all=true");
    let candidates_url = format!("{base}/?quarter=FY2024Q4");
    cdp.goto(s, &all_url).await;
    let shown = cdp
        .eval(
            s,
            "Array.from(document.querySelectorAll('li.item .title')).map(e => e.textContent).join('\\n')",
        )
        .await;
    assert!(
        shown
            .as_str()
            .unwrap()
            .contains("<script>alert(1)</script> Hospital ransomware attack in Ohio"),
        "{shown}"
    );
    assert_eq!(
        cdp.eval(
            s,
            "window.__alerts.length + document.querySelectorAll('img, svg').length"
        )
        .await,
        json!(0)
    );

    // The quarter's candidates; exclude one.
    cdp.goto(s, &candidates_url).await;
    let item = format!("document.querySelector('[data-id=\"{id}\"]')");
    assert_eq!(cdp.eval(s, &format!("{item} !== null")).await, json!(true));
    cdp.click_and_wait_reload(s, &format!("[data-id=\"{id}\"] button.exclude"))
        .await;
    // The page reloaded without the excluded item.
    assert_eq!(cdp.eval(s, &format!("{item} === null")).await, json!(true));
    assert!(
        cdp.eval(s, "document.querySelectorAll('li.item').length")
            .await
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(cdp.eval(s, "window.__alerts.length").await, json!(0));

    // The export changed: gone from the candidates, excluded among all items.
    let after = export_items(&client, &base, false).await;
    assert!(!after.iter().any(|i| i["id"] == id.as_str()));
    assert_eq!(after.len() + 1, before.len());
    let all = export_items(&client, &base, true).await;
    let excluded = all
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("still exported with all=true");
    assert_eq!(excluded["decision"]["verdict"], "exclude");
    assert_eq!(excluded["section"], Value::Null);

    // Shown as excluded with all items, and Clear brings it back.
    cdp.goto(s, &all_url).await;
    assert_eq!(
        cdp.eval(
            s,
            &format!(
                "{item}.closest('section').id + ' ' + {item}.querySelector('.verdict').textContent"
            )
        )
        .await,
        json!("excluded exclude")
    );
    cdp.click_and_wait_reload(s, &format!("[data-id=\"{id}\"] button.clear"))
        .await;
    assert_eq!(
        export_items(&client, &base, false).await.len(),
        before.len()
    );

    // Close cleanly (the answer may never come: the browser goes away).
    cdp.ws
        .send(&json!({"id": 0, "method": "Browser.close", "params": {}}).to_string())
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), chrome.wait()).await;
    println!("browser test took {:.1} s", started.elapsed().as_secs_f64());
}

/// The pages of one story (a release and the statement it links to) are shown together, the
/// earlier first; another item stays on its own.
#[tokio::test]
async fn the_pages_of_one_story_are_shown_together() {
    let (addr, _server, _dir) = serve_polled(
        &[("/news", "feeds/linked-release.xml")],
        &[src("agency", "/news", "Example Agency", "US", "en")],
        "",
    )
    .await;
    let html = reqwest::get(format!("http://{addr}/?quarter=FY2025Q1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let story_start = html.find("<li class=\"story\">").expect("a story block");
    let story = &html[story_start..story_start + html[story_start..].find("</ol></li>").unwrap()];
    assert!(story.contains("one story, 2 pages"), "{story}");
    let statement = story
        .find("Joint guidance: principles")
        .expect("statement in the story");
    let release = story
        .find("Director welcomes allies")
        .expect("release in the story");
    assert!(statement < release, "the earlier page first: {story}");
    let alone = html
        .find("Agency publishes annual threat assessment")
        .unwrap();
    assert!(
        !(story_start..story_start + story.len()).contains(&alone),
        "another event is not in the story"
    );
}
