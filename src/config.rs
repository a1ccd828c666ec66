//! Configuration: TOML in, a validated [`Config`] out.
//!
//! Owns: the file format of `shared/spec/interface.md`, its defaults and the built-in
//! configuration. Loading has two phases: the TOML is parsed into a table, then every key is
//! checked and converted on its own so that *every* problem is reported, each naming the file,
//! the key and the reason. May import: model. Must not do network or store I/O.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};
use url::Url;

use crate::model::{
    CsvColumns, HtmlSelectors, PublisherKind, Section, Sector, SourceKind, SourceSpec,
};

/// The built-in configuration, compiled into the binary.
pub const BUILTIN: &str = include_str!("config/default.toml");
/// Name shown for the built-in configuration in error messages.
pub const BUILTIN_NAME: &str = "<built-in configuration>";

pub const DEFAULT_DATA_DIR: &str = "kizashi-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_BODY: u64 = 15 * 1024 * 1024;
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_ALERT_MAX_AGE: Duration = Duration::from_secs(3 * 24 * 3600);
/// Shortest poll interval accepted: anything faster is rude to publishers.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.reason)
        }
    }
}

/// Every problem found in one configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} configuration error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The loopback API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    /// Bearer token; required to listen beyond loopback.
    pub token: Option<String>,
}

/// How sources are fetched.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub max_redirects: usize,
    /// Sources polled at once; one host never sees more than one request at a time.
    pub concurrency: usize,
    /// Used only when configured: the environment's proxy variables are ignored.
    pub proxy: Option<Url>,
}

/// A secret (a webhook signing key, an SMTP password): never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret's text.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret's text, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where an alert channel delivers.
#[derive(Debug, Clone)]
pub enum Channel {
    /// POST JSON, Standard Webhooks headers, signed when a secret is set.
    Webhook { url: Url, secret: Option<Secret> },
    /// Runs a program (no shell) with the alert as JSON on stdin.
    Command { argv: Vec<String> },
    /// Plain-text mail through an SMTP relay (`smtp://host:port`, `smtps://…`).
    Email {
        smtp: String,
        from: String,
        to: Vec<String>,
        password: Option<Secret>,
    },
}

impl Channel {
    /// `webhook`, `command` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Command { .. } => "command",
            Channel::Email { .. } => "email",
        }
    }
}

/// One `[[alerts]]` channel with its filters.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Stable name: queued alerts refer to it across restarts and reordering.
    pub name: String,
    pub channel: Channel,
    pub sections: Vec<Section>,
    pub sectors: Vec<Sector>,
    pub attack_types: Vec<crate::model::AttackType>,
    pub sources: Vec<String>,
    /// Items published longer ago never alert.
    pub max_age: Duration,
    /// One message per interval listing the new candidates, instead of one per item.
    pub digest: Option<Duration>,
    /// Later reports of a story (第2報, 最終報, "Update 3") alert too.
    pub updates: bool,
    /// The channel also hears of failing, broken and silent sources.
    pub operator: bool,
    /// Polls in a row a source must fail before the operator hears of it.
    pub failures: u32,
    /// Wait before each retry; the alert is dead after the last one.
    pub retries: Vec<Duration>,
    /// Per attempt.
    pub timeout: Duration,
}

/// Standard Webhooks' retry schedule (about three days in all).
pub const DEFAULT_RETRIES: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];
pub const DEFAULT_ALERT_TIMEOUT: Duration = Duration::from_secs(15);
pub const DEFAULT_OPERATOR_FAILURES: u32 = 3;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, or [`BUILTIN_NAME`].
    pub origin: String,
    pub data_dir: PathBuf,
    pub rules_dir: Option<PathBuf>,
    pub api: ApiConfig,
    pub fetch: FetchSettings,
    pub sources: Vec<SourceSpec>,
    pub alerts: Vec<AlertSpec>,
    /// Things that load but do not act yet; logged at start.
    pub warnings: Vec<String>,
}

