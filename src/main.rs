//! The `kizashi` binary: parses arguments and calls into the library.

use std::process::ExitCode;

use clap::Parser;
use kizashi::cli::Cli;
use kizashi::commands::{self, UsageError};
use kizashi::config::ConfigErrors;

fn main() -> ExitCode {
    // Before any thread exists: the arena limit applies to threads that have not allocated yet.
    kizashi::memory::tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One clear line, not clap's usage block.
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("kizashi: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    kizashi::telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kizashi: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kizashi: {e:#}");
            if e.downcast_ref::<UsageError>().is_some()
                || e.downcast_ref::<ConfigErrors>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
