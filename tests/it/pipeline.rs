//! One source polled through the real pipeline against a local server.

use std::time::Duration;

use kizashi::pipeline::poll_once;
use kizashi::store::Store;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{config, deps, fixture, src};

fn rss(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Content-Type", "application/rss+xml")
        .set_body_bytes(body)
}

/// One fixture feed served at the source's path and polled once; the server and the data
/// directory live as long as the test holds them.
struct Polled {
    deps: kizashi::pipeline::Deps,
    outcome: kizashi::pipeline::PollOutcome,
    _server: MockServer,
    _dir: tempfile::TempDir,
}

async fn poll_fixture(feed: &str, source: crate::common::Src<'_>) -> Polled {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(source.path))
        .respond_with(rss(fixture(feed)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server.uri(), dir.path(), &[source]);
    let deps = deps(&cfg);
    let outcome = poll_once(&cfg.sources[0], &deps).await.unwrap();
    Polled {
        deps,
        outcome,
        _server: server,
        _dir: dir,
    }
}

#[tokio::test]
async fn items_are_stored_with_every_field_and_exact_citations() {
    let Polled { deps, outcome, .. } = poll_fixture(
        "feeds/whitehouse.xml",
        src("whitehouse", "/wh", "The White House", "US", "en"),
    )
    .await;
    assert_eq!(outcome.status, "200");
    assert_eq!(outcome.written.new, 5);

    let items = deps.store.all_items().unwrap();
    let trust = items
        .iter()
        .find(|i| i.title.contains("Cyber Trust Mark"))
        .unwrap();
    assert_eq!(trust.source, "whitehouse");
    assert_eq!(trust.publisher, "The White House");
    assert_eq!(trust.country, "US");
    assert_eq!(trust.lang, "en");
    assert_eq!(
        trust.published.unwrap().to_rfc3339(),
        "2025-01-07T10:30:00-05:00"
    );
    let today = chrono::Utc::now()
        .with_timezone(&kizashi::model::jst())
        .date_naive();
    assert_eq!(trust.accessed, today);
    assert!(!trust.summary.is_empty() && !trust.summary.contains('<'));
    let expected = format!(
        "The White House「White House Launches “U.S. Cyber Trust Mark”, Providing American Consumers an Easy Label to See if Connected Devices are Cybersecure(2025/1/7)」、https://www.whitehouse.gov/briefing-room/statements-releases/2025/01/07/white-house-launches-u-s-cyber-trust-mark-providing-american-consumers-an-easy-label-to-see-if-connected-devices-are-cybersecure/({} 閲覧)",
        kizashi::model::slash_date(today)
    );
    assert_eq!(trust.citation(), expected);
}

#[tokio::test]
async fn second_poll_is_conditional_and_a_304_changes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cisa"))
        .and(header("If-None-Match", "\"v1\""))
        // wiremock splits header values at commas, so the date is checked below.
        .and(header_exists("If-Modified-Since"))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cisa"))
        .respond_with(
            rss(fixture("feeds/cisa-all.xml"))
                .insert_header("ETag", "\"v1\"")
                .insert_header("Last-Modified", "Tue, 01 Apr 2025 00:00:00 GMT"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.uri(),
        dir.path(),
        &[src("cisa", "/cisa", "CISA", "US", "en")],
    );
    let deps = deps(&cfg);
    let first = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(first.written.new, 5);
    let before = deps.store.all_items().unwrap();
    let second = poll_once(&cfg.sources[0], &deps).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let since = requests[1]
        .headers
        .get("if-modified-since")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(since, "Tue, 01 Apr 2025 00:00:00 GMT");
    assert_eq!(second.status, "304");
    assert_eq!(
        deps.store.all_items().unwrap(),
        before,
        "a 304 leaves stored items alone"
    );
    let state = deps.store.state("cisa").unwrap().unwrap();
    assert_eq!(state.last_status.as_deref(), Some("304"));
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    assert_eq!(state.items_stored, 5);
    // Another 304 from a healthy source writes nothing: its record is refreshed hourly.
    let third = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(third.status, "304");
    assert_eq!(
        deps.store.state("cisa").unwrap().unwrap(),
        state,
        "no store write"
    );
}

#[tokio::test]
async fn validators_survive_a_restart_and_items_are_not_duplicated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cisa"))
        .and(header("If-None-Match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cisa"))
        .respond_with(rss(fixture("feeds/cisa-all.xml")).insert_header("ETag", "\"v1\""))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/wh"))
        .respond_with(rss(fixture("feeds/whitehouse.xml")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        src("cisa", "/cisa", "CISA", "US", "en"),
        src("wh", "/wh", "The White House", "US", "en"),
    ];
    let cfg = config(&server.uri(), dir.path(), &sources);
    {
        let deps = deps(&cfg);
        for s in &cfg.sources {
            poll_once(s, &deps).await.unwrap();
        }
        assert_eq!(deps.store.item_count().unwrap(), 10);
    }
    // A new process: same store, same answers.
    let deps = deps(&cfg);
    let cisa = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(
        cisa.status, "304",
        "the ETag was remembered across the restart"
    );
    let wh = poll_once(&cfg.sources[1], &deps).await.unwrap();
    assert_eq!((wh.written.new, wh.written.unchanged), (0, 5));
    assert_eq!(deps.store.item_count().unwrap(), 10);
}

#[tokio::test]
async fn an_edited_item_is_updated_and_keeps_its_first_access_date() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.uri(),
        dir.path(),
        &[src("cisa", "/cisa", "CISA", "US", "en")],
    );
    let deps = deps(&cfg);
    Mock::given(path("/cisa"))
        .respond_with(rss(fixture("feeds/cisa-all.xml")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    poll_once(&cfg.sources[0], &deps).await.unwrap();
    let id_of = |title: &str| {
        deps.store
            .all_items()
            .unwrap()
            .into_iter()
            .find(|i| i.title.contains(title))
            .map(|i| (i.id, i.accessed, i.first_seen))
    };
    let (id, accessed, first_seen) = id_of("Technolgy").unwrap();

    Mock::given(path("/cisa"))
        .respond_with(rss(fixture("feeds/cisa-all-updated.xml")))
        .mount(&server)
        .await;
    let outcome = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(
        (
            outcome.written.new,
            outcome.written.updated,
            outcome.written.unchanged
        ),
        (1, 1, 4)
    );
    let updated = deps.store.item(&id).unwrap();
    assert!(
        updated.title.contains("Operational Technology in Water"),
        "{}",
        updated.title
    );
    assert_eq!(
        (updated.accessed, updated.first_seen),
        (accessed, first_seen)
    );
    assert_eq!(deps.store.item_count().unwrap(), 6);
}

#[tokio::test]
async fn failing_sources_are_recorded_while_the_others_are_stored() {
    let server = MockServer::start().await;
    Mock::given(path("/ok"))
        .respond_with(rss(fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    Mock::given(path("/500"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(rss(fixture("feeds/therecord.xml")).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(path("/garbage"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", "text/html")
                .set_body_bytes(fixture("feeds/garbage.xml")),
        )
        .mount(&server)
        .await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7200"))
        .mount(&server)
        .await;
    Mock::given(path("/empty"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        src("ok", "/ok", "The Record", "US", "en"),
        src("broken", "/500", "X", "US", "en"),
        src("slow", "/slow", "X", "US", "en"),
        src("garbage", "/garbage", "X", "US", "en"),
        src("busy", "/busy", "X", "US", "en"),
        src("empty", "/empty", "X", "US", "en"),
    ];
    let cfg = config(&server.uri(), dir.path(), &sources);
    let summary = kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    assert_eq!(summary.failed(), 5);
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let state = |id: &str| store.state(id).unwrap().unwrap();
    assert_eq!(state("ok").items_stored, 6);
    assert_eq!(state("ok").consecutive_failures, 0);
    assert_eq!(state("broken").last_status.as_deref(), Some("500"));
    assert_eq!(state("slow").last_status.as_deref(), Some("timeout"));
    assert_eq!(state("garbage").last_status.as_deref(), Some("parse-error"));
    assert!(state("garbage").last_error.unwrap().contains("not a feed"));
    assert_eq!(state("empty").last_status.as_deref(), Some("empty"));
    let busy = state("busy");
    assert_eq!(busy.last_status.as_deref(), Some("429"));
    let wait = busy.next_poll.unwrap() - busy.last_poll.unwrap();
    assert!(
        wait >= chrono::Duration::seconds(7200),
        "Retry-After honoured: {wait}"
    );
    for id in ["broken", "slow", "garbage", "busy", "empty"] {
        assert_eq!(state(id).consecutive_failures, 1, "{id}");
        assert_eq!(state(id).items_stored, 0, "{id}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start().await;
    let mut big = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title>".to_vec();
    big.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));
    big.extend_from_slice(b"</channel></rss>");
    Mock::given(path("/big"))
        .respond_with(rss(big))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let text = crate::common::config_text(
        &server.uri(),
        dir.path(),
        "127.0.0.1:0",
        &[src("big", "/big", "X", "US", "en")],
    )
    .replace("[fetch]\n", "[fetch]\nmax_body = 1048576\n");
    let cfg = std::sync::Arc::new(kizashi::config::Config::parse(&text, "t.toml").unwrap());
    let deps = deps(&cfg);
    let outcome = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(outcome.status, "too-large");
}

#[tokio::test]
async fn redirects_are_followed_at_most_five_times() {
    let server = MockServer::start().await;
    for i in 0..7 {
        Mock::given(path(format!("/r{i}")))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("Location", format!("/r{}", i + 1).as_str()),
            )
            .mount(&server)
            .await;
    }
    Mock::given(path("/r7"))
        .respond_with(rss(fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    Mock::given(path("/two"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/r5"))
        .mount(&server)
        .await;
    Mock::given(path("/file"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "file:///etc/passwd"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        src("loop", "/r0", "X", "US", "en"),
        src("short", "/two", "X", "US", "en"),
        src("file", "/file", "X", "US", "en"),
    ];
    let cfg = config(&server.uri(), dir.path(), &sources);
    let deps = deps(&cfg);
    assert_eq!(
        poll_once(&cfg.sources[0], &deps).await.unwrap().status,
        "redirect"
    );
    assert_eq!(
        poll_once(&cfg.sources[1], &deps).await.unwrap().status,
        "200"
    );
    assert_eq!(
        poll_once(&cfg.sources[2], &deps).await.unwrap().status,
        "redirect"
    );
}

#[tokio::test]
async fn requests_name_kizashi_and_accept_compression() {
    let server = MockServer::start().await;
    Mock::given(path("/ua"))
        .and(header(
            "User-Agent",
            format!("kizashi/{}", env!("CARGO_PKG_VERSION")).as_str(),
        ))
        .respond_with(rss(fixture("feeds/therecord.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.uri(),
        dir.path(),
        &[src("ua", "/ua", "X", "US", "en")],
    );
    let deps = deps(&cfg);
    assert_eq!(
        poll_once(&cfg.sources[0], &deps).await.unwrap().status,
        "200"
    );
    let requests = server.received_requests().await.unwrap();
    let enc = requests[0]
        .headers
        .get("accept-encoding")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(enc.contains("gzip") && enc.contains("br"), "{enc}");
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&fixture("feeds/therecord.xml")).unwrap();
    let gz = enc.finish().unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/gz"))
        .respond_with(rss(gz).insert_header("Content-Encoding", "gzip"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.uri(),
        dir.path(),
        &[src("gz", "/gz", "X", "US", "en")],
    );
    let deps = deps(&cfg);
    let outcome = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!((outcome.status.as_str(), outcome.written.new), ("200", 6));
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_cap() {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1024 * 1024];
    enc.write_all(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>")
        .unwrap();
    for _ in 0..32 {
        enc.write_all(&zeros).unwrap();
    }
    let gz = enc.finish().unwrap();
    assert!(
        gz.len() < 1024 * 1024,
        "compressed bomb is small: {}",
        gz.len()
    );
    let server = MockServer::start().await;
    Mock::given(path("/bomb"))
        .respond_with(rss(gz).insert_header("Content-Encoding", "gzip"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &server.uri(),
        dir.path(),
        &[src("bomb", "/bomb", "X", "US", "en")],
    );
    let deps = deps(&cfg);
    let outcome = poll_once(&cfg.sources[0], &deps).await.unwrap();
    assert_eq!(
        outcome.status, "too-large",
        "32 MiB decoded exceeds the 15 MiB cap"
    );
}

/// Records when each request arrived.
struct Arrivals(
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    Vec<u8>,
);

impl wiremock::Respond for Arrivals {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(std::time::Instant::now());
        rss(self.1.clone()).set_delay(Duration::from_millis(300))
    }
}

#[tokio::test]
async fn one_host_sees_one_request_at_a_time() {
    let server = MockServer::start().await;
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .respond_with(Arrivals(arrivals.clone(), fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        src("a", "/a", "X", "US", "en"),
        src("b", "/b", "X", "US", "en"),
        src("c", "/c", "X", "US", "en"),
    ];
    let cfg = config(&server.uri(), dir.path(), &sources);
    let summary = kizashi::daemon::run_once(cfg).await.unwrap();
    assert_eq!(summary.failed(), 0);
    let mut times = arrivals.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        // Each answer takes 300 ms; a second request to the host waits for the first.
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(290),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test]
async fn host_names_and_redirects_to_private_addresses_are_refused() {
    let server = MockServer::start().await;
    let local = server.uri().replace("127.0.0.1", "localhost");
    Mock::given(path("/feed"))
        .respond_with(rss(fixture("feeds/therecord.xml")))
        .mount(&server)
        .await;
    Mock::given(path("/to-name"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{local}/feed").as_str()),
        )
        .mount(&server)
        .await;
    let other_literal = server.uri().replace("127.0.0.1", "127.0.0.2");
    Mock::given(path("/to-literal"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{other_literal}/feed").as_str()),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let base = server.uri();
    let text = format!(
        "data_dir = {:?}\n[fetch]\ntimeout = \"3s\"\n\
         [[sources]]\nid = \"by-name\"\npublisher = \"X\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{local}/feed\"\n\
         [[sources]]\nid = \"by-name-allowed\"\npublisher = \"X\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{local}/feed\"\nallow_private = true\n\
         [[sources]]\nid = \"literal\"\npublisher = \"X\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{base}/feed\"\n\
         [[sources]]\nid = \"redirect-to-name\"\npublisher = \"X\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{base}/to-name\"\n\
         [[sources]]\nid = \"redirect-to-literal\"\npublisher = \"X\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{base}/to-literal\"\n",
        dir.path().display().to_string()
    );
    let cfg = std::sync::Arc::new(kizashi::config::Config::parse(&text, "ssrf.toml").unwrap());
    let deps = deps(&cfg);
    let status = |o: kizashi::pipeline::PollOutcome| (o.status, o.error.unwrap_or_default());
    let (s, e) = status(poll_once(&cfg.sources[0], &deps).await.unwrap());
    assert_eq!(s, "blocked", "{e}");
    assert!(e.contains("non-public"), "{e}");
    assert_eq!(
        poll_once(&cfg.sources[1], &deps).await.unwrap().status,
        "200",
        "allow_private"
    );
    assert_eq!(
        poll_once(&cfg.sources[2], &deps).await.unwrap().status,
        "200",
        "a literal address is the operator's choice"
    );
    let (s, e) = status(poll_once(&cfg.sources[3], &deps).await.unwrap());
    assert_eq!(s, "blocked", "{e}");
    assert!(e.contains("non-public"), "{e}");
    let (s, e) = status(poll_once(&cfg.sources[4], &deps).await.unwrap());
    assert_eq!(s, "blocked", "{e}");
    assert!(e.contains("non-public"), "{e}");
}

/// An agency release and the statement it links to are one story: the link is kept from the
/// release's summary, and the export writes one report item citing both.
#[tokio::test]
async fn a_release_and_the_statement_it_links_to_are_one_story() {
    let Polled { deps, outcome, .. } = poll_fixture(
        "feeds/linked-release.xml",
        src("agency", "/news", "Example Agency", "US", "en"),
    )
    .await;
    assert_eq!(outcome.written.new, 3);
    let items = deps.store.all_items().unwrap();
    let release = items
        .iter()
        .find(|i| i.title.starts_with("Director"))
        .unwrap();
    let statement_url =
        "https://www.example.gov/statements/2025/05/joint-guidance-operational-technology";
    assert_eq!(
        release.links,
        [statement_url, "https://www.partner.example.org/statement"]
    );
    assert!(items.iter().all(|i| i.section().is_some()), "{items:#?}");

    let request = kizashi::export::Request {
        range: kizashi::model::DateRange::quarter("FY2025Q1".parse().unwrap()),
        format: kizashi::export::Format::Json,
        all: false,
        generated_at: chrono::DateTime::parse_from_rfc3339("2025-07-01T10:00:00+09:00").unwrap(),
    };
    let json: serde_json::Value =
        serde_json::from_slice(&kizashi::export::render(items.clone(), &request)).unwrap();
    let story_of = |title: &str| {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with(title))
            .map(|i| i["story"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(story_of("Director"), story_of("Joint guidance"));
    assert_ne!(story_of("Agency publishes"), story_of("Joint guidance"));

    let md = String::from_utf8(kizashi::export::render(
        items,
        &kizashi::export::Request {
            format: kizashi::export::Format::Markdown,
            ..request
        },
    ))
    .unwrap();
    let cited = md.matches("[^").count();
    assert!(
        md.contains("○ "),
        "the later page is a ○ line of one item: {md}"
    );
    assert!(cited >= 6, "three pages, each cited and defined: {md}");
}
