//! The `claimscrub` command line: `serve`, `check FILE`, `rules ...`, `remits ...`, `tables`,
//! `health`, `loadgen`.

pub mod admin_cmd;
pub mod calibration_cmd;
pub mod check;
pub mod health;
pub mod loadgen;
pub mod remits_cmd;
pub mod rules_cmd;
pub mod tables_cmd;
pub mod tls;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{EngineArgs, LogArgs, RulesArgs, ScrubArgs, ServeArgs, TablesArgs};

/// Scrubs coded medical claims against edit rules before they go to a payer.
#[derive(Debug, Parser)]
#[command(name = "claimscrub", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service (ClaimScrubber, health, reflection).
    Serve(Box<ServeArgs>),
    /// Scrub claims from a file offline with the same engine and rules: claim JSON, an X12 837
    /// (read block by block) or FHIR R4 Claim/Bundle JSON, recognised by content.
    Check(CheckArgs),
    /// Probe a running server's gRPC health (exit 0 when SERVING); for container health checks.
    Health(health::HealthArgs),
    /// Generate load against a running server on this machine and report latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Load the reference tables of a manifest and report versions, rows, time and memory.
    Tables(TablesCmdArgs),
    /// What each rule's findings were worth, learnt from the remittances stored.
    Calibration(calibration_cmd::CalibrationArgs),
    /// Put X12 835 remittances into the outcome store, or purge old ones.
    Remits {
        /// What to do with remittances.
        #[command(subcommand)]
        command: remits_cmd::RemitsCommand,
    },
    /// Work with rule files.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// `claimscrub check` arguments.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// JSON file with one claim or an array of claims (proto3 JSON, as grpcurl sends).
    /// Use `-` for standard input.
    pub file: PathBuf,
    /// Print responses as JSON (one array) instead of a readable report.
    #[arg(long)]
    pub json: bool,
    /// Date to treat as "today" (YYYY-MM-DD) for claims that do not set as_of_date.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub tables: TablesArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub scrub: ScrubArgs,
}

/// `claimscrub tables` arguments.
#[derive(Debug, clap::Args)]
pub struct TablesCmdArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
}

/// `claimscrub rules ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile every rule and report its load status; exit 1 if any rule fails to load.
    Check(RulesToolArgs),
    /// Run every rule's test cases; exit 1 if any case fails.
    Test(RulesToolArgs),
    /// Load a directory of rules into a rule store (e.g. PostgreSQL from CI/CD): each file
    /// compiled and tested like a put; unchanged rules are not new versions.
    Import(ImportArgs),
    /// Write every rule of a store (scripts and tests, byte for byte) into a directory.
    Export(ExportArgs),
    /// Commands that change or read the rules of a running server (need a token).
    #[command(flatten)]
    Remote(admin_cmd::AdminCommand),
}

/// Arguments of the rules tools.
#[derive(Debug, clap::Args)]
pub struct RulesToolArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub tables: TablesArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// `claimscrub rules import DIR --rules postgres://…` arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The directory of `*.rhai` files (and their `*.tests.json`) to import.
    pub from: PathBuf,
    /// The store to import into (`--rules`): a PostgreSQL URL.
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The tables each rule's tests run against.
    #[command(flatten)]
    pub tables: TablesArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The name recorded as the author of the imported versions.
    #[arg(long, default_value = "import")]
    pub author: String,
}

/// `claimscrub rules export --rules … --to DIR` arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The store to export (`--rules`).
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// The runtime of the offline tools: the rules directory, the manifest and the engine
/// limits from the command line, one evaluation thread per core.
fn runtime_spec<'a>(
    rules: &RulesArgs,
    tables: &'a TablesArgs,
    engine: &EngineArgs,
) -> std::io::Result<crate::runtime::RuntimeSpec<'a>> {
    Ok(crate::runtime::RuntimeSpec {
        rules: rules.source()?,
        tables: tables.manifest(),
        engine: engine.limits(),
        threads: crate::config::default_threads(),
        queue: 64,
    })
}

impl CheckArgs {
    /// The runtime `check` scrubs with.
    pub fn runtime_spec(&self) -> std::io::Result<crate::runtime::RuntimeSpec<'_>> {
        runtime_spec(&self.rules, &self.tables, &self.engine)
    }
}

impl RulesToolArgs {
    /// The runtime the rules tools load rules into.
    pub fn runtime_spec(&self) -> std::io::Result<crate::runtime::RuntimeSpec<'_>> {
        runtime_spec(&self.rules, &self.tables, &self.engine)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
