//! Crash safety: the real daemon polls ~30 local feeds every second and is killed with SIGKILL
//! at random moments; after every kill the store must open and be consistent, and nothing the
//! daemon had stored before may be lost or duplicated.
//!
//! The seed is printed; `KIZASHI_CRASH_SEED=<n>` replays a run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use kizashi::store::{SledStore, Store, item_key};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_kizashi");
const FEEDS: usize = 30;
const ROUNDS: usize = 7;
/// A report read from the API counts as durable once this long has passed before the kill:
/// `/api/sources` answers from memory, and a poll's flush follows its write by milliseconds.
const REPORT_SETTLE: Duration = Duration::from_millis(300);

fn source_id(feed: usize) -> String {
    format!("feed-{feed:02}")
}

/// How many items feed `feed` carries in round `round`: every third feed grows each round.
fn item_count(feed: usize, round: usize) -> usize {
    3 + feed % 5 + if feed % 3 == 0 { 2 * round } else { 0 }
}

/// Every fifth feed edits its titles each round: an update, never a second item.
fn title(feed: usize, k: usize, round: usize) -> String {
    let revision = if feed % 5 == 1 { round } else { 0 };
    // Every fourth item is a critical-infrastructure incident (section 2.1), so it alerts.
    if k % 4 == 0 {
        format!("Ransomware attack disrupts Ohio hospital site{feed}k{k} (revision {revision})")
    } else {
        format!("Feed {feed} item {k} (revision {revision})")
    }
}

fn url(feed: usize, k: usize) -> String {
    format!("https://example.org/f{feed}/{k}")
}

/// Items 7, 17, 27 … have no date: kept, and outside the date index's dated range.
fn dated(k: usize) -> bool {
    k % 10 != 7
}

