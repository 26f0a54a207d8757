//! `claimscrub remits`: put X12 835 remittance files into the outcome store (`import`, the
//! same as the IngestRemittance RPC, idempotent) and delete old ones (`purge`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::OutcomesArgs;
use crate::proto::v1 as pb;

/// `claimscrub remits ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum RemitsCommand {
    /// Store the remittances of 835 files; a remittance already stored is skipped, so
    /// importing a file twice changes nothing. A file that cannot be read stores nothing and
    /// says which segment is wrong; the other files are still imported.
    Import(ImportArgs),
    /// Delete the remittances imported more than DAYS days ago, with everything in them.
    Purge(PurgeArgs),
}

/// `claimscrub remits import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The 835 files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub store: OutcomesArgs,
}

/// `claimscrub remits purge` arguments.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Keep the remittances imported in the last DAYS days.
    #[arg(long, value_name = "DAYS")]
    pub older_than_days: u32,
    #[command(flatten)]
    pub store: OutcomesArgs,
}

/// The most bytes one 835 file may have (the RPC takes 4 MiB; files are read whole).
const MAX_FILE: u64 = 256 * 1024 * 1024;

/// Runs a `remits` subcommand.
pub fn run(command: &RemitsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RemitsCommand::Import(args) => import(args),
        RemitsCommand::Purge(args) => purge(args),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let mut failed = 0;
    for file in &args.files {
        let size = std::fs::metadata(file)
            .with_context(|| format!("cannot read {}", file.display()))?
            .len();
        if size > MAX_FILE {
            anyhow::bail!(
                "{}: {size} bytes; files of at most {MAX_FILE} bytes are imported",
                file.display()
            );
        }
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let req = pb::IngestRemittanceRequest {
            x12: bytes,
            source_name: file.display().to_string(),
        };
        match crate::api::remit::ingest(store.as_ref(), &req) {
            Ok(resp) => {
                let claims: u32 = resp.remittances.iter().map(|r| r.claims).sum();
                println!(
                    "{}: {} remittance(s), {claims} claim(s): {} stored, {} already stored",
                    file.display(),
                    resp.remittances.len(),
                    resp.stored,
                    resp.already_stored
                );
                for w in &resp.warnings {
                    println!("  warning: {w}");
                }
            }
            Err(status) => {
                failed += 1;
                println!("{}: NOT imported: {}", file.display(), status.message());
            }
        }
    }
    let counts = store.counts()?;
    println!(
        "{} now holds {} remittance(s), {} claim(s), {} service line(s).",
        store.describe(),
        counts.remittances,
        counts.claims,
        counts.lines
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn purge(args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let cutoff = std::time::SystemTime::now()
        - std::time::Duration::from_secs(u64::from(args.older_than_days) * 86_400);
    let cutoff = crate::admin::rfc3339(cutoff);
    let n = store.purge_before(&cutoff)?;
    println!(
        "deleted {n} remittance(s) imported before {cutoff} from {}",
        store.describe()
    );
    Ok(ExitCode::SUCCESS)
}
