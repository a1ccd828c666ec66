//! Backups, restore, and store faults through the real binary: a damaged store says how to
//! restore it, a held store says who holds it, an unwritable or full data directory is a clear
//! error and a non-zero exit, never a corrupt store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kizashi::store::backup::{SILENT_BASELINE_KEY, archives, backups_dir};
use kizashi::store::{SledStore, Store};
use tokio::process::Command;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, BIN, Src, config_text, fixture, kizashi, src, text};

const SOURCES: [Src<'static>; 2] = [
    src("whitehouse", "/wh.xml", "The White House", "US", "en"),
    src("therecord", "/therecord.xml", "The Record", "US", "en"),
];

async fn serve() -> MockServer {
    let server = MockServer::start().await;
    for (p, f) in [
        ("/wh.xml", "feeds/whitehouse.xml"),
        ("/therecord.xml", "feeds/therecord.xml"),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(fixture(f)))
            .mount(&server)
            .await;
    }
    server
}

fn write_config(dir: &Path, base: &str, data: &Path, listen: &str) -> String {
    let file = dir.join("kizashi.toml");
    std::fs::write(&file, config_text(base, data, listen, &SOURCES)).unwrap();
    file.display().to_string()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn export_json(stdout: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

#[tokio::test]
async fn a_damaged_store_says_how_to_restore_and_restore_rebuilds_it() {
    let server = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), &server.uri(), &data, "127.0.0.1:0");
    let run = kizashi(&["run", "--once", "--config", &config]).await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    let export_args = [
        "export",
        "--quarter",
        "FY2024Q4",
        "--format",
        "json",
        "--all",
        "--config",
        &config,
    ];
    let good = kizashi(&export_args).await;
    assert!(good.status.success(), "{}", text(&good.stderr));

    let backup = kizashi(&["backup", "--config", &config]).await;
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let archive = PathBuf::from(text(&backup.stdout).trim());
    assert_eq!(archive.parent(), Some(backups_dir(&data).as_path()));
    assert_eq!(archives(&backups_dir(&data)), vec![archive.clone()]);
    let lines = std::fs::read_to_string(&archive).unwrap();
    assert!(lines.starts_with("{\"type\":\"kizashi-archive\",\"version\":2,"));
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.contains("\"type\":\"item\""))
            .count(),
        11
    );

    // Damage sled's log where its first pages live.
    let db = data.join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..4096].fill(0xff);
    std::fs::write(&db, bytes).unwrap();

    let broken = kizashi(&export_args).await;
    assert!(!broken.status.success());
    let stderr = text(&broken.stderr);
    assert!(
        stderr.contains(&format!(
            "the store in {} could not be opened",
            data.display()
        )) && stderr.contains(&format!("kizashi restore --force {}", archive.display()))
            && stderr.contains(&format!("archives are in {}", backups_dir(&data).display())),
        "{stderr}"
    );
    let run = kizashi(&["run", "--once", "--config", &config]).await;
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("kizashi restore --force"),
        "{}",
        text(&run.stderr)
    );

    // Without --force the damaged store is left as it is.
    let archive_arg = archive.display().to_string();
    let refused = kizashi(&["restore", &archive_arg, "--config", &config]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--force"),
        "{}",
        text(&refused.stderr)
    );

    let restored = kizashi(&["restore", "--force", &archive_arg, "--config", &config]).await;
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let out = text(&restored.stdout);
    assert!(
        out.starts_with("restored 11 items and 2 sources from"),
        "{out}"
    );
    assert!(out.contains("the previous store is in"), "{out}");
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("data.before-restore-")
        })
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the damaged store was moved aside, not deleted"
    );
    assert_eq!(
        archives(&backups_dir(&data)),
        vec![archive.clone()],
        "archives carried over"
    );

    let again = kizashi(&export_args).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(export_json(&good.stdout), export_json(&again.stdout));
    {
        let store = SledStore::open(&data).unwrap();
        assert_eq!(
            store.meta(SILENT_BASELINE_KEY).unwrap().as_deref(),
            Some("1")
        );
        assert_eq!(store.state("whitehouse").unwrap().unwrap().items_stored, 5);
    }

    // A restore over a healthy store that holds items is refused without --force.
    let refused = kizashi(&["restore", &archive_arg, "--config", &config]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("already holds 11 items"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test]
async fn a_store_held_by_the_daemon_is_named_and_the_daemon_archives_at_start() {
    let server = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{}", common::free_port());
    let config = write_config(dir.path(), &server.uri(), &data, &listen);
    let mut daemon = Command::new(BIN)
        .args(["run", "--config", &config])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut archived = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !archives(&backups_dir(&data)).is_empty() {
            archived = true;
            break;
        }
    }
    assert!(
        archived,
        "the daemon writes an archive at start when there is none"
    );

    let once = kizashi(&["run", "--once", "--config", &config]).await;
    assert!(!once.status.success());
    let stderr = text(&once.stderr);
    assert!(
        stderr.contains(&format!(
            "the store in {} is held by another process",
            data.display()
        )),
        "{stderr}"
    );

    let backup = kizashi(&["backup", "--config", &config]).await;
    assert!(!backup.status.success());
    let stderr = text(&backup.stderr);
    assert!(
        stderr.contains("held by another process") && stderr.contains("archive a day"),
        "{stderr}"
    );

    let archive = archives(&backups_dir(&data))[0].display().to_string();
    let restore = kizashi(&["restore", "--force", &archive, "--config", &config]).await;
    assert!(!restore.status.success());
    let stderr = text(&restore.stderr);
    assert!(stderr.contains("held by another process"), "{stderr}");
    assert!(
        !std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("before-restore")),
        "a live store is never moved aside"
    );

    let pid = daemon.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(25), daemon.wait())
        .await
        .expect("stops in time")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn an_unwritable_data_directory_is_a_clear_error() {
    let server = serve().await;
    let dir = tempfile::tempdir().unwrap();
    // A data directory below a regular file cannot be created, even by root.
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut cases = vec![(file.join("data"), "Not a directory")];
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        cases.push((locked.join("data"), "Permission denied"));
    } else {
        println!("running as root: the read-only directory case is covered by the file case");
    }
    for (data, reason) in cases {
        let config = write_config(dir.path(), &server.uri(), &data, "127.0.0.1:0");
        for args in [
            vec!["run", "--once", "--config", &config],
            vec!["backup", "--config", &config],
            vec!["sources", "--config", &config],
        ] {
            let out = kizashi(&args).await;
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("cannot open the store in {}", data.display()))
                    && stderr.contains(reason),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        assert!(!data.exists());
    }
}