impl Config {
    /// The built-in configuration.
    pub fn builtin() -> Result<Config, ConfigErrors> {
        Config::parse(BUILTIN, BUILTIN_NAME)
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: name.clone(),
                key: String::new(),
                reason: format!("cannot read file: {e}"),
            }])
        })?;
        Config::parse(&text, &name)
    }

    /// Validates configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                key: String::new(),
                reason: format!("invalid TOML: {}", e.to_string().trim()),
            }])
        })?;
        let mut v = Validator {
            file,
            errors: Vec::new(),
        };
        let config = v.config(&table);
        if v.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(v.errors))
        }
    }

    /// Looks a source up by id.
    pub fn source(&self, id: &str) -> Option<&SourceSpec> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// The publisher's home zone where a source does not name one (report.md).
pub fn default_timezone(country: &str) -> chrono_tz::Tz {
    use chrono_tz::*;
    match country {
        "JP" => Asia::Tokyo,
        "US" => America::New_York,
        "GB" => Europe::London,
        "FR" => Europe::Paris,
        "AU" => Australia::Sydney,
        "DE" => Europe::Berlin,
        "EU" | "BE" => Europe::Brussels,
        "NL" => Europe::Amsterdam,
        "CA" => America::Toronto,
        "NZ" => Pacific::Auckland,
        "SG" => Asia::Singapore,
        "KR" => Asia::Seoul,
        "TW" => Asia::Taipei,
        "IN" => Asia::Kolkata,
        _ => UTC,
    }
}

