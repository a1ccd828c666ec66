//! The commands behind the command line. The edge of the program: `anyhow` with context here,
//! typed errors below.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{NaiveDate, Utc};

use crate::classify::{Classifier, kind_training};
use crate::cli::{
    AlertsCommand, Cli, Command, ConfigCommand, ExportArgs, ReviewCommand, RulesCommand,
};
use crate::config::Config;
use crate::daemon;
use crate::export::{self, Format, sources};
use crate::model::{DateRange, Quarter, SourceKind, SourceSpec, jst};
use crate::parse::{self, ParseContext};
use crate::pipeline;
use crate::store::{self, SledStore, Store};

/// A usage problem found after clap: exit 2 with one line, like clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Loads the configuration named on the command line, or the built-in one.
pub fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::builtin()?,
    };
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

/// Runs a parsed command line.
pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => rules_check(dir.as_deref()),
        Command::Rules {
            command: RulesCommand::Train { set, out },
        } => rules_train(set, out),
        Command::Classify {
            file,
            source,
            country,
        } => {
            // A named configuration brings its `rules_dir` (someone writing rules is checking
            // theirs); without one, the built-in rules need no configuration at all.
            let config = if source.is_some() || cli.config.is_some() {
                Some(load_config(&cli)?)
            } else {
                None
            };
            classify_file(config.as_ref(), file.as_deref(), source.as_deref(), country)
        }
        _ => {
            let config = load_config(&cli)?;
            for w in &config.warnings {
                tracing::warn!("{w}");
            }
            match &cli.command {
                Command::Run { once: true } => run_once(config).await,
                Command::Run { once: false } => run(config).await,
                Command::Export(args) => export_cmd(&config, args).await,
                Command::Sources { test: Some(id), .. } => test_source(&config, id).await,
                Command::Sources { json, test: None } => sources_cmd(&config, *json).await,
                Command::Reclassify => reclassify_cmd(&config),
                Command::Alerts { command } => alerts_cmd(&config, command.as_ref()).await,
                Command::Review { command } => review_cmd(&config, command).await,
                Command::Backup => backup_cmd(&config),
                Command::Restore { file, force } => restore_cmd(&config, file, *force),
                Command::Config {
                    command: ConfigCommand::Check,
                } => config_check(&config),
                Command::Rules { .. } | Command::Classify { .. } => unreachable!("handled above"),
            }
        }
    }
}

async fn run_once(config: Config) -> Result<ExitCode> {
    let data_dir = config.data_dir.clone();
    let summary = daemon::run_once(Arc::new(config))
        .await
        .map_err(|e| daemon_failed(&data_dir, e))
        .context("run --once failed")?;
    for o in &summary.outcomes {
        match &o.error {
            Some(e) => {
                tracing::warn!(source = %o.source, status = %o.status, error = %e, "source failed")
            }
            None => tracing::info!(
                source = %o.source,
                status = %o.status,
                new = o.written.new,
                updated = o.written.updated,
                unchanged = o.written.unchanged,
                "source polled"
            ),
        }
    }
    tracing::info!(
        sources = summary.outcomes.len(),
        failed = summary.failed(),
        new_items = summary.new_items(),
        "poll round done"
    );
    Ok(ExitCode::SUCCESS)
}

async fn run(config: Config) -> Result<ExitCode> {
    let config = Arc::new(config);
    let listener = daemon::bind(&config).await?;
    let data_dir = config.data_dir.clone();
    daemon::run(config, listener, shutdown_signal())
        .await
        .map_err(|e| daemon_failed(&data_dir, e))
        .context("the daemon stopped on an error")?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn export_range(args: &ExportArgs) -> Result<DateRange> {
    if let Some(q) = &args.quarter {
        let q: Quarter = q.parse().map_err(UsageError)?;
        return Ok(DateRange::quarter(q));
    }
    let day = |s: &Option<String>, flag: &str| -> Result<NaiveDate> {
        let s = s
            .as_deref()
            .ok_or_else(|| UsageError(format!("--{flag} is required")))?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            UsageError(format!("--{flag} {s:?}: expected a date like 2025-01-31")).into()
        })
    };
    let (from, to) = (day(&args.from, "from")?, day(&args.to, "to")?);
    if from > to {
        bail!(UsageError(format!("--from {from} is after --to {to}")));
    }
    Ok(DateRange::between(from, to))
}

