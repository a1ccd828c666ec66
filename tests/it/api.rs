//! The API of a daemon running in this process on 127.0.0.1 port 0.

use std::sync::Arc;
use std::time::Duration;

use kizashi::config::Config;
use tokio::net::TcpListener;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config_text, fixture, src};

struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: DaemonTask,
    _server: MockServer,
    _dir: tempfile::TempDir,
}

async fn start(extra: &str) -> Running {
    let server = MockServer::start().await;
    Mock::given(path("/tr"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        &server.uri(),
        dir.path(),
        "127.0.0.1:0",
        &[src("therecord", "/tr", "The Record", "US", "en")],
    )
    .replace(
        "[api]\nlisten = \"127.0.0.1:0\"\n",
        &format!("[api]\nlisten = \"127.0.0.1:0\"\n{extra}"),
    );
    let (base, stop, task) = spawn_daemon(&text).await;
    Running {
        base,
        stop: Some(stop),
        task,
        _server: server,
        _dir: dir,
    }
}

type DaemonTask = tokio::task::JoinHandle<Result<(), kizashi::daemon::Error>>;

/// A daemon on this configuration, listening on 127.0.0.1 port 0: its address, what stops it
/// and its task.
async fn spawn_daemon(config: &str) -> (String, tokio::sync::oneshot::Sender<()>, DaemonTask) {
    let config = Arc::new(Config::parse(config, "api.toml").unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kizashi::daemon::run(config, listener, async move {
        let _ = stopped.await;
    }));
    (base, stop, task)
}

async fn wait_polled(client: &reqwest::Client, base: &str, token: Option<&str>) {
    crate::common::wait_for_sources(
        client,
        base,
        token,
        Duration::from_secs(5),
        "the daemon did not poll",
        |rows| rows.iter().all(|row| row["last_status"] == "200"),
    )
    .await;
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(25), &mut self.task)
            .await
            .expect("stops in time")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

/// A quarter's JSON is sent as it is written, in blocks from several threads: what arrives is
/// the document `export::render` makes of the same items.
#[tokio::test]
async fn a_large_export_arrives_whole_and_in_order() {
    use kizashi::model::Section;
    use kizashi::store::{SledStore, Store};
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sections = [
        Section::ForeignPolicy,
        Section::AbroadCritical,
        Section::AbroadOther,
        Section::DomesticCritical,
    ];
    let items: Vec<_> = (0..1_500)
        .map(|n| {
            crate::export::item(
                &format!("i{n:05}"),
                "Publisher",
                "US",
                &format!("Story number {n} about organisation {}", n * 7919 % 1000),
                &format!("2025-0{}-{:02}T09:00:00+09:00", 1 + n % 3, 1 + n % 28),
                Some(sections[n % 4]),
            )
        })
        .collect();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.replace_items(&items).unwrap();
        store.flush().unwrap();
    }
    let text = config_text(&server.uri(), dir.path(), "127.0.0.1:0", &[]);
    let (base, stop, task) = spawn_daemon(&text).await;
    // Every item: the daemon re-tags them on start, and these titles are not candidates.
    let got = reqwest::get(format!(
        "{base}/api/export?quarter=FY2024Q4&format=json&all=true"
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    let _ = stop.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(25), task).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");

    let got: serde_json::Value = serde_json::from_slice(&got).expect("the whole document");
    let range = kizashi::model::DateRange::quarter("FY2024Q4".parse().unwrap());
    let stored = SledStore::open(dir.path())
        .unwrap()
        .items_published_between(range.from, range.to)
        .unwrap();
    let request = kizashi::export::Request {
        range,
        format: kizashi::export::Format::Json,
        all: true,
        generated_at: chrono::Utc::now().with_timezone(&kizashi::model::jst()),
    };
    let expected: serde_json::Value =
        serde_json::from_slice(&kizashi::export::render(stored, &request)).unwrap();
    assert_eq!(got["items"].as_array().map(Vec::len), Some(1_500));
    assert!(got["items"] == expected["items"], "items differ");
}

#[tokio::test]
async fn items_filters_decisions_and_metrics() {
    let daemon = start("").await;
    let client = reqwest::Client::new();
    let base = daemon.base.clone();
    wait_polled(&client, &base, None).await;
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );

    let get = |url: String| {
        let client = client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).unwrap()
        }
    };
    let items = get(format!("{base}/api/items?quarter=FY2024Q4")).await;
    let all = items.as_array().unwrap();
    assert!(all.len() >= 3, "{items}");
    let critical = get(format!("{base}/api/items?quarter=FY2024Q4&section=2.1")).await;
    assert!(
        critical
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["section"] == "2.1")
    );
    let hospital = get(format!(
        "{base}/api/items?quarter=FY2024Q4&sector=medical&q=hospital"
    ))
    .await;
    let hospital = &hospital.as_array().unwrap()[0];
    assert!(
        hospital["title"]
            .as_str()
            .unwrap()
            .starts_with("Ohio hospital")
    );
    let id = hospital["id"].as_str().unwrap().to_string();
    let one = get(format!("{base}/api/items/{id}")).await;
    assert!(
        !one["reasons"].as_array().unwrap().is_empty(),
        "reasons shown"
    );
    let missing = client
        .get(format!("{base}/api/items/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        client
            .get(format!("{base}/api/items?quarter=FY2024Q9"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );

    // A form post from another site cannot change anything; a same-origin JSON request can.
    let url = format!("{base}/api/items/{id}/decision");
    let forged = client
        .post(&url)
        .header("content-type", "text/plain")
        .header("origin", "https://evil.example")
        .body("{\"verdict\":\"exclude\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let cross = client
        .post(&url)
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body("{\"verdict\":\"exclude\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    let host = base.trim_start_matches("http://");
    let ok = client
        .post(&url)
        .header("content-type", "application/json")
        .header("origin", format!("http://{host}"))
        .body("{\"verdict\":\"exclude\",\"note\":\"dup\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200, "{}", ok.text().await.unwrap());
    let invalid = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"verdict\":\"maybe\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status().as_u16(), 422);
    let after = get(format!("{base}/api/items?quarter=FY2024Q4")).await;
    assert!(
        !after
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "excluded"
    );
    let export = client
        .get(format!("{base}/api/export?quarter=FY2024Q4&format=json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!export.contains(&id));

    // DNS rebinding and oversized bodies.
    let rebound = client
        .get(format!("{base}/api/items"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 421);
    let big = client
        .post(format!("{base}/api/review/import"))
        .header("x-kizashi-client", "1")
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status().as_u16(), 413);

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "kizashi_polls_total{source=\"therecord\"} 1",
        "kizashi_items ",
        "kizashi_store_size_bytes ",
        "kizashi_alerts{state=\"queued\"}",
        "kizashi_poll_failures_total{source=\"therecord\"} 0",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn a_token_guards_every_route_but_health() {
    let daemon = start("token = \"s3cret-token\"\n").await;
    let client = reqwest::Client::new();
    let base = daemon.base.clone();
    wait_polled(&client, &base, Some("s3cret-token")).await;
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        client
            .get(format!("{base}/api/items"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        client
            .get(format!("{base}/api/items"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        client
            .get(format!("{base}/api/items"))
            .bearer_auth("s3cret-token")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    daemon.stop().await;
}

/// A slowloris client (a request head sent a byte at a time, never finished) is cut off at the
/// head deadline, and clients beyond the connection cap wait instead of being refused.
#[tokio::test]
async fn slow_request_heads_are_cut_off_and_connections_capped() {
    use kizashi::api::serve::{Limits, serve};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok\n" }));
    let stop = tokio_util::sync::CancellationToken::new();
    let limits = Limits {
        header_read: Duration::from_millis(300),
        connections: 2,
    };
    let server = tokio::spawn(serve(listener, app, limits, stop.clone()));

    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127").await.unwrap();
        slow.push(s);
    }
    // Both slots are taken: a third client is served once the slow ones are cut off.
    let started = std::time::Instant::now();
    let fetched = tokio::time::timeout(
        Duration::from_secs(20),
        reqwest::get(format!("http://{addr}/")),
    )
    .await
    .expect("a waiting client is served after the slow ones are cut off")
    .unwrap();
    assert_eq!(fetched.text().await.unwrap(), "ok\n");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the third client waited for a slot"
    );
    for mut s in slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
            .await
            .expect("the slow connection is closed by the server");
        // Closed, with at most an error answer: never a served request.
        assert!(read.is_err() || !String::from_utf8_lossy(&buf).contains("ok"));
    }

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("serve returns once stopped")
        .unwrap();
}
