//! Alerts against local receivers: a webhook (wiremock), a command, an SMTP server written
//! here. Delivery is once per new incident, durable across restarts and receiver outages.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use kizashi::alert::deliver::{replay, run_due};
use kizashi::config::{Config, Secret};
use kizashi::model::AlertState;
use kizashi::store::Store;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::fixture;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Feeds on `server`, the store in `dir`, and the given `[[alerts]]` text.
fn config(server: &MockServer, dir: &std::path::Path, alerts: &str) -> Arc<Config> {
    let base = server.uri();
    let text = format!(
        r#"data_dir = {data:?}
[fetch]
timeout = "3s"
[[sources]]
id = "therecord"
publisher = "The Record"
country = "US"
lang = "en"
url = "{base}/therecord.xml"
[[sources]]
id = "security-next"
publisher = "Security NEXT"
country = "JP"
lang = "ja"
url = "{base}/sn.xml"
[[sources]]
id = "down"
publisher = "Down"
country = "US"
lang = "en"
url = "{base}/down.xml"
{alerts}"#,
        data = dir.display().to_string()
    );
    Arc::new(Config::parse(&text, "alerts.toml").unwrap_or_else(|e| panic!("{e}")))
}

async fn serve_feeds(server: &MockServer) {
    for (p, f) in [
        ("/therecord.xml", "feeds/therecord.xml"),
        ("/sn.xml", "feeds/securitynext.xml"),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture(f)))
            .mount(server)
            .await;
    }
    Mock::given(path("/down.xml"))
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
}

fn hooks(requests: &[Request]) -> Vec<&Request> {
    requests
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .collect()
}

fn json(r: &Request) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// The 2.1 and 3.1 items of the two fixture feeds (see fixtures/feeds/README.md).
fn critical_titles(requests: &[&Request]) -> Vec<String> {
    let mut t: Vec<String> = requests
        .iter()
        .map(|r| json(r)["items"][0]["title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn one_signed_webhook_per_new_critical_incident() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nsecret = \"{SECRET}\"\nmax_age = \"100000d\"\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let first = kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let posted = hooks(&requests);
    assert_eq!(first.alerts.delivered, posted.len());
    assert!(!posted.is_empty());
    for r in &posted {
        let body = json(r);
        let item = &body["items"][0];
        let section = item["section"].as_str().unwrap();
        assert!(
            section == "2.1" || section == "3.1",
            "only critical-infrastructure incidents: {body}"
        );
        assert!(!kizashi::alert::is_update(item["title"].as_str().unwrap()));
        let id = r.headers.get("webhook-id").unwrap().to_str().unwrap();
        let ts: i64 = r
            .headers
            .get("webhook-timestamp")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((Utc::now().timestamp() - ts).abs() < 60);
        let sig = r
            .headers
            .get("webhook-signature")
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(
            sig,
            kizashi::alert::channels::signature(&Secret::new(SECRET), id, ts, &r.body)
        );
        assert_eq!(body["id"], id);
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains(item["title"].as_str().unwrap().split('@').next().unwrap())
                && text.contains("https://"),
            "{text}"
        );
    }
    let ids: HashSet<&str> = posted
        .iter()
        .map(|r| r.headers.get("webhook-id").unwrap().to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), posted.len(), "one alert per item");
    let titles = critical_titles(&posted);
    assert!(
        titles.iter().any(|t| t.starts_with("Ohio hospital")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("病院でランサムウェア被害")),
        "{titles:?}"
    );
    assert!(
        !titles.iter().any(|t| t.starts_with("Senators push")),
        "policy is not alerted: {titles:?}"
    );

    // Nothing new on the next round: nothing sent again.
    let before = posted.len();
    kizashi::daemon::run_once(cfg).await.unwrap();
    assert_eq!(
        hooks(&server.received_requests().await.unwrap()).len(),
        before
    );
}

#[tokio::test]
async fn old_items_and_other_sections_never_alert() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    // The fixture items are from early 2025: older than three days.
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nmax_age = \"3d\"\n[[alerts]]\nname = \"policy-only\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nsections = [\"3.2\"]\nsectors = [\"aviation\"]\nmax_age = \"100000d\"\n",
        server.uri(),
        server.uri()
    );
    let summary = kizashi::daemon::run_once(config(&server, dir.path(), &alerts))
        .await
        .unwrap();
    assert_eq!(summary.alerts.delivered, 0);
}