/// Opens the store, or says that the daemon holds it.
fn open_store(config: &Config) -> Result<Option<SledStore>> {
    match SledStore::open(&config.data_dir) {
        Ok(s) => Ok(Some(s)),
        Err(store::Error::Locked { .. }) => Ok(None),
        Err(e) => Err(store_open_failed(&config.data_dir, e)),
    }
}

async fn export_cmd(config: &Config, args: &ExportArgs) -> Result<ExitCode> {
    let range = export_range(args)?;
    let format: Format = args.format.parse().map_err(UsageError)?;
    match open_store(config)? {
        Some(store) => {
            let items = store.items_published_between(range.from, range.to)?;
            let request = export::Request {
                range,
                format,
                all: args.all,
                generated_at: Utc::now().with_timezone(&jst()),
            };
            // Written as it is made: a quarter's JSON is tens of megabytes.
            write_output_with(args.out.as_deref(), |out| {
                export::render_to(items, &request, out)
            })?;
        }
        None => {
            let mut query = match range.quarter {
                Some(q) if args.quarter.is_some() => format!("quarter={q}"),
                _ => format!("from={}&to={}", range.from, range.to),
            };
            query.push_str(&format!("&format={}", args.format));
            if args.all {
                query.push_str("&all=true");
            }
            let bytes = from_daemon(config, &format!("/api/export?{query}")).await?;
            write_output(args.out.as_deref(), &bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn sources_cmd(config: &Config, json: bool) -> Result<ExitCode> {
    let bytes = match open_store(config)? {
        Some(store) => {
            let rows = sources::rows(&config.sources, &store.states()?);
            if json {
                let mut v = serde_json::to_vec_pretty(&rows)?;
                v.push(b'\n');
                v
            } else {
                sources::render_text(&rows).into_bytes()
            }
        }
        None => {
            from_daemon(
                config,
                if json {
                    "/api/sources?format=json"
                } else {
                    "/api/sources"
                },
            )
            .await?
        }
    };
    write_output(None, &bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// Asks the running daemon's API: it holds the store.
async fn from_daemon(config: &Config, path: &str) -> Result<Vec<u8>> {
    daemon_send(config, reqwest::Method::GET, path, None).await
}

async fn post_to_daemon(config: &Config, path: &str) -> Result<Vec<u8>> {
    daemon_send(config, reqwest::Method::POST, path, None).await
}

/// Asks the running daemon's API: it holds the store.
async fn daemon_send(
    config: &Config,
    method: reqwest::Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Vec<u8>> {
    let mut addr = config.api.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}{path}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?;
    // The custom header marks a request no web page could have sent without asking first.
    let mut request = client
        .request(method, &url)
        .header(crate::api::CLIENT_HEADER, "1");
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    if let Some(token) = &config.api.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| {
        format!(
            "the store in {} is held by another process, and its API at {url} does not answer",
            config.data_dir.display()
        )
    })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .context("reading the daemon's answer")?;
    if !status.is_success() {
        bail!(
            "the daemon answered {status}: {}",
            String::from_utf8_lossy(&bytes).trim()
        );
    }
    Ok(bytes.to_vec())
}

fn write_output(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    write_output_with(out, |w| w.write_all(bytes))
}

/// Runs `write` on the output file (created or truncated) or on stdout, buffered. A reader of
/// stdout that goes away (`| head`) is not an error.
fn write_output_with(
    out: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut file = std::io::BufWriter::with_capacity(1 << 16, file);
            write(&mut file)
                .and_then(|_| file.flush())
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            match write(&mut stdout).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to stdout"),
            }
        }
    }
}

/// Fetches one source and prints what a poll would store, without storing it: for getting a
/// listing's selectors right before the daemon runs with them.
async fn test_source(config: &Config, id: &str) -> Result<ExitCode> {
    let spec = config
        .source(id)
        .ok_or_else(|| UsageError(format!("no source with id {id:?} in {}", config.origin)))?;
    let fetcher = crate::fetch::Fetcher::new(&config.fetch)?;
    let classifier = Classifier::load(config.rules_dir.as_deref())?;
    let url = crate::sources::url_for(&spec.url, Utc::now());
    let body = match fetcher
        .fetch(
            &url,
            &crate::fetch::Validators::default(),
            spec.allow_private,
        )
        .await
    {
        Ok(crate::fetch::Fetched::Body(body)) => body,
        Ok(crate::fetch::Fetched::NotModified) => {
            bail!("{}: 304 Not Modified to an unconditional request", spec.url)
        }
        Err(e) => bail!("{}: {e}", spec.url),
    };
    let now = Utc::now();
    let ctx = ParseContext {
        base_url: &body.final_url,
        timezone: spec.timezone,
        http_charset: body.charset.as_deref(),
        lang: &spec.lang,
    };
    let parsed = pipeline::parse_document(spec, &body.bytes, &ctx, now)
        .map_err(|e| anyhow!("{}: {e}", spec.url))?;
    let mut out = format!(
        "{}: HTTP {}, {} bytes, read as {}, {} items\n",
        body.final_url,
        body.status,
        body.bytes.len(),
        parsed.encoding,
        parsed.items.len()
    );
    for problem in &parsed.problems {
        out.push_str(&format!("  problem: {problem}\n"));
    }
    for skipped in &parsed.skipped {
        out.push_str(&format!("  skipped: {skipped}\n"));
    }
    let items = parsed
        .items
        .into_iter()
        .map(|raw| pipeline::to_item(spec, raw, &classifier, now))
        .collect::<Vec<_>>();
    out.push_str(&describe_items(&items));
    write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

async fn review_cmd(config: &Config, command: &ReviewCommand) -> Result<ExitCode> {
    let now = Utc::now();
    let store = open_store(config)?;
    let text = match command {
        ReviewCommand::Import { file } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            match &store {
                Some(store) => crate::review::import_csv(store, &bytes, now)
                    .map_err(|e| UsageError(format!("{}: {e}", file.display())))?
                    .to_string()
                    .into_bytes(),
                None => {
                    let body = Some(("text/csv", bytes));
                    daemon_send(config, reqwest::Method::POST, "/api/review/import", body).await?
                }
            }
        }
        ReviewCommand::Set {
            id,
            decision,
            section,
            country,
            note,
        } => {
            let change = crate::review::Change {
                verdict: decision.clone(),
                section: section.clone(),
                country: country.clone(),
                note: note.clone(),
            };
            match &store {
                Some(store) => {
                    let item = crate::review::apply(store, id, &change, now)
                        .map_err(|e| UsageError(format!("{id}: {e}")))?;
                    let verdict = crate::review::verdict_label(item.decision.as_ref());
                    let section = item.section().map(|s| s.code()).unwrap_or("-");
                    format!("{} {verdict}: {section}\n", item.id).into_bytes()
                }
                None => {
                    let body = Some(("application/json", serde_json::to_vec(&change)?));
                    let path = format!("/api/items/{id}/decision");
                    daemon_send(config, reqwest::Method::POST, &path, body).await?
                }
            }
        }
    };
    write_output(None, &text)?;
    Ok(ExitCode::SUCCESS)
}

async fn alerts_cmd(config: &Config, command: Option<&AlertsCommand>) -> Result<ExitCode> {
    let text = match (open_store(config)?, command) {
        (Some(store), None) => crate::alert::listing(&store, &config.alerts)?.into_bytes(),
        (Some(store), Some(AlertsCommand::Replay { id })) => {
            let n = crate::alert::deliver::replay(&store, id.as_deref(), Utc::now())?;
            format!("{n} alerts queued again\n").into_bytes()
        }
        (None, None) => from_daemon(config, "/api/alerts").await?,
        (None, Some(AlertsCommand::Replay { id })) => {
            let path = match id {
                Some(id) => format!("/api/alerts/replay?id={id}"),
                None => "/api/alerts/replay".to_string(),
            };
            post_to_daemon(config, &path).await?
        }
    };
    write_output(None, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn reclassify_cmd(config: &Config) -> Result<ExitCode> {
    let store = SledStore::open(&config.data_dir)
        .map_err(|e| store_open_failed(&config.data_dir, e))
        .context("cannot open the store (stop the daemon first: it re-tags on start)")?;
    let classifier = Classifier::load(config.rules_dir.as_deref())?;
    let n = daemon::reclassify(config, &store, &classifier)?;
    store.set_meta("rules_hash", classifier.hash())?;
    store.flush()?;
    println!("{n} items re-tagged");
    Ok(ExitCode::SUCCESS)
}

fn config_check(config: &Config) -> Result<ExitCode> {
    println!(
        "{}: valid, {} sources, {} alert channels",
        config.origin,
        config.sources.len(),
        config.alerts.len()
    );
    for s in &config.sources {
        println!(
            "  {:<24} {:<5} {:<2} {:<3} every {:<8} {}",
            s.id,
            format!("{:?}", s.kind).to_lowercase(),
            s.country,
            s.lang,
            humantime::format_duration(s.interval).to_string(),
            s.url
        );
    }
    for w in &config.warnings {
        println!("  warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

fn rules_check(dir: Option<&Path>) -> Result<ExitCode> {
    let classifier = Classifier::load(dir)?;
    let (files, rules, keywords, patterns) = classifier.stats();
    let name = dir
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "built-in rules".into());
    println!(
        "{name}: valid, {files} files, {rules} rules, {keywords} keywords, {patterns} patterns"
    );
    Ok(ExitCode::SUCCESS)
}

fn rules_train(set: &Path, out: &Path) -> Result<ExitCode> {
    let text = std::fs::read_to_string(set)
        .with_context(|| format!("cannot read the labelled set {}", set.display()))?;
    let examples = kind_training::read_examples(&set.display().to_string(), &text)?;
    let model = kind_training::train(
        &examples,
        kind_training::REGULARISATION,
        kind_training::describe_set(&text, examples.len()),
    );
    // Written aside and renamed, so that an interrupted run leaves the old model whole.
    let aside = out.with_extension("tsv.part");
    std::fs::write(&aside, model.to_text())
        .and_then(|()| std::fs::rename(&aside, out))
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} features from {} labelled items",
        out.display(),
        model.features(),
        examples.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn classify_file(
    config: Option<&Config>,
    file: Option<&Path>,
    source: Option<&str>,
    country: &str,
) -> Result<ExitCode> {
    let mut bytes = Vec::new();
    match file {
        Some(p) => {
            bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
        }
    }
    let spec = match (config, source) {
        (Some(c), Some(id)) => c
            .source(id)
            .cloned()
            .ok_or_else(|| UsageError(format!("no source with id {id:?} in {}", c.origin)))?,
        _ => adhoc_spec(country)?,
    };
    let classifier = Classifier::load(config.and_then(|c| c.rules_dir.as_deref()))?;
    let now = Utc::now();
    let items = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if v.get("title").is_some() && v.get("items").is_none() => {
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            vec![crate::model::RawItem {
                identity: "stdin".into(),
                title: text("title"),
                url: text("url"),
                published: None,
                summary: text("summary"),
                publisher: Some(text("publisher")).filter(|p| !p.is_empty()),
                links: Vec::new(),
            }]
        }
        _ => {
            let ctx = ParseContext {
                base_url: &spec.url,
                timezone: spec.timezone,
                http_charset: None,
                lang: &spec.lang,
            };
            parse::feed::parse_feed(&bytes, &ctx, now)
                .map_err(|e| anyhow!(e))?
                .items
        }
    };
    let items: Vec<_> = items
        .into_iter()
        .map(|raw| pipeline::to_item(&spec, raw, &classifier, now))
        .collect();
    let out = describe_items(&items);
    write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Items with their section, tags and the reasons behind them, for people writing rules and
/// selectors.
fn describe_items(items: &[crate::model::Item]) -> String {
    let mut out = String::new();
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    for item in items {
        let c = &item.classification;
        let section = c
            .section
            .map(|s| s.code().to_string())
            .unwrap_or_else(|| "-".into());
        let date = item
            .published
            .map(|p| p.format("%Y-%m-%d %:z").to_string())
            .unwrap_or_else(|| "no date".into());
        out.push_str(&format!(
            "[{section}] {}\n  {date}  {}  ({})\n",
            item.title, item.url, item.publisher
        ));
        out.push_str(&format!(
            "  sectors: {}  attack: {}  events: {}\n",
            list(c.sectors.iter().map(|s| s.to_string()).collect()),
            list(c.attack_types.iter().map(|s| s.to_string()).collect()),
            list(c.event_types.iter().map(|s| s.to_string()).collect()),
        ));
        for r in c.reasons.iter() {
            let matched: Vec<&str> = r.matched().collect();
            out.push_str(&format!("    {:<22} {} {matched:?}\n", r.tag, r.rule));
        }
    }
    out
}

fn adhoc_spec(country: &str) -> Result<SourceSpec> {
    let country = country.to_ascii_uppercase();
    Ok(SourceSpec {
        id: "file".into(),
        publisher: "(file)".into(),
        lang: if country == "JP" {
            "ja".into()
        } else {
            "en".into()
        },
        timezone: crate::config::default_timezone(&country),
        country,
        url: url::Url::parse("http://localhost/").context("base URL")?,
        kind: SourceKind::Feed,
        interval: Duration::from_secs(1800),
        sector: None,
        publisher_kind: None,
        allow_private: false,
        html: None,
        csv: None,
        detail: false,
    })
}

/// A store that cannot be opened, explained: how to restore it when it is damaged. Opening
/// goes through here (via `open_store` and `daemon_failed`) so that the advice is the same
/// everywhere; a sled panic while opening a damaged store comes here as corruption
/// (`SledStore::open` catches it).
fn store_open_failed(data_dir: &Path, e: store::Error) -> anyhow::Error {
    let mut reason = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        reason.push_str(&format!(": {c}"));
        cause = c.source();
    }
    // Locked, unreadable directories and I/O failures (a full disk) are not cured by a restore.
    let damaged = match &e {
        store::Error::Corrupt { .. } => true,
        store::Error::Engine(_) => {
            let lower = reason.to_lowercase();
            lower.contains("corrupt") || lower.contains("bug")
        }
        _ => false,
    };
    if damaged {
        restore_advice(data_dir, &reason)
    } else {
        anyhow::Error::new(e)
    }
}

fn restore_advice(data_dir: &Path, reason: &str) -> anyhow::Error {
    use crate::store::backup;
    let backups = backup::backups_dir(data_dir);
    match backup::newest_archive(data_dir) {
        Some(archive) => anyhow!(
            "the store in {} could not be opened ({reason}); restore it with \
             `kizashi restore --force {}` (archives are in {})",
            data_dir.display(),
            archive.display(),
            backups.display()
        ),
        None => anyhow!(
            "the store in {} could not be opened ({reason}); there is no archive in {} to \
             restore it from (`kizashi restore FILE`): move {} aside to start with an empty \
             store",
            data_dir.display(),
            backups.display(),
            data_dir.display()
        ),
    }
}

/// The daemon's error, with restore advice when the store it opened is damaged.
fn daemon_failed(data_dir: &Path, e: daemon::Error) -> anyhow::Error {
    match e {
        daemon::Error::Store(e) => store_open_failed(data_dir, e),
        other => anyhow::Error::new(other),
    }
}

/// `kizashi backup`: an archive now, through the store.
fn backup_cmd(config: &Config) -> Result<ExitCode> {
    use crate::store::backup;
    let Some(store) = open_store(config)? else {
        bail!(
            "the store in {} is held by another process (the daemon); the daemon writes an \
             archive a day into {}",
            config.data_dir.display(),
            backup::backups_dir(&config.data_dir).display()
        );
    };
    let dir = backup::backups_dir(&config.data_dir);
    let path = backup::write_archive(&store, &dir, backup::DEFAULT_KEEP, Utc::now())
        .with_context(|| format!("cannot write an archive into {}", dir.display()))?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `kizashi restore FILE [--force]`: rebuilds the store from an archive.
fn restore_cmd(config: &Config, file: &Path, force: bool) -> Result<ExitCode> {
    use crate::store::backup;
    let summary =
        backup::restore(file, &config.data_dir, force, Utc::now()).with_context(|| {
            format!(
                "cannot restore {} into {}",
                file.display(),
                config.data_dir.display()
            )
        })?;
    let mut out = format!(
        "restored {} items and {} sources from {} (archive of {}) into {}\n",
        summary.items,
        summary.sources,
        file.display(),
        summary
            .created
            .with_timezone(&jst())
            .format("%Y-%m-%d %H:%M JST"),
        config.data_dir.display()
    );
    if let Some(aside) = &summary.moved_aside {
        out.push_str(&format!("the previous store is in {}\n", aside.display()));
    }
    out.push_str("the first poll of each source will record its items without alerting\n");
    write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