struct Validator<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn error(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            key: key.into(),
            reason: reason.into(),
        });
    }

    fn unknown_keys(&mut self, table: &Table, path: &str, allowed: &[&str]) {
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    join(path, key),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    fn get<T: DeserializeOwned>(&mut self, table: &Table, path: &str, key: &str) -> Option<T> {
        let value = table.get(key)?;
        match value.clone().try_into::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(join(path, key), e.to_string().trim().to_string());
                None
            }
        }
    }

    fn table<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t Table> {
        match table.get(key)? {
            Value::Table(t) => Some(t),
            _ => {
                self.error(join(path, key), "expected a table");
                None
            }
        }
    }

    fn duration(&mut self, table: &Table, path: &str, key: &str) -> Option<Duration> {
        let text: String = self.get(table, path, key)?;
        match humantime::parse_duration(&text) {
            Ok(d) if d >= MIN_INTERVAL => Some(d),
            Ok(_) => {
                self.error(
                    join(path, key),
                    format!("{text:?} is shorter than one second"),
                );
                None
            }
            Err(e) => {
                self.error(
                    join(path, key),
                    format!("invalid duration {text:?}: {e} (write e.g. 90s, 15m, 1h)"),
                );
                None
            }
        }
    }

    fn parsed<T: std::str::FromStr>(&mut self, table: &Table, path: &str, key: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let text: String = self.get(table, path, key)?;
        match text.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(join(path, key), e.to_string());
                None
            }
        }
    }

    fn list<T: std::str::FromStr>(&mut self, table: &Table, path: &str, key: &str) -> Option<Vec<T>>
    where
        T::Err: fmt::Display,
    {
        let texts: Vec<String> = self.get(table, path, key)?;
        let mut out = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            match text.parse::<T>() {
                Ok(v) => out.push(v),
                Err(e) => self.error(format!("{}[{i}]", join(path, key)), e.to_string()),
            }
        }
        Some(out)
    }

    fn config(&mut self, root: &Table) -> Config {
        self.unknown_keys(
            root,
            "",
            &[
                "data_dir",
                "rules_dir",
                "user_agent",
                "api",
                "defaults",
                "fetch",
                "sources",
                "alerts",
            ],
        );
        let data_dir: PathBuf = self
            .get::<String>(root, "", "data_dir")
            .unwrap_or(DEFAULT_DATA_DIR.into())
            .into();
        let rules_dir = self.get::<String>(root, "", "rules_dir").map(PathBuf::from);
        let user_agent = self
            .get::<String>(root, "", "user_agent")
            .unwrap_or_else(|| format!("kizashi/{}", env!("CARGO_PKG_VERSION")));
        if user_agent.trim().is_empty() {
            self.error("user_agent", "must not be empty");
        }

        let api = self.api(root);
        let (interval, default_zone) = self.defaults(root);
        let fetch = self.fetch(root, user_agent);
        let sources = self.sources(root, interval, default_zone);
        let mut warnings = Vec::new();
        let alerts = self.alerts(root, &sources, &mut warnings);
        Config {
            origin: self.file.to_string(),
            data_dir,
            rules_dir,
            api,
            fetch,
            sources,
            alerts,
            warnings,
        }
    }

    fn api(&mut self, root: &Table) -> ApiConfig {
        let default_listen: SocketAddr = DEFAULT_LISTEN.parse().expect("valid default address");
        let Some(t) = self.table(root, "", "api") else {
            return ApiConfig {
                listen: default_listen,
                token: None,
            };
        };
        self.unknown_keys(t, "api", &["listen", "token"]);
        let listen = self
            .parsed::<SocketAddr>(t, "api", "listen")
            .unwrap_or(default_listen);
        let token = self
            .get::<String>(t, "api", "token")
            .filter(|t| !t.is_empty());
        if !listen.ip().is_loopback() && token.is_none() {
            self.error(
                "api.listen",
                format!("{listen} is beyond loopback: set api.token so that only holders of it can use the API"),
            );
        }
        ApiConfig { listen, token }
    }

    fn defaults(&mut self, root: &Table) -> (Duration, Option<chrono_tz::Tz>) {
        let Some(t) = self.table(root, "", "defaults") else {
            return (DEFAULT_INTERVAL, None);
        };
        self.unknown_keys(t, "defaults", &["interval", "timezone"]);
        let interval = self
            .duration(t, "defaults", "interval")
            .unwrap_or(DEFAULT_INTERVAL);
        let zone = self.parsed::<chrono_tz::Tz>(t, "defaults", "timezone");
        (interval, zone)
    }

    fn fetch(&mut self, root: &Table, user_agent: String) -> FetchSettings {
        let mut settings = FetchSettings {
            user_agent,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            concurrency: DEFAULT_CONCURRENCY,
            proxy: None,
        };
        let Some(t) = self.table(root, "", "fetch") else {
            return settings;
        };
        self.unknown_keys(
            t,
            "fetch",
            &[
                "timeout",
                "connect_timeout",
                "max_body",
                "max_redirects",
                "concurrency",
                "proxy",
            ],
        );
        if let Some(d) = self.duration(t, "fetch", "timeout") {
            settings.timeout = d;
        }
        if let Some(d) = self.duration(t, "fetch", "connect_timeout") {
            settings.connect_timeout = d;
        }
        if let Some(n) = self.get::<u64>(t, "fetch", "max_body") {
            if n < 1024 {
                self.error("fetch.max_body", "must be at least 1024 bytes");
            } else {
                settings.max_body = n;
            }
        }
        if let Some(n) = self.get::<usize>(t, "fetch", "max_redirects") {
            if n > 10 {
                self.error("fetch.max_redirects", "must be at most 10");
            } else {
                settings.max_redirects = n;
            }
        }
        if let Some(n) = self.get::<usize>(t, "fetch", "concurrency") {
            if n == 0 || n > 64 {
                self.error("fetch.concurrency", "must be between 1 and 64");
            } else {
                settings.concurrency = n;
            }
        }
        if let Some(url) = self.parsed::<Url>(t, "fetch", "proxy") {
            if matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
                settings.proxy = Some(url);
            } else {
                self.error("fetch.proxy", "proxy URL must be http, https or socks5");
            }
        }
        settings
    }

    fn sources(
        &mut self,
        root: &Table,
        default_interval: Duration,
        default_zone: Option<chrono_tz::Tz>,
    ) -> Vec<SourceSpec> {
        let Some(value) = root.get("sources") else {
            return Vec::new();
        };
        let Some(entries) = value.as_array() else {
            self.error("sources", "expected an array of tables ([[sources]])");
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let Some(t) = entry.as_table() else {
                self.error(format!("sources[{i}]"), "expected a table");
                continue;
            };
            let before = self.errors.len();
            let spec = self.source(t, i, default_interval, default_zone);
            if let Some(spec) = spec {
                if !seen.insert(spec.id.clone()) {
                    self.error(
                        format!("sources[{i}].id"),
                        format!("duplicate source id {:?}", spec.id),
                    );
                } else if self.errors.len() == before {
                    out.push(spec);
                }
            }
        }
        out
    }

    fn source(
        &mut self,
        t: &Table,
        i: usize,
        default_interval: Duration,
        default_zone: Option<chrono_tz::Tz>,
    ) -> Option<SourceSpec> {
        let raw_id = t.get("id").and_then(Value::as_str).unwrap_or("");
        let path = if raw_id.is_empty() {
            format!("sources[{i}]")
        } else {
            format!("sources[{i}] (id {raw_id:?})")
        };
        let path = path.as_str();
        self.unknown_keys(
            t,
            path,
            &[
                "id",
                "publisher",
                "country",
                "lang",
                "url",
                "kind",
                "interval",
                "sector",
                "publisher_kind",
                "timezone",
                "allow_private",
                "detail",
                "html",
                "csv",
            ],
        );
        let id = self.required_string(t, path, "id");
        if let Some(id) = &id {
            let valid = !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                self.error(join(path, "id"), format!("{id:?} must match [a-z0-9-]+"));
            }
        }
        let publisher = self.required_string(t, path, "publisher");
        let country = self.required_string(t, path, "country").and_then(|c| {
            let c = c.trim().to_ascii_uppercase();
            // The UK's ISO code is GB; people write UK.
            let c = if c == "UK" { "GB".to_string() } else { c };
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(c)
            } else {
                self.error(
                    join(path, "country"),
                    format!("{c:?} is not an ISO 3166-1 alpha-2 code"),
                );
                None
            }
        });
        let lang = self.required_string(t, path, "lang").and_then(|l| {
            let ok = l.len() >= 2
                && l.len() <= 12
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if ok {
                Some(l.to_ascii_lowercase())
            } else {
                self.error(
                    join(path, "lang"),
                    format!("{l:?} is not a language tag (en, ja, fr …)"),
                );
                None
            }
        });
        let url = match self.required_string(t, path, "url") {
            Some(text) => match Url::parse(&text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                Ok(_) => {
                    self.error(
                        join(path, "url"),
                        format!("{text:?}: only http and https URLs are fetched"),
                    );
                    None
                }
                Err(e) => {
                    self.error(join(path, "url"), format!("{text:?}: {e}"));
                    None
                }
            },
            None => None,
        };
        let kind = match self.get::<String>(t, path, "kind").as_deref() {
            None | Some("feed") => Some(SourceKind::Feed),
            Some("html") => Some(SourceKind::Html),
            Some("csv") => Some(SourceKind::Csv),
            Some(other) => {
                self.error(
                    join(path, "kind"),
                    format!("{other:?}: expected \"feed\", \"html\" or \"csv\""),
                );
                None
            }
        };
        let interval = if t.contains_key("interval") {
            self.duration(t, path, "interval")
        } else {
            Some(default_interval)
        };
        let sector = if t.contains_key("sector") {
            self.parsed::<Sector>(t, path, "sector")
        } else {
            None
        };
        let publisher_kind = match self.get::<String>(t, path, "publisher_kind").as_deref() {
            None => None,
            Some("government") => Some(PublisherKind::Government),
            Some("operator") => Some(PublisherKind::Operator),
            Some("news") => Some(PublisherKind::News),
            Some("vendor") => Some(PublisherKind::Vendor),
            Some(other) => {
                self.error(
                    join(path, "publisher_kind"),
                    format!("{other:?}: expected government, operator, news or vendor"),
                );
                None
            }
        };
        let timezone = self.parsed::<chrono_tz::Tz>(t, path, "timezone");
        let allow_private = self.get::<bool>(t, path, "allow_private").unwrap_or(false);
        let detail = self.get::<bool>(t, path, "detail").unwrap_or(false);
        let html = self.html(t, path);
        let csv = self.csv(t, path);
        if kind == Some(SourceKind::Csv) && csv.is_none() && !t.contains_key("csv") {
            self.error(
                join(path, "csv"),
                "a CSV source needs [sources.csv] with date, title and link columns",
            );
        }
        let country = country?;
        let zone = timezone
            .or(default_zone)
            .unwrap_or_else(|| default_timezone(&country));
        Some(SourceSpec {
            id: id?,
            publisher: publisher?,
            country,
            lang: lang?,
            url: url?,
            kind: kind?,
            interval: interval?,
            sector,
            publisher_kind,
            timezone: zone,
            allow_private,
            html,
            csv,
            detail,
        })
    }

    fn html(&mut self, t: &Table, path: &str) -> Option<HtmlSelectors> {
        let h = self.table(t, path, "html")?;
        let hp = join(path, "html");
        self.unknown_keys(h, &hp, &["item", "title", "link", "date", "publisher"]);
        Some(HtmlSelectors {
            item: self.get(h, &hp, "item"),
            title: self.get(h, &hp, "title"),
            link: self.get(h, &hp, "link"),
            date: self.get(h, &hp, "date"),
            publisher: self.get(h, &hp, "publisher"),
        })
    }

    fn csv(&mut self, t: &Table, path: &str) -> Option<CsvColumns> {
        let c = self.table(t, path, "csv")?;
        let cp = join(path, "csv");
        self.unknown_keys(c, &cp, &["date", "title", "link", "publisher", "header"]);
        let mut column = |key: &str| -> Option<usize> {
            if !c.contains_key(key) {
                self.error(
                    join(&cp, key),
                    "missing (required): the column's position, from 0",
                );
                return None;
            }
            self.get::<usize>(c, &cp, key)
        };
        let (date, title, link) = (column("date"), column("title"), column("link"));
        let publisher = self.get::<usize>(c, &cp, "publisher");
        let header = self.get::<bool>(c, &cp, "header").unwrap_or(false);
        Some(CsvColumns {
            date: date?,
            title: title?,
            link: link?,
            publisher,
            header,
        })
    }

    fn required_string(&mut self, t: &Table, path: &str, key: &str) -> Option<String> {
        if !t.contains_key(key) {
            self.error(join(path, key), "missing (required)");
            return None;
        }
        let s: String = self.get(t, path, key)?;
        if s.trim().is_empty() {
            self.error(join(path, key), "must not be empty");
            return None;
        }
        Some(s.trim().to_string())
    }

    fn alerts(
        &mut self,
        root: &Table,
        sources: &[SourceSpec],
        warnings: &mut Vec<String>,
    ) -> Vec<AlertSpec> {
        let Some(value) = root.get("alerts") else {
            return Vec::new();
        };
        let Some(entries) = value.as_array() else {
            self.error("alerts", "expected an array of tables ([[alerts]])");
            return Vec::new();
        };
        let mut out: Vec<AlertSpec> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let path = format!("alerts[{i}]");
            let Some(t) = entry.as_table() else {
                self.error(path, "expected a table");
                continue;
            };
            let before = self.errors.len();
            if let Some(spec) = self.alert(t, &path, sources, warnings) {
                if out.iter().any(|o| o.name == spec.name) {
                    self.error(
                        join(&path, "name"),
                        format!("duplicate alert channel name {:?}", spec.name),
                    );
                } else if self.errors.len() == before {
                    out.push(spec);
                }
            }
        }
        out
    }

    fn alert(
        &mut self,
        t: &Table,
        path: &str,
        sources: &[SourceSpec],
        warnings: &mut Vec<String>,
    ) -> Option<AlertSpec> {
        self.unknown_keys(
            t,
            path,
            &[
                "name",
                "kind",
                "url",
                "command",
                "to",
                "from",
                "smtp",
                "secret",
                "secret_file",
                "secret_env",
                "password_env",
                "password_file",
                "timeout",
                "sections",
                "sectors",
                "attack_types",
                "sources",
                "max_age",
                "digest",
                "updates",
                "operator",
                "failures",
                "retries",
            ],
        );
        let kind = self.required_string(t, path, "kind")?;
        let secret = self.secret(t, path, "secret", "secret_file", "secret_env");
        let channel = match kind.as_str() {
            "webhook" => {
                let text = self.required_string(t, path, "url")?;
                match Url::parse(&text) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => {
                        if url.scheme() == "http" && !url.host_str().is_some_and(is_loopback_name) {
                            warnings.push(format!("{path}: webhook {text} is plain http: alerts cross the network unencrypted"));
                        }
                        Channel::Webhook { url, secret }
                    }
                    _ => {
                        self.error(join(path, "url"), format!("{text:?} is not an http(s) URL"));
                        return None;
                    }
                }
            }
            "command" => {
                let argv: Vec<String> = match t.get("command") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(_) => self.get(t, path, "command")?,
                    None => {
                        self.error(join(path, "command"), "missing (required): the program and its arguments, e.g. [\"/usr/local/bin/notify\", \"--quiet\"]");
                        return None;
                    }
                };
                if argv.first().is_none_or(|p| p.trim().is_empty()) {
                    self.error(join(path, "command"), "must name a program");
                    return None;
                }
                Channel::Command { argv }
            }
            "email" => {
                let to: Vec<String> = match t.get("to") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(_) => self.get(t, path, "to")?,
                    None => {
                        self.error(
                            join(path, "to"),
                            "missing (required): one address or a list",
                        );
                        return None;
                    }
                };
                let from = self.required_string(t, path, "from")?;
                let smtp = self.required_string(t, path, "smtp")?;
                if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                    self.error(
                        join(path, "smtp"),
                        format!("{smtp:?}: expected smtp://host:port or smtps://host:port"),
                    );
                    return None;
                }
                for (j, address) in to.iter().chain(std::iter::once(&from)).enumerate() {
                    if !address.contains('@') {
                        self.error(
                            format!("{path}.to[{j}]"),
                            format!("{address:?} is not a mail address"),
                        );
                    }
                }
                let password = self.secret(t, path, "password", "password_file", "password_env");
                Channel::Email {
                    smtp,
                    from,
                    to,
                    password,
                }
            }
            other => {
                self.error(
                    join(path, "kind"),
                    format!("{other:?}: expected webhook, command or email"),
                );
                return None;
            }
        };
        let name = match self.get::<String>(t, path, "name") {
            Some(n) if !n.trim().is_empty() => n,
            _ => default_channel_name(&channel),
        };
        let sections = self
            .list::<Section>(t, path, "sections")
            .unwrap_or(vec![Section::AbroadCritical, Section::DomesticCritical]);
        let sectors = self.list::<Sector>(t, path, "sectors").unwrap_or_default();
        let attack_types = self
            .list::<crate::model::AttackType>(t, path, "attack_types")
            .unwrap_or_default();
        let alert_sources: Vec<String> = self.get(t, path, "sources").unwrap_or_default();
        for (j, s) in alert_sources.iter().enumerate() {
            if !sources.iter().any(|spec| &spec.id == s) {
                self.error(
                    format!("{path}.sources[{j}]"),
                    format!("no source with id {s:?}"),
                );
            }
        }
        let max_age = if t.contains_key("max_age") {
            self.duration(t, path, "max_age")
                .unwrap_or(DEFAULT_ALERT_MAX_AGE)
        } else {
            DEFAULT_ALERT_MAX_AGE
        };
        let digest = if t.contains_key("digest") {
            self.duration(t, path, "digest")
        } else {
            None
        };
        let timeout = if t.contains_key("timeout") {
            self.duration(t, path, "timeout")
                .unwrap_or(DEFAULT_ALERT_TIMEOUT)
        } else {
            DEFAULT_ALERT_TIMEOUT
        };
        let retries = match t.get("retries") {
            None => DEFAULT_RETRIES.to_vec(),
            Some(_) => {
                let texts: Vec<String> = self.get(t, path, "retries").unwrap_or_default();
                let mut out = Vec::new();
                for (j, text) in texts.iter().enumerate() {
                    match humantime::parse_duration(text) {
                        Ok(d) => out.push(d),
                        Err(e) => self.error(
                            format!("{path}.retries[{j}]"),
                            format!("invalid duration {text:?}: {e}"),
                        ),
                    }
                }
                out
            }
        };
        let failures = self
            .get::<u32>(t, path, "failures")
            .unwrap_or(DEFAULT_OPERATOR_FAILURES)
            .max(1);
        Some(AlertSpec {
            name,
            channel,
            sections,
            sectors,
            attack_types,
            sources: alert_sources,
            max_age,
            digest,
            updates: self.get::<bool>(t, path, "updates").unwrap_or(false),
            operator: self.get::<bool>(t, path, "operator").unwrap_or(false),
            failures,
            retries,
            timeout,
        })
    }

    /// A secret given inline, in a file, or in an environment variable.
    fn secret(
        &mut self,
        t: &Table,
        path: &str,
        inline: &str,
        file: &str,
        env: &str,
    ) -> Option<Secret> {
        if let Some(s) = self.get::<String>(t, path, inline) {
            return Some(Secret(s));
        }
        if let Some(f) = self.get::<String>(t, path, file) {
            return match std::fs::read_to_string(&f) {
                Ok(text) if !text.trim().is_empty() => Some(Secret(text.trim().to_string())),
                Ok(_) => {
                    self.error(join(path, file), format!("{f}: the file is empty"));
                    None
                }
                Err(e) => {
                    self.error(join(path, file), format!("{f}: cannot read: {e}"));
                    None
                }
            };
        }
        if let Some(var) = self.get::<String>(t, path, env) {
            return match std::env::var(&var) {
                Ok(v) if !v.is_empty() => Some(Secret(v)),
                _ => {
                    self.error(
                        join(path, env),
                        format!("the environment variable {var} is not set"),
                    );
                    None
                }
            };
        }
        None
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A name that stays the same while the channel does: its kind and a hash of its target.
fn default_channel_name(channel: &Channel) -> String {
    use sha2::{Digest, Sha256};
    let target = match channel {
        Channel::Webhook { url, .. } => url.to_string(),
        Channel::Command { argv } => argv.join("\u{0}"),
        Channel::Email { to, smtp, .. } => format!("{smtp}\u{0}{}", to.join(",")),
    };
    let hash = crate::model::hex(&Sha256::digest(target.as_bytes())[..4]);
    format!("{}-{hash}", channel.kind())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_configuration_is_valid() {
        let config = Config::builtin().expect("built-in configuration validates");
        assert!(config.sources.len() >= 20);
        assert!(config.api.listen.ip().is_loopback());
        let soumu = config.source("soumu").unwrap();
        assert_eq!(soumu.timezone, chrono_tz::Asia::Tokyo);
        assert_eq!(soumu.publisher, "総務省");
    }

    #[test]
    fn every_error_is_reported_with_file_and_key() {
        let text = r#"
data_dir = "d"
colour = "blue"
[defaults]
interval = "soon"
[[sources]]
id = "Bad Id"
publisher = "X"
country = "USA"
lang = "en"
url = "ftp://example.org/feed"
kind = "feed"
[[sources]]
id = "ok"
publisher = "X"
country = "US"
lang = "en"
url = "https://example.org/feed"
sector = "space"
extra = 1
[[sources]]
id = "ok"
publisher = "Y"
country = "US"
lang = "en"
url = "https://example.org/other"
"#;
        let errors = Config::parse(text, "k.toml").unwrap_err().0;
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let all = shown.join("\n");
        for needle in [
            "k.toml: colour: unknown key",
            "k.toml: defaults.interval: invalid duration \"soon\"",
            "sources[0] (id \"Bad Id\").id: \"Bad Id\" must match",
            "sources[0] (id \"Bad Id\").country",
            "sources[0] (id \"Bad Id\").url: \"ftp://example.org/feed\": only http and https",
            "sources[1] (id \"ok\").sector: unknown Sector \"space\"",
            "sources[1] (id \"ok\").extra: unknown key",
            "sources[2].id: duplicate source id \"ok\"",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    // A hospital's own page lends its name to a notice that speaks of itself; a news source
    // (NHK is a broadcaster, its stories quote their victims' "we") lends nothing.
    #[test]
    fn only_a_non_news_source_lends_its_name_to_classification() {
        let source = |id: &str, publisher: &str, kind: &str| {
            format!(
                "[[sources]]\nid = \"{id}\"\npublisher = \"{publisher}\"\ncountry = \"JP\"\nlang = \"ja\"\n\
                 url = \"https://example.org/{id}.xml\"\nkind = \"feed\"\npublisher_kind = \"{kind}\"\n"
            )
        };
        let text = source("hospital", "益城病院", "operator") + &source("nhk", "NHK", "news");
        let config = Config::parse(&text, "c.toml").unwrap();
        let hospital = config.source("hospital").unwrap();
        assert_eq!(hospital.publisher_for_classification(None), "益城病院");
        assert_eq!(
            hospital.publisher_for_classification(Some("総務省")),
            "総務省"
        );
        assert_eq!(
            config
                .source("nhk")
                .unwrap()
                .publisher_for_classification(None),
            ""
        );
    }

    #[test]
    fn api_beyond_loopback_needs_a_token() {
        let err = Config::parse("[api]\nlisten = \"0.0.0.0:8787\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("api.listen"), "{err}");
        let ok = Config::parse(
            "[api]\nlisten = \"0.0.0.0:8787\"\ntoken = \"s3cret\"\n",
            "c.toml",
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn later_features_load_with_warnings() {
        let text = r#"
[[sources]]
id = "rikuden-press"
publisher = "北陸電力株式会社"
country = "JP"
lang = "ja"
url = "https://www.rikuden.co.jp/press/index.html"
kind = "html"
sector = "electricity"
publisher_kind = "operator"
[sources.html]
item = "ul.press-list li"
title = "a"
link = "a"
date = ".date"

[[alerts]]
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
sections = ["2.1", "3.1"]
max_age = "3d"
"#;
        let config = Config::parse(text, "c.toml").unwrap();
        assert_eq!(config.sources[0].kind, SourceKind::Html);
        assert_eq!(config.sources[0].timezone, chrono_tz::Asia::Tokyo);
        assert_eq!(config.alerts.len(), 1);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    }

    #[test]
    fn shipped_example_configuration_is_valid() {
        let text = include_str!("../systemd/kizashi.example.toml");
        let config =
            Config::parse(text, "systemd/kizashi.example.toml").expect("example validates");
        assert_eq!(config.sources.len(), 5);
        assert_eq!(config.fetch.max_body, DEFAULT_MAX_BODY);
    }

    #[test]
    fn uk_is_read_as_gb() {
        let text = "[[sources]]\nid = \"n\"\npublisher = \"NCSC\"\ncountry = \"UK\"\nlang = \"en\"\nurl = \"https://www.ncsc.gov.uk/feed\"\n";
        let config = Config::parse(text, "c.toml").unwrap();
        assert_eq!(config.sources[0].country, "GB");
        assert_eq!(config.sources[0].timezone, chrono_tz::Europe::London);
    }
}