#[tokio::test]
async fn a_receiver_that_fails_for_a_while_gets_every_alert_exactly_once() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(5)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nmax_age = \"100000d\"\nretries = [\"0s\", \"0s\", \"0s\", \"0s\", \"0s\", \"0s\"]\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    for _ in 0..10 {
        run_due(&store, &cfg.alerts, Utc::now()).await.unwrap();
    }
    let entries = store.alerts().unwrap();
    assert!(
        entries.iter().all(|e| e.state == AlertState::Delivered),
        "{entries:?}"
    );
    let requests = server.received_requests().await.unwrap();
    let posted = hooks(&requests);
    let ids: Vec<&str> = posted
        .iter()
        .map(|r| r.headers.get("webhook-id").unwrap().to_str().unwrap())
        .collect();
    let distinct: HashSet<&&str> = ids.iter().collect();
    assert_eq!(distinct.len(), entries.len());
    assert_eq!(
        ids.len(),
        entries.len() + 5,
        "five failed attempts, then each alert once"
    );
}

#[tokio::test]
async fn queued_alerts_survive_a_restart() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    let down = Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .named("down")
        .mount_as_scoped(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nmax_age = \"100000d\"\nretries = [\"0s\", \"1h\"]\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let first = kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    assert_eq!(first.alerts.delivered, 0);
    let queued = first.alerts.retrying;
    assert!(queued > 0);
    drop(down);
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // A new process: the queue is in the store.
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let summary = run_due(&store, &cfg.alerts, Utc::now()).await.unwrap();
    assert_eq!(summary.delivered, queued);
    assert_eq!(
        run_due(&store, &cfg.alerts, Utc::now())
            .await
            .unwrap()
            .delivered,
        0,
        "never twice"
    );
}

#[tokio::test]
async fn refusals_go_dead_gone_disables_and_replay_requeues() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/bad"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nname = \"bad\"\nkind = \"webhook\"\nurl = \"{0}/bad\"\nmax_age = \"100000d\"\nretries = [\"0s\", \"0s\", \"0s\"]\n[[alerts]]\nname = \"gone\"\nkind = \"webhook\"\nurl = \"{0}/gone\"\nmax_age = \"100000d\"\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    run_due(&store, &cfg.alerts, Utc::now()).await.unwrap();
    run_due(&store, &cfg.alerts, Utc::now()).await.unwrap();
    let entries = store.alerts().unwrap();
    let bad: Vec<_> = entries.iter().filter(|e| e.channel == "bad").collect();
    assert!(
        bad.iter()
            .all(|e| e.state == AlertState::Dead && e.attempts == 2),
        "one retry then dead: {bad:?}"
    );
    let gone: Vec<_> = entries.iter().filter(|e| e.channel == "gone").collect();
    assert_eq!(
        gone.iter().filter(|e| e.attempts == 1).count(),
        1,
        "the first 410 disables the channel"
    );
    assert!(
        gone.iter()
            .filter(|e| e.attempts == 0)
            .all(|e| e.state == AlertState::Queued)
    );
    let gone_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/gone")
        .count();
    assert_eq!(gone_calls, 1);
    let listing = kizashi::alert::listing(&store, &cfg.alerts).unwrap();
    assert!(listing.contains("DISABLED"), "{listing}");
    assert!(listing.contains("dead:"), "{listing}");
    let n = replay(&store, None, Utc::now()).unwrap();
    assert_eq!(n, bad.len() + 1);
    assert!(
        store
            .alerts()
            .unwrap()
            .iter()
            .all(|e| e.state == AlertState::Queued)
    );
}

#[tokio::test]
async fn commands_get_the_alert_on_stdin_and_are_killed_at_their_timeout() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let alerts = format!(
        "[[alerts]]\nname = \"log\"\nkind = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \"cat >> {0}; echo >> {0}\"]\nmax_age = \"100000d\"\n[[alerts]]\nname = \"hang\"\nkind = \"command\"\ncommand = [\"sleep\", \"30\"]\ntimeout = \"1s\"\nmax_age = \"100000d\"\nretries = [\"1h\"]\n",
        out.display()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let started = std::time::Instant::now();
    let summary = kizashi::daemon::run_once(cfg).await.unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), summary.alerts.delivered);
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "kizashi.item" && l["items"][0]["citation"].is_string())
    );
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let hang: Vec<_> = store
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|e| e.channel == "hang")
        .collect();
    assert!(!hang.is_empty());
    assert!(
        hang.iter().all(|e| e.state == AlertState::Queued
            && e.last_error.as_deref().unwrap_or("").contains("killed")),
        "{hang:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "each hung command was cut at 1 s"
    );
}

#[tokio::test]
async fn a_digest_sends_one_message_for_many_items() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nmax_age = \"100000d\"\ndigest = \"1s\"\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let first = kizashi::daemon::run_once(cfg.clone()).await.unwrap();
    assert_eq!(first.alerts.delivered, 0, "the digest clock starts");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let store = kizashi::store::SledStore::open(dir.path()).unwrap();
    let queued = store.alerts().unwrap().len();
    let summary = run_due(&store, &cfg.alerts, Utc::now()).await.unwrap();
    assert_eq!(summary.delivered, queued);
    let requests = server.received_requests().await.unwrap();
    let posted = hooks(&requests);
    assert_eq!(posted.len(), 1, "one message");
    let body = json(posted[0]);
    assert_eq!(body["type"], "kizashi.digest");
    assert_eq!(body["items"].as_array().unwrap().len(), queued);
}