/// A tmpfs of a few hundred KiB, when this test may mount one (root, and a kernel that lets
/// it); `None` otherwise.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        if !is_root() {
            return None;
        }
        std::fs::create_dir_all(at).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_never_a_corrupt_store() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    let Some(disk) = SmallDisk::mount(&mount, "1m") else {
        println!("SKIPPED: cannot mount a small tmpfs (needs root and mount rights)");
        return;
    };
    // A feed whose items do not fit: ~3 MiB of summaries.
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>big</title>\
         <link>https://example.org/</link><description>d</description>",
    );
    for k in 0..300 {
        xml.push_str(&format!(
            "<item><title>Item {k}</title><link>https://example.org/{k}</link>\
             <guid>big-{k}</guid><pubDate>Mon, 06 Jan 2025 10:00:00 +0000</pubDate>\
             <description>{}</description></item>",
            format!("word{k} ").repeat(1200)
        ));
    }
    xml.push_str("</channel></rss>");
    let server = serve().await;
    Mock::given(path("/big.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(xml, "application/rss+xml"))
        .mount(&server)
        .await;
    let data = disk.0.join("data");
    let mut text_config = config_text(&server.uri(), &data, "127.0.0.1:0", &SOURCES);
    text_config.push_str(&format!(
        "[[sources]]\nid = \"big\"\npublisher = \"Big\"\ncountry = \"US\"\nlang = \"en\"\n\
         url = \"{}/big.xml\"\n",
        server.uri()
    ));
    let config = dir.path().join("kizashi.toml");
    std::fs::write(&config, text_config).unwrap();
    let config = config.display().to_string();

    let out = kizashi(&["run", "--once", "--config", &config]).await;
    let stderr = text(&out.stderr);
    println!("run --once on a full disk: {:?}\n{stderr}", out.status);
    assert!(!out.status.success(), "a full disk is a failure: {stderr}");
    assert!(
        stderr.to_lowercase().contains("no space left on device"),
        "the error names the cause: {stderr}"
    );

    // What is on the disk opens, consistent, once it is copied where there is room.
    let copy = dir.path().join("copy");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&data)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    drop(disk);
    let store = SledStore::open(&copy).unwrap_or_else(|e| panic!("opens after ENOSPC: {e:?}"));
    let items = store.all_items().unwrap();
    let states = store.states().unwrap();
    println!(
        "after ENOSPC the store holds {} items of {:?}",
        items.len(),
        states.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    for (id, state) in states {
        let n = items.iter().filter(|i| i.source == id).count() as u64;
        assert_eq!(state.items_stored, n, "{id}");
    }
}
