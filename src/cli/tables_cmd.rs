//! `claimscrub tables`: load a manifest's tables and report what was loaded, how long it took
//! and the process's memory, so operators can check a new CMS quarter before deploying it.

use std::process::ExitCode;

use crate::tables::TableStore;

use super::TablesCmdArgs;

/// Peak and current resident memory of this process in KiB (Linux `/proc`), if known.
pub fn memory_kib() -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let value = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (value("VmHWM:"), value("VmRSS:"))
}

/// Runs the command.
pub fn run(args: &TablesCmdArgs) -> anyhow::Result<ExitCode> {
    let Some(manifest) = args.tables.manifest() else {
        println!("no tables configured");
        return Ok(ExitCode::SUCCESS);
    };
    let (_, before) = memory_kib();
    let (store, report) = TableStore::load(manifest)?;
    let (peak, after) = memory_kib();
    for v in &report.versions {
        println!(
            "{:<10} {:<20} {:>10} rows  {}",
            v.kind.as_str(),
            v.setting.map_or("-", |s| s.as_str()),
            v.rows,
            v.version
        );
    }
    println!(
        "\nloaded in {} ms; resident memory {} MiB before, {} MiB after, peak {} MiB",
        report.millis,
        before.unwrap_or(0) / 1024,
        after.unwrap_or(0) / 1024,
        peak.unwrap_or(0) / 1024
    );
    drop(store);
    Ok(ExitCode::SUCCESS)
}