#[tokio::test]
async fn the_operator_hears_once_of_a_failing_source() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nsections = []\noperator = true\nfailures = 2\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let deps = crate::common::deps(&cfg);
    let down = cfg.source("down").unwrap().clone();
    for _ in 0..4 {
        kizashi::pipeline::poll_once(&down, &deps).await.unwrap();
    }
    run_due(deps.store.as_ref(), &cfg.alerts, Utc::now())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let posted = hooks(&requests);
    assert_eq!(posted.len(), 1, "once per failure streak");
    let body = json(posted[0]);
    assert_eq!(body["type"], "kizashi.operator");
    assert_eq!(body["source"], "down");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("2 polls in a row failed"),
        "{body}"
    );
}

/// A minimal SMTP server: accepts one message and keeps its DATA.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = mails.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                    if verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test]
async fn email_goes_through_an_smtp_relay_with_a_japanese_subject() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    let (port, mails) = smtp_server().await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"email\"\nsmtp = \"smtp://127.0.0.1:{port}\"\nfrom = \"kizashi@example.org\"\nto = [\"duty@example.org\"]\nsections = [\"3.1\"]\nsectors = [\"medical\"]\nmax_age = \"100000d\"\n"
    );
    let summary = kizashi::daemon::run_once(config(&server, dir.path(), &alerts))
        .await
        .unwrap();
    assert_eq!(summary.alerts.delivered, 1, "{summary:?}");
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let subject = mail.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject.contains("=?utf-8?"), "RFC 2047 encoded: {subject}");
    assert!(
        mail.contains("Content-Type: text/plain; charset=utf-8"),
        "{mail}"
    );
    assert!(mail.contains("To: duty@example.org"));
}

#[tokio::test]
async fn one_story_alerts_once_however_many_sites_report_it() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    let other = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Other news</title>
<item><title>Ransomware attack forces Ohio hospital system to divert ambulances</title><link>https://news.example/ohio-divert</link><guid>ohio-divert</guid><pubDate>Thu, 30 Jan 2025 09:00:00 GMT</pubDate><description>A regional hospital system in Ohio diverted ambulances after a ransomware attack.</description></item>
</channel></rss>"#;
    Mock::given(path("/other.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(other))
        .mount(&server)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[sources]]\nid = \"other-news\"\npublisher = \"Other News\"\ncountry = \"US\"\nlang = \"en\"\nurl = \"{0}/other.xml\"\n\
         [[alerts]]\nkind = \"webhook\"\nurl = \"{0}/hook\"\nmax_age = \"100000d\"\nsources = [\"therecord\", \"other-news\"]\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let deps = crate::common::deps(&cfg);
    kizashi::pipeline::poll_once(cfg.source("therecord").unwrap(), &deps)
        .await
        .unwrap();
    kizashi::pipeline::poll_once(cfg.source("other-news").unwrap(), &deps)
        .await
        .unwrap();
    let entries = deps.store.alerts().unwrap();
    let about: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.subject {
            kizashi::model::AlertSubject::Item { item_id } => {
                Some(deps.store.item(item_id).unwrap().title)
            }
            _ => None,
        })
        .filter(|t| t.contains("Ohio hospital"))
        .collect();
    assert_eq!(
        about.len(),
        1,
        "the second site's report of the same attack does not alert again: {about:?}"
    );
}

#[tokio::test]
async fn the_operator_hears_once_of_a_source_gone_silent() {
    let server = MockServer::start().await;
    serve_feeds(&server).await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = format!(
        "[[alerts]]\nkind = \"webhook\"\nurl = \"{}/hook\"\nsections = []\noperator = true\n",
        server.uri()
    );
    let cfg = config(&server, dir.path(), &alerts);
    let deps = crate::common::deps(&cfg);
    let spec = cfg.source("security-next").unwrap().clone();
    kizashi::pipeline::poll_once(&spec, &deps).await.unwrap();
    // Make the history say: something new about daily, the last ten days ago.
    let mut state = deps.store.state("security-next").unwrap().unwrap();
    state.last_new_item = Some(Utc::now() - chrono::Duration::days(10));
    state.typical_gap_secs = Some(24 * 3600);
    state.cadence_samples = 5;
    deps.store.put_state("security-next", &state).unwrap();
    for _ in 0..3 {
        kizashi::pipeline::poll_once(&spec, &deps).await.unwrap();
    }
    run_due(deps.store.as_ref(), &cfg.alerts, Utc::now())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let posted = hooks(&requests);
    assert_eq!(posted.len(), 1, "once per silence");
    let body = json(posted[0]);
    assert_eq!(body["source"], "security-next");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("nothing new for"),
        "{body}"
    );
}