fn feed_xml(feed: usize, round: usize) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Feed {feed}</title><link>https://example.org/f{feed}/</link>\
         <description>crash test feed</description>\n"
    );
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    for k in 0..item_count(feed, round) {
        let date = if dated(k) {
            let day = first + chrono::Days::new((feed * 7 + k) as u64 % 360);
            let at = Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap());
            format!(
                "<pubDate>{}</pubDate>",
                at.format("%a, %d %b %Y %H:%M:%S +0000")
            )
        } else {
            String::new()
        };
        xml.push_str(&format!(
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">f{feed}-{k}</guid>\
             {date}<description>Summary of item {k} of feed {feed}.</description></item>\n",
            title(feed, k, round),
            url(feed, k)
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

async fn serve_round(server: &MockServer, round: usize) {
    server.reset().await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
    for feed in 0..FEEDS {
        Mock::given(path(format!("/feed/{feed}.xml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(feed_xml(feed, round), "application/rss+xml"),
            )
            .mount(server)
            .await;
    }
}

fn write_config(dir: &Path, base: &str, listen: &str) -> String {
    let mut text = format!(
        "data_dir = {:?}\n[api]\nlisten = {listen:?}\n[defaults]\ninterval = \"1s\"\n\
         [fetch]\ntimeout = \"2s\"\nconnect_timeout = \"2s\"\n",
        dir.join("data").display().to_string()
    );
    for feed in 0..FEEDS {
        text.push_str(&format!(
            "[[sources]]\nid = {:?}\npublisher = \"Publisher {feed}\"\ncountry = \"US\"\n\
             lang = \"en\"\nurl = \"{base}/feed/{feed}.xml\"\n",
            source_id(feed)
        ));
    }
    text.push_str(&format!(
        "[[alerts]]\nname = \"duty\"\nkind = \"webhook\"\nurl = \"{base}/hook\"\nmax_age = \"100000d\"\n\
         retries = [\"1s\", \"1s\", \"1s\"]\n"
    ));
    let file = dir.join("kizashi.toml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

fn start_daemon(config: &str, log: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--config", config])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until the daemon's API answers: its store is open and its sources start polling.
async fn wait_ready(client: &reqwest::Client, listen: &str, daemon: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(status) = daemon.try_wait().unwrap() {
            panic!(
                "the daemon exited before it was ready: {status:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let health = client
            .get(format!("http://{listen}/healthz"))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the daemon did not answer on {listen} within 15 s");
}

/// `items_stored` per source, as the running daemon reports it.
async fn reported(client: &reqwest::Client, listen: &str) -> Option<HashMap<String, u64>> {
    let body = client
        .get(format!("http://{listen}/api/sources?format=json"))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .ok()?
        .bytes()
        .await
        .ok()?;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&body).ok()?;
    Some(
        rows.iter()
            .filter_map(|r| Some((r["id"].as_str()?.to_string(), r["items_stored"].as_u64()?)))
            .collect(),
    )
}

/// What a consistent store looks like; returns its items as (source, url) → title.
fn check_store(store: &SledStore, context: &str) -> BTreeMap<(String, String), String> {
    let items = store.all_items().unwrap();
    let mut by_key = BTreeMap::new();
    let mut identities = HashSet::new();
    for item in &items {
        assert_eq!(
            item.id,
            item_key(&item.source, &item.identity),
            "{context}: an item is stored under its own key"
        );
        assert!(
            identities.insert((item.source.clone(), item.identity.clone())),
            "{context}: ({}, {}) stored twice",
            item.source,
            item.identity
        );
        assert!(
            by_key
                .insert((item.source.clone(), item.url.clone()), item.title.clone())
                .is_none(),
            "{context}: {} stored twice",
            item.url
        );
    }

    // The date index holds every dated item exactly once, and nothing else.
    let indexed = store
        .items_published_between(
            NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2100, 12, 31).unwrap(),
        )
        .unwrap();
    let mut seen = HashSet::new();
    for item in &indexed {
        assert!(
            seen.insert(item.id.clone()),
            "{context}: {} indexed twice",
            item.url
        );
    }
    let dated: HashSet<String> = items
        .iter()
        .filter(|i| i.published.is_some())
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(
        seen, dated,
        "{context}: the date index matches the dated items"
    );

    // Per-source state agrees with the items.
    let mut per_source: HashMap<&str, u64> = HashMap::new();
    for item in &items {
        *per_source.entry(item.source.as_str()).or_default() += 1;
    }
    let states = store.states().unwrap();
    for (id, state) in &states {
        assert_eq!(
            state.items_stored,
            per_source.get(id.as_str()).copied().unwrap_or(0),
            "{context}: {id}'s items_stored counts its stored items"
        );
        assert!(
            state.consecutive_failures == 0 || state.last_error.is_some(),
            "{context}: {id} failing without an error: {state:?}"
        );
        if state.last_poll.is_some() {
            assert!(state.next_poll.is_some(), "{context}: {id} has a next poll");
            assert!(state.last_status.is_some(), "{context}: {id} has a status");
        }
    }
    for source in per_source.keys() {
        assert!(
            states.iter().any(|(id, _)| id == source),
            "{context}: {source} has items but no state"
        );
    }
    by_key
}

/// Queued alerts are neither lost nor duplicated across a crash: every stored incident has
/// exactly one alert (queued in the same batch as the item), every alert refers to a stored
/// item, and an alert recorded as delivered stays delivered (it is never sent again).
fn check_alert_queue(
    store: &SledStore,
    delivered_before: &mut HashSet<String>,
    context: &str,
) -> usize {
    use kizashi::model::{AlertState, AlertSubject, Section};
    let entries = store.alerts().unwrap();
    let items = store.all_items().unwrap();
    let incidents: HashSet<&str> = items
        .iter()
        .filter(|i| i.classification.section == Some(Section::AbroadCritical))
        .map(|i| i.id.as_str())
        .collect();
    let mut alerted: HashMap<&str, usize> = HashMap::new();
    for e in &entries {
        let AlertSubject::Item { item_id } = &e.subject else {
            continue;
        };
        assert!(
            items.iter().any(|i| &i.id == item_id),
            "{context}: alert {} refers to no stored item",
            e.id
        );
        *alerted.entry(item_id.as_str()).or_default() += 1;
    }
    for id in &incidents {
        assert_eq!(
            alerted.get(id).copied().unwrap_or(0),
            1,
            "{context}: incident {id} has exactly one alert"
        );
    }
    assert_eq!(
        alerted.len(),
        incidents.len(),
        "{context}: alerts only for incidents"
    );
    for e in &entries {
        if delivered_before.contains(&e.id) {
            assert_eq!(
                e.state,
                AlertState::Delivered,
                "{context}: {} was delivered before",
                e.id
            );
        }
    }
    delivered_before.extend(
        entries
            .iter()
            .filter(|e| e.state == AlertState::Delivered)
            .map(|e| e.id.clone()),
    );
    incidents.len()
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let seed = std::env::var("KIZASHI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_micros() as u64);
    println!("crash test seed: {seed} (KIZASHI_CRASH_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);

    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let config = write_config(dir.path(), &server.uri(), &listen);
    let data = dir.path().join("data");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut before: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut delivered = HashSet::new();
    let mut kills_with_items = 0;
    for round in 0..ROUNDS {
        serve_round(&server, round).await;
        let log = dir.path().join(format!("round-{round}.log"));
        let mut daemon = start_daemon(&config, &log);
        // One round dies while starting (store open, rules, first archive); the others at a
        // random moment of polling, 200–1500 ms after the API first answers.
        let (origin, kill_after, phase) = if round == 2 {
            let at = Duration::from_millis(rng.random_range(0..=400));
            (Instant::now(), at, "start")
        } else {
            wait_ready(&client, &listen, &mut daemon, &log).await;
            let at = Duration::from_millis(rng.random_range(200..=1500));
            (Instant::now(), at, "ready")
        };
        let context = format!("seed {seed}, round {round}, SIGKILL {kill_after:?} after {phase}");

        // Read what the daemon says it stored, until shortly before the kill.
        let mut last_report = None;
        while origin.elapsed() + REPORT_SETTLE < kill_after {
            if let Some(r) = reported(&client, &listen).await {
                last_report = Some(r);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(left) = kill_after.checked_sub(origin.elapsed()) {
            tokio::time::sleep(left).await;
        }
        daemon.kill().unwrap(); // SIGKILL
        let status = daemon.wait().unwrap();
        assert!(
            !status.success(),
            "{context}: the daemon was killed, not stopped: {status:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );

        let store = SledStore::open(&data)
            .unwrap_or_else(|e| panic!("{context}: the store opens after SIGKILL: {e:?}"));
        let after = check_store(&store, &context);
        for key in before.keys() {
            assert!(
                after.contains_key(key),
                "{context}: {key:?} was stored before this round and is gone"
            );
        }
        if let Some(report) = &last_report {
            let states: HashMap<String, u64> = store
                .states()
                .unwrap()
                .into_iter()
                .map(|(id, s)| (id, s.items_stored))
                .collect();
            for (id, n) in report {
                let now = states.get(id).copied().unwrap_or(0);
                assert!(
                    now >= *n,
                    "{context}: the daemon reported {n} items of {id} stored, {now} survived"
                );
            }
        }
        check_alert_queue(&store, &mut delivered, &context);
        println!(
            "round {round}: SIGKILL {kill_after:?} after {phase}, {} items stored ({} reported by the \
             API before the kill)",
            after.len(),
            last_report.map_or(0, |r| r.values().sum::<u64>())
        );
        if after.len() > before.len() {
            kills_with_items += 1;
        }
        before = after;
        drop(store);
    }
    assert!(
        kills_with_items > 0,
        "seed {seed}: the daemon stored something in at least one round"
    );

    // After all that, one clean poll brings the store to exactly what the feeds hold now:
    // every item once, edited titles updated in place.
    let last = ROUNDS - 1;
    let once = Command::new(BIN)
        .args(["run", "--once", "--config", &config])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        once.status.success(),
        "seed {seed}: run --once after the crashes: {}",
        String::from_utf8_lossy(&once.stderr)
    );
    let store = SledStore::open(&data).unwrap();
    let stored = check_store(&store, &format!("seed {seed}, after the final run --once"));
    let mut expected = BTreeMap::new();
    for feed in 0..FEEDS {
        for k in 0..item_count(feed, last) {
            expected.insert((source_id(feed), url(feed, k)), title(feed, k, last));
        }
    }
    assert_eq!(
        stored, expected,
        "seed {seed}: the store holds each served item once"
    );
    let incidents = check_alert_queue(&store, &mut delivered, &format!("seed {seed}, final"));
    assert!(incidents > 0);
    let pending: Vec<_> = store
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|e| e.state != kizashi::model::AlertState::Delivered)
        .collect();
    assert!(
        pending.is_empty(),
        "seed {seed}: the final run delivers what is due: {pending:?}"
    );
    println!(
        "crash test: {ROUNDS} SIGKILL rounds and a final poll in {:?}",
        started.elapsed()
    );
}
