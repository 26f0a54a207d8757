//! `claimscrub rules check` and `claimscrub rules test`: load status and test results for
//! rule authors, in plain words.

use std::process::ExitCode;

use crate::rules::RuleSource;
use crate::runtime::{Runtime, RuntimeSpec};

use super::RulesToolArgs;

/// `rules check`: loads the directory like the server does and prints each file's status.
pub fn check(args: &RulesToolArgs) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::build(args.runtime_spec()?)?;
    let registry = &runtime.registry;
    let report = registry.reload()?;
    let mut failed = 0;
    for (file, status) in registry.file_statuses() {
        match (&status.error, &status.rule_id) {
            (None, Some(id)) => println!(
                "ok      {file}  rule {id} version {}",
                status.active_version.as_deref().unwrap_or("?")
            ),
            (Some(e), kept) => {
                failed += 1;
                println!("FAILED  {e}");
                if let Some(id) = kept {
                    println!(
                        "        (a running server keeps the last good version of {id}: {})",
                        status.active_version.as_deref().unwrap_or("?")
                    );
                }
            }
            (None, None) => {}
        }
    }
    println!(
        "\n{} rule(s) active, {failed} file(s) failed; ruleset version {}",
        report.rules, report.version
    );
    Ok(if failed == 0 && report.rules > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rules test`: runs every rule's own test cases and prints each result.
pub fn test(args: &RulesToolArgs) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::build(RuntimeSpec {
        threads: 1,
        ..args.runtime_spec()?
    })?;
    let tables = runtime.tables.snapshot();
    let (pool, evaluator) = (&runtime.pool, &runtime.evaluator);
    let files = runtime.source.list().map_err(|e| {
        anyhow::anyhow!(
            "cannot read the rules at {}: {e}",
            runtime.registry.location()
        )
    })?;
    let (mut passed, mut failed, mut untested) = (0, 0, 0);
    pool.run_blocking(|| {
        for file in &files {
            let rule = match runtime.registry.compile(file) {
                Ok(rule) => rule,
                Err(e) => {
                    failed += 1;
                    println!("FAILED  {e}");
                    continue;
                }
            };
            if rule.cases.is_empty() {
                untested += 1;
                println!(
                    "none    {} has no test cases ({}.tests.json)",
                    rule.meta.id,
                    file.name.trim_end_matches(".rhai")
                );
                continue;
            }
            for (name, outcome) in crate::rules::trial::run_cases(evaluator, &rule, &tables) {
                match outcome {
                    Ok(()) => {
                        passed += 1;
                        println!("pass    {}: {name}", rule.meta.id);
                    }
                    Err(why) => {
                        failed += 1;
                        println!("FAILED  {}: {why}", rule.meta.id);
                    }
                }
            }
        }
    });
    println!("\n{passed} passed, {failed} failed, {untested} rule(s) without tests");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rules import DIR --rules STORE`: every file checked like a put, stored unless unchanged.
pub fn import(args: &super::ImportArgs) -> anyhow::Result<ExitCode> {
    let crate::config::RulesLocation::Postgres(url) = args.rules.location() else {
        anyhow::bail!(
            "--rules must name a PostgreSQL rule store (postgres://USER@HOST:PORT/DB) to import into; \
             a rules directory is edited by copying files into it"
        );
    };
    let store = crate::store::PgStore::connect(url)?;
    // Each file is checked as `rules test` would check it in that directory.
    let from = crate::config::RulesArgs {
        dir: args.from.clone(),
    };
    let checker = Runtime::build(super::runtime_spec(&from, &args.tables, &args.engine)?)?;
    let files = checker
        .source
        .list()
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.from.display()))?;
    let live = store.list()?;
    let report =
        crate::store::transfer::import(&files, &live, &store, &checker.registry, &args.author)?;
    for (file, id, version) in &report.imported {
        println!("imported  {file}  rule {id} version {version}");
    }
    for file in &report.unchanged {
        println!("unchanged {file}");
    }
    for why in &report.failed {
        println!("FAILED    {why}");
    }
    println!(
        "\n{} imported, {} unchanged, {} failed into {}",
        report.imported.len(),
        report.unchanged.len(),
        report.failed.len(),
        crate::store::postgres::redact(url)
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rules export --rules STORE --to DIR`: the store's rules as files, byte for byte.
pub fn export(args: &super::ExportArgs) -> anyhow::Result<ExitCode> {
    let source = args.rules.source()?;
    std::fs::create_dir_all(&args.to)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.to.display()))?;
    let written = crate::store::transfer::export(source.as_ref(), &args.to)?;
    println!("{} rule(s) written to {}", written.len(), args.to.display());
    Ok(ExitCode::SUCCESS)
}
