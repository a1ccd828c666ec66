//! Command-line types (clap derive) only; `commands` carries them out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Watches cyber-security news and drafts 「サイバーセキュリティを取り巻く情勢」.
#[derive(Debug, Parser)]
#[command(name = "kizashi", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML); the built-in configuration when absent.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Data directory; overrides the configuration's data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll every source on its interval until SIGTERM or Ctrl-C.
    Run {
        /// Poll every source once, store, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Export a quarter's candidate items (Markdown draft, JSON or CSV).
    Export(ExportArgs),
    /// List the sources with their last poll, status, items stored and last error.
    Sources {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Fetch this source once and show what it would extract, storing nothing.
        #[arg(long, value_name = "ID")]
        test: Option<String>,
    },
    /// Classify a feed document (or an item as JSON) offline and show why.
    Classify {
        /// A feed file or a JSON item ({"title": …, "summary": …, "publisher": …}); stdin when absent.
        file: Option<PathBuf>,
        /// Read it as this configured source (publisher, country, zone).
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Without --source: the publisher's country, the prior for where events happen.
        #[arg(long, default_value = "JP", value_name = "CODE")]
        country: String,
    },
    /// Alert channels with their queued, dead and recent deliveries.
    Alerts {
        #[command(subcommand)]
        command: Option<AlertsCommand>,
    },
    /// Analysts' decisions: include, exclude, move, note; import a reviewed CSV export.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Re-tag every stored item with the current rules.
    Reclassify,
    /// Write a JSON Lines archive of the store now (into <data_dir>/backups).
    Backup,
    /// Rebuild the store from an archive written by `backup` or by the daemon.
    Restore {
        /// The archive (<data_dir>/backups/kizashi-YYYYMMDD.jsonl).
        file: PathBuf,
        /// Move an existing store aside (<data_dir>.before-restore-<time>) instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// Rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Apply the decision, section, policy_country and note columns of a CSV export.
    Import { file: PathBuf },
    /// Decide on one item.
    Set {
        /// The item's id (from the JSON or CSV export).
        id: String,
        /// include, exclude, or "" to clear.
        #[arg(long)]
        decision: Option<String>,
        /// Move it to this section (1, 2.1, 2.2, 3.1, 3.2; "" for the classifier's).
        #[arg(long)]
        section: Option<String>,
        /// For section 1: whose policy it is (ISO code; "" for the classifier's).
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Queue dead alerts again (and re-enable channels a 410 disabled).
    Replay {
        /// Only the alert whose id starts with this; all dead alerts when absent.
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules directory (default: the built-in rules) without starting anything.
    Check { dir: Option<PathBuf> },
    /// Train the kind model (rules/kind-model.tsv) on a labelled set.
    Train {
        /// The labelled set: JSON lines with title, summary and section.
        #[arg(long, default_value = "tests/eval/items.jsonl")]
        set: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "rules/kind-model.tsv")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and list its sources.
    Check,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Fiscal quarter, e.g. FY2024Q4 (2025-01-01 .. 2025-03-31).
    #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present_all = ["from", "to"])]
    pub quarter: Option<String>,
    /// First publication date (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to", value_name = "DATE")]
    pub from: Option<String>,
    /// Last publication date (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from", value_name = "DATE")]
    pub to: Option<String>,
    /// md (default), json or csv.
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Include items with no section.
    #[arg(long)]
    pub all: bool,
}
