//! The real binary: `run --once`, `export`, `sources`, errors, and the daemon's lifecycle.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, BIN, Src, config_text, fixture, kizashi, text};

const SOURCES: [Src<'static>; 5] = [
    Src {
        id: "whitehouse",
        path: "/wh.xml",
        publisher: "The White House",
        country: "US",
        lang: "en",
    },
    Src {
        id: "therecord",
        path: "/therecord.xml",
        publisher: "The Record",
        country: "US",
        lang: "en",
    },
    Src {
        id: "security-next",
        path: "/sn.xml",
        publisher: "Security NEXT",
        country: "JP",
        lang: "ja",
    },
    Src {
        id: "soumu",
        path: "/soumu.rdf",
        publisher: "総務省",
        country: "JP",
        lang: "ja",
    },
    Src {
        id: "down",
        path: "/down.xml",
        publisher: "Down",
        country: "US",
        lang: "en",
    },
];

async fn serve_fixtures() -> MockServer {
    let server = MockServer::start().await;
    common::serve_fixtures(
        &server,
        &[
            ("/wh.xml", "feeds/whitehouse.xml"),
            ("/therecord.xml", "feeds/therecord.xml"),
            ("/sn.xml", "feeds/securitynext.xml"),
            ("/soumu.rdf", "feeds/soumu-sjis.rdf"),
        ],
    )
    .await;
    Mock::given(path("/down.xml"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    server
}

fn write_config(dir: &Path, base: &str, listen: &str) -> String {
    let file = dir.join("kizashi.toml");
    std::fs::write(
        &file,
        config_text(base, &dir.join("data"), listen, &SOURCES),
    )
    .unwrap();
    file.display().to_string()
}

#[tokio::test]
async fn run_once_then_export_every_format() {
    let server = serve_fixtures().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server.uri(), "127.0.0.1:0");

    let run = kizashi(&["run", "--once", "--config", &config]).await;
    assert!(
        run.status.success(),
        "run --once exits 0 although one source failed: {}",
        text(&run.stderr)
    );

    let json = kizashi(&[
        "export",
        "--quarter",
        "FY2024Q4",
        "--format",
        "json",
        "--all",
        "--config",
        &config,
    ])
    .await;
    assert!(json.status.success(), "{}", text(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let items = doc["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert!(
        titles.iter().any(|t| t.starts_with("White House Launches")),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"電気通信事業者における通信障害の発生について"),
        "Shift_JIS decoded: {titles:?}"
    );
    assert!(titles.contains(&"市役所サーバに不正アクセス、住民の個人情報が流出 - 約1.2万件"));
    assert!(
        !titles
            .iter()
            .any(|t| t.starts_with("Statement from the National Security Advisor")),
        "2024-12-31 in New York"
    );
    assert!(
        !titles.iter().any(|t| t.starts_with("委託先でランサム被害")),
        "2025-04-01 in Tokyo"
    );
    let hospital = items
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Ohio hospital"))
        .unwrap();
    assert_eq!(
        hospital["citation"].as_str().unwrap().split('「').next(),
        Some("The Record")
    );
    assert!(hospital["citation"].as_str().unwrap().contains("(2025/1/29)」、https://therecord.media/ohio-hospital-system-ransomware-ambulance-diversion("));

    // The first cut of the rules places these where the report's editors would.
    let section_of = |start: &str| {
        items
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with(start))
            .map(|i| i["section"].clone())
            .unwrap()
    };
    assert_eq!(section_of("Ohio hospital"), "2.1");
    assert_eq!(section_of("White House Launches"), "1");
    assert_eq!(section_of("病院でランサムウェア被害"), "3.1");
    assert_eq!(
        section_of("Ransomware attack halts container terminal"),
        "3.1"
    );
    assert!(
        section_of("電気通信事業者における通信障害")
            .as_str()
            .is_some_and(|s| s.starts_with('3'))
    );

    let to_file = dir.path().join("q.md");
    let md = kizashi(&[
        "export",
        "--quarter",
        "FY2024Q4",
        "--out",
        to_file.to_str().unwrap(),
        "--config",
        &config,
    ])
    .await;
    assert!(md.status.success(), "{}", text(&md.stderr));
    let md = std::fs::read_to_string(&to_file).unwrap();
    assert!(md.starts_with("# サイバーセキュリティを取り巻く情勢（2024年度第4四半期）"));
    assert!(md.contains("## 3. 国内におけるサイバーセキュリティをめぐる情勢"));

    let csv = kizashi(&[
        "export",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-31",
        "--format",
        "csv",
        "--config",
        &config,
    ])
    .await;
    assert!(csv.status.success());
    assert!(csv.stdout.starts_with("\u{feff}id,".as_bytes()));

    let sources = kizashi(&["sources", "--config", &config]).await;
    let listing = text(&sources.stdout);
    assert!(sources.status.success());
    let down = listing.lines().find(|l| l.starts_with("down ")).unwrap();
    assert!(down.contains("503"), "{listing}");
    let wh = listing
        .lines()
        .find(|l| l.starts_with("whitehouse "))
        .unwrap();
    assert!(wh.contains(" 200 ") && wh.contains(" 5 "), "{listing}");
}

#[tokio::test]
async fn bad_arguments_give_one_line_and_exit_2() {
    for args in [
        vec!["export", "--quarter", "FY2024Q9"],
        vec!["export", "--quarter", "FY2024Q4", "--format", "pdf"],
        vec!["export"],
        vec!["frobnicate"],
        vec!["export", "--from", "2025-13-01", "--to", "2025-03-31"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut full = args.clone();
        let data = dir.path().display().to_string();
        full.extend(["--data-dir", &data]);
        let out = kizashi(&full).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn configuration_errors_name_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[defaults]\ninterval = \"often\"\ncolour = 1\n[[sources]]\nid = \"x\"\n",
    )
    .unwrap();
    let out = kizashi(&["run", "--once", "--config", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let name = file.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{name}: defaults.interval: invalid duration \"often\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}: defaults.colour: unknown key")),
        "{stderr}"
    );
    assert!(
        stderr.contains("sources[0] (id \"x\").publisher: missing"),
        "{stderr}"
    );
}

fn without_generated_at(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

#[tokio::test]
async fn export_while_the_daemon_runs_matches_export_after_it_stops() {
    let server = serve_fixtures().await;
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", common::free_port());
    let config = write_config(dir.path(), &server.uri(), &listen);
    let mut daemon = Command::new(BIN)
        .args(["run", "--config", &config])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until every reachable source has been stored.
    let client = reqwest::Client::new();
    common::wait_for_sources(
        &client,
        &format!("http://{listen}"),
        None,
        Duration::from_secs(10),
        "the daemon polled its sources",
        |rows| {
            rows.iter()
                .filter(|r| r["last_status"].as_str() == Some("200"))
                .count()
                == 4
        },
    )
    .await;
    let args = [
        "export",
        "--quarter",
        "FY2024Q4",
        "--format",
        "json",
        "--all",
        "--config",
        &config,
    ];
    let during = kizashi(&args).await;
    assert!(
        during.status.success(),
        "export through the API: {}",
        text(&during.stderr)
    );
    let sources_during = kizashi(&["sources", "--config", &config]).await;
    assert!(sources_during.status.success());

    // A host name that is not ours is refused (DNS rebinding).
    let rebound = client
        .get(format!("http://{listen}/api/sources"))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 421);

    let pid = daemon.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(25), daemon.wait())
        .await
        .expect("stops in time")
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");

    let after = kizashi(&args).await;
    assert!(after.status.success(), "{}", text(&after.stderr));
    assert_eq!(
        without_generated_at(&during.stdout),
        without_generated_at(&after.stdout)
    );
    assert!(
        !without_generated_at(&after.stdout)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn builtin_configuration_and_rules_check() {
    let out = kizashi(&["config", "check"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("soumu"));
    let rules = kizashi(&["rules", "check"]).await;
    assert!(rules.status.success(), "{}", text(&rules.stderr));
    let bad_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        bad_dir.path().join("x.toml"),
        "vocabulary = \"sector\"\n[[rules]]\nid = \"a\"\ntag = \"moon\"\nkeywords = [\"x\"]\n",
    )
    .unwrap();
    let bad = kizashi(&["rules", "check", bad_dir.path().to_str().unwrap()]).await;
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("x.toml: rule \"a\": tag \"moon\""),
        "{}",
        text(&bad.stderr)
    );
}

// `rules train` writes a model that `rules check` and `classify` then use from a rules directory;
// a labelled line it cannot use names the file and line, and nothing is written.
#[tokio::test]
async fn rules_train_writes_a_model_a_rules_directory_uses() {
    let dir = tempfile::tempdir().unwrap();
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir(&rules_dir).unwrap();
    std::fs::write(
        rules_dir.join("cyber.toml"),
        "vocabulary = \"cyber\"\n[[rules]]\nid = \"c\"\ntag = \"cyber\"\nkeywords = [\"cyber\"]\n",
    )
    .unwrap();
    let mut set = String::new();
    for _ in 0..10 {
        set.push_str(
            "{\"title\": \"Outage halts trains\", \"summary\": \"\", \"section\": \"2.2\"}\n",
        );
        set.push_str("{\"title\": \"Weekly bulletin\", \"summary\": \"\", \"section\": null}\n");
    }
    let set_path = dir.path().join("set.jsonl");
    std::fs::write(&set_path, &set).unwrap();
    let model = rules_dir.join("kind-model.tsv");
    let out = kizashi(&[
        "rules",
        "train",
        "--set",
        set_path.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("from 20 labelled items"),
        "{}",
        text(&out.stdout)
    );
    let check = kizashi(&["rules", "check", rules_dir.to_str().unwrap()]).await;
    assert!(check.status.success(), "{}", text(&check.stderr));

    // The rules find no cyber word in it; the trained words make it an incident.
    let config = dir.path().join("kizashi.toml");
    std::fs::write(
        &config,
        format!("rules_dir = {:?}\n", rules_dir.to_str().unwrap()),
    )
    .unwrap();
    let item = dir.path().join("item.json");
    std::fs::write(
        &item,
        "{\"title\": \"Outage halts trains\", \"summary\": \"\"}",
    )
    .unwrap();
    let classified = kizashi(&[
        "--config",
        config.to_str().unwrap(),
        "classify",
        item.to_str().unwrap(),
    ])
    .await;
    let shown = text(&classified.stdout);
    assert!(classified.status.success(), "{}", text(&classified.stderr));
    assert!(shown.contains("kind-model.tsv:words"), "{shown}");

    let bad_set = dir.path().join("bad.jsonl");
    std::fs::write(&bad_set, "{\"title\": \"x\", \"section\": \"9\"}\n").unwrap();
    let before = std::fs::read(&model).unwrap();
    let bad = kizashi(&[
        "rules",
        "train",
        "--set",
        bad_set.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ])
    .await;
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("bad.jsonl:1: section"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

// A JSON item's publisher is read: an operator's notice that speaks of itself takes the sector
// of its publisher's name, and the reasons say so.
#[tokio::test]
async fn classify_reads_a_json_items_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let item = dir.path().join("item.json");
    std::fs::write(
        &item,
        r#"{"title": "不正アクセスによる個人情報流出のお詫び", "summary": "当院のサーバーが不正アクセスを受けました。", "publisher": "益城病院"}"#,
    )
    .unwrap();
    let out = kizashi(&["classify", item.to_str().unwrap()]).await;
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(shown.starts_with("[3.1]"), "{shown}");
    assert!(
        shown.contains("publisher:sector.toml:medical-ja"),
        "{shown}"
    );
}

#[tokio::test]
async fn sources_test_shows_what_a_listing_would_give() {
    let server = MockServer::start().await;
    Mock::given(path("/list.html"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", "text/html")
                .set_body_bytes(fixture("html/undatable.html")),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    let toml = format!(
        "data_dir = {:?}\n[[sources]]\nid = \"isac\"\npublisher = \"ISAC\"\ncountry = \"JP\"\nlang = \"ja\"\nurl = \"{}/list.html\"\nkind = \"html\"\n[sources.html]\nitem = \"ul.event-list li\"\ndate = \"span.date\"\n",
        dir.path().join("data").display().to_string(),
        server.uri()
    );
    std::fs::write(&file, toml).unwrap();
    let out = kizashi(&[
        "sources",
        "--test",
        "isac",
        "--config",
        file.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("HTTP 200") && shown.contains("2 items"),
        "{shown}"
    );
    assert!(
        shown.contains("problem: item"),
        "unreadable dates are shown: {shown}"
    );
    assert!(!dir.path().join("data").exists(), "nothing stored");
    let missing = kizashi(&[
        "sources",
        "--test",
        "nope",
        "--config",
        file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(missing.status.code(), Some(2));
}
