//! Staff commands that talk to a running server's RuleAdmin API: `rules push`, `validate`,
//! `list`, `history`, `rollback`, `disable`, `enable`. Output is written for people; `--json`
//! prints the raw responses for scripts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use tonic::transport::Channel;

use crate::claim::json::requests_from_str;
use crate::proto::v1::{self as pb, rule_admin_client::RuleAdminClient};

/// Where the server is and who is calling.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The server's gRPC address: HOST:PORT, http://HOST:PORT or https://HOST:PORT (as for
    /// `claimscrub health --addr`).
    #[arg(
        long,
        env = "CLAIMSCRUB_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// Your bearer token (from the server's token file).
    #[arg(long, env = "CLAIMSCRUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the server's responses as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: super::tls::ClientTls,
}

/// The admin subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Write a rule's live script, tests and version into a directory to edit it
    /// (then `rules push` it back).
    Pull {
        /// The rule id.
        id: String,
        /// Where to write NAME.rhai and NAME.tests.json.
        #[arg(long, default_value = ".")]
        to: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// Create or replace a rule on the server from FILE (and FILE's .tests.json beside it).
    /// Refused when the live rule is no longer the version you pulled, so nobody's newer edit
    /// is overwritten.
    Push {
        /// The rule file (NAME.rhai).
        file: PathBuf,
        /// The version you edited. By default, the version `rules pull` recorded beside FILE;
        /// a new rule needs none.
        #[arg(long)]
        expected_version: Option<String>,
        /// Replace whatever version is live (recorded as a forced overwrite in the history).
        #[arg(long)]
        force: bool,
        /// Why you made the change (kept in the history).
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Check a rule file on the server without changing anything: compile, run its tests, and
    /// show what it would find on sample claims.
    Validate {
        /// The rule file.
        file: PathBuf,
        /// Sample claims: JSON (as for `claimscrub check`), an X12 837 file, or a FHIR R4 Claim
        /// or Bundle of Claims.
        #[arg(long)]
        claims: Option<PathBuf>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a rule (its versions stay in the history; `rules rollback` restores one).
    Delete {
        /// The rule id.
        id: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The live rule set: version, rule count, where the rules are kept, tables, and every
    /// file that did not load.
    Status {
        #[command(flatten)]
        remote: Remote,
    },
    /// List the server's rules with their versions and status.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Show every version of a rule.
    History {
        /// The rule id.
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Re-activate a previous version of a rule.
    Rollback {
        /// The rule id.
        id: String,
        /// The version (from `rules history`).
        #[arg(value_name = "VERSION")]
        to_version: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Stop a rule from scoring claims.
    Disable {
        /// The rule id.
        id: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Turn a disabled rule back on.
    Enable {
        /// The rule id.
        id: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Run a rule in shadow: it is evaluated on live claims and recorded (see `claimscrub
    /// calibration`), its findings come back apart and never count in the score.
    Shadow {
        /// The rule id.
        id: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Make a rule in shadow (or a disabled one) score claims.
    Activate {
        /// The rule id.
        id: String,
        /// Why.
        #[arg(long, short = 'm', default_value = "")]
        comment: String,
        #[command(flatten)]
        remote: Remote,
    },
}

fn request<T>(msg: T, remote: &Remote) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = &remote.token
        && let Ok(v) = format!("Bearer {}", t.trim()).parse()
    {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

async fn connect(remote: &Remote) -> anyhow::Result<RuleAdminClient<Channel>> {
    let url = super::tls::server_url(&remote.server, &remote.tls);
    let channel = remote
        .tls
        .connect(&url)
        .await
        .with_context(|| format!("cannot reach the claimscrub server at {url}"))?;
    Ok(RuleAdminClient::new(channel))
}

/// Turns a refused call into a sentence with the fix.
fn explain(status: tonic::Status) -> anyhow::Error {
    let hint = match status.code() {
        tonic::Code::Unauthenticated => " (set your token with --token or CLAIMSCRUB_TOKEN)",
        tonic::Code::PermissionDenied => " (ask for the editor role)",
        tonic::Code::FailedPrecondition => "",
        _ => "",
    };
    anyhow::anyhow!("{}{hint}", status.message())
}

/// Where `rules pull` records the version it wrote: `.NAME.rhai.pulled` beside the file
/// (a hidden name, never loaded as a rule).
fn pulled_marker(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("rule.rhai");
    file.with_file_name(format!(".{name}.pulled"))
}

fn read_rule(file: &Path) -> anyhow::Result<(String, String)> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let tests_path = file.with_file_name(format!("{}.tests.json", name.trim_end_matches(".rhai")));
    Ok((
        source,
        std::fs::read_to_string(tests_path).unwrap_or_default(),
    ))
}

fn print_diagnostics(file: &Path, errors: &[pb::Diagnostic], tests: &[pb::TestResult]) {
    for e in errors {
        if e.line > 0 {
            println!(
                "  {}: line {}, col {}: {}",
                file.display(),
                e.line,
                e.column,
                e.message
            );
        } else {
            println!("  {}: {}", file.display(), e.message);
        }
    }
    for t in tests {
        if t.passed {
            println!("  pass    {}", t.name);
        } else {
            println!("  FAILED  {}", t.message);
        }
    }
}

fn diagnostics_json(errors: &[pb::Diagnostic]) -> serde_json::Value {
    errors
        .iter()
        .map(|e| serde_json::json!({"line": e.line, "column": e.column, "message": e.message}))
        .collect()
}

fn json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Runs an admin command.
pub fn run(cmd: &AdminCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(cmd))
}

async fn run_async(cmd: &AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Pull { id, to, remote } => {
            let mut c = connect(remote).await?;
            let resp = c
                .get_rule(request(pb::GetRuleRequest { id: id.clone() }, remote))
                .await
                .map_err(explain)?
                .into_inner();
            let info = resp.rule.unwrap_or_default();
            let name = if crate::store::is_rule_file_name(&info.file) {
                info.file.clone()
            } else {
                // Never a path the server names: only a plain NAME.rhai in --to.
                format!("{id}.rhai")
            };
            anyhow::ensure!(
                crate::store::is_rule_file_name(&name),
                "{id:?} is not a rule id that makes a file name"
            );
            std::fs::create_dir_all(to)
                .with_context(|| format!("cannot create {}", to.display()))?;
            let file = to.join(&name);
            std::fs::write(&file, &resp.source)
                .with_context(|| format!("cannot write {}", file.display()))?;
            if !resp.tests.is_empty() {
                let tests = to.join(format!("{}.tests.json", name.trim_end_matches(".rhai")));
                std::fs::write(&tests, &resp.tests)
                    .with_context(|| format!("cannot write {}", tests.display()))?;
            }
            std::fs::write(pulled_marker(&file), &info.version)?;
            println!(
                "rule {id} version {} written to {}; edit it, then: claimscrub rules push {}",
                info.version,
                file.display(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Push {
            file,
            expected_version,
            force,
            comment,
            remote,
        } => {
            let (source, tests) = read_rule(file)?;
            let mut c = connect(remote).await?;
            let check = c
                .validate_rule(request(
                    pb::ValidateRuleRequest {
                        source: source.clone(),
                        tests: tests.clone(),
                        ..Default::default()
                    },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            if check.rule_id.is_empty() {
                println!("{} was not pushed: it does not load.", file.display());
                print_diagnostics(file, &check.errors, &check.tests);
                return Ok(ExitCode::FAILURE);
            }
            let live = match c
                .get_rule(request(
                    pb::GetRuleRequest {
                        id: check.rule_id.clone(),
                    },
                    remote,
                ))
                .await
            {
                Ok(r) => r.into_inner().rule.map(|r| r.version).unwrap_or_default(),
                Err(s) if s.code() == tonic::Code::NotFound => String::new(),
                Err(s) => return Err(explain(s)),
            };
            let pulled = std::fs::read_to_string(pulled_marker(file))
                .ok()
                .map(|v| v.trim().to_string());
            let (expected, comment) = match (expected_version, *force, pulled) {
                (_, true, _) => (
                    live.clone(),
                    format!("{comment} [forced: replaced version {live} without pulling it]")
                        .trim()
                        .to_string(),
                ),
                (Some(v), false, _) => (v.clone(), comment.clone()),
                (None, false, Some(v)) => (v, comment.clone()),
                (None, false, None) if live.is_empty() => (String::new(), comment.clone()),
                (None, false, None) => {
                    println!(
                        "{} was not pushed: rule {} is live at version {live} and this file was not pulled from it.\n\
                         Run `claimscrub rules pull {}` and apply your change to the pulled file, or push with \
                         --expected-version {live} if you edited that version, or --force to overwrite it.",
                        file.display(),
                        check.rule_id,
                        check.rule_id
                    );
                    return Ok(ExitCode::FAILURE);
                }
            };
            let resp = c
                .put_rule(request(
                    pb::PutRuleRequest {
                        id: check.rule_id.clone(),
                        source,
                        tests,
                        expected_version: expected,
                        comment,
                    },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            if resp.accepted {
                // The file now matches the live version: the next push builds on it.
                let _ = std::fs::write(pulled_marker(file), &resp.version);
            }
            if remote.json {
                json(
                    &serde_json::json!({"accepted": resp.accepted, "version": resp.version, "ruleset_version": resp.ruleset_version,
                    "errors": diagnostics_json(&resp.errors)}),
                );
            } else if resp.accepted {
                println!(
                    "rule {} is now active at version {} (rule set {}).",
                    check.rule_id, resp.version, resp.ruleset_version
                );
            } else {
                println!(
                    "rule {} was NOT changed; version {} stays active. Fix these and push again:",
                    check.rule_id, resp.version
                );
                print_diagnostics(file, &resp.errors, &resp.tests);
            }
            Ok(if resp.accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AdminCommand::Validate {
            file,
            claims,
            remote,
        } => {
            let (source, tests) = read_rule(file)?;
            // The claims file: an X12 837, a FHIR Claim or Bundle, or the API's JSON claims.
            let (mut sample_claims, mut sample_x12, mut sample_fhir) = (vec![], vec![], "".into());
            if let Some(p) = claims {
                let bytes =
                    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                if crate::x12::sniff(&bytes) {
                    sample_x12 = bytes;
                } else {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", p.display()))?;
                    if crate::fhir::sniff(&text) {
                        sample_fhir = text;
                    } else {
                        sample_claims = requests_from_str(&text)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                    }
                }
            }
            let mut c = connect(remote).await?;
            let resp = c
                .validate_rule(request(
                    pb::ValidateRuleRequest {
                        source,
                        tests,
                        sample_claims,
                        sample_x12,
                        sample_fhir,
                    },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            if remote.json {
                json(
                    &serde_json::json!({"valid": resp.valid, "rule_id": resp.rule_id, "version": resp.version,
                    "errors": diagnostics_json(&resp.errors),
                    "tests": resp.tests.iter().map(|t| serde_json::json!({"name": t.name, "passed": t.passed, "message": t.message})).collect::<Vec<_>>(),
                    "samples": resp.samples.iter().map(|s| serde_json::json!({"claim_id": s.claim_id, "error": s.error,
                        "findings": s.findings.iter().map(|f| serde_json::json!({"message": f.message, "lines": f.line_numbers})).collect::<Vec<_>>()})).collect::<Vec<_>>()}),
                );
            } else {
                println!(
                    "{} {}",
                    file.display(),
                    if resp.valid {
                        "is valid"
                    } else {
                        "has problems:"
                    }
                );
                print_diagnostics(file, &resp.errors, &resp.tests);
                for s in &resp.samples {
                    if !s.error.is_empty() {
                        println!("  sample {}: {}", s.claim_id, s.error);
                    } else if s.findings.is_empty() {
                        println!("  sample {}: no findings", s.claim_id);
                    }
                    for f in &s.findings {
                        println!(
                            "  sample {}: lines {:?}: {}",
                            s.claim_id, f.line_numbers, f.message
                        );
                    }
                }
            }
            Ok(if resp.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AdminCommand::Delete {
            id,
            comment,
            remote,
        } => {
            let mut c = connect(remote).await?;
            let resp = c
                .delete_rule(request(
                    pb::RuleActionRequest {
                        id: id.clone(),
                        comment: comment.clone(),
                    },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            println!(
                "rule {id} is deleted (rule set {}); its versions stay in `rules history {id}`.",
                resp.ruleset_version
            );
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Status { remote } => {
            let mut c = connect(remote).await?;
            let s = c
                .get_ruleset_status(request(pb::GetRulesetStatusRequest {}, remote))
                .await
                .map_err(explain)?
                .into_inner();
            if remote.json {
                json(
                    &serde_json::json!({"ruleset_version": s.ruleset_version, "rules": s.rules,
                    "last_reload_at": s.last_reload_at, "rules_location": s.rules_location,
                    "errors": s.errors.iter().map(|e| serde_json::json!({"file": e.file, "message": e.message})).collect::<Vec<_>>(),
                    "tables": s.tables.iter().map(|t| serde_json::json!({"kind": t.kind, "setting": t.setting, "version": t.version})).collect::<Vec<_>>()}),
                );
            } else {
                println!(
                    "rule set {}: {} rule(s) active, from {}; last reload {}",
                    s.ruleset_version, s.rules, s.rules_location, s.last_reload_at
                );
                for t in &s.tables {
                    println!("table   {} {} {}", t.kind, t.setting, t.version);
                }
                if s.errors.is_empty() {
                    println!("every rule file loaded");
                }
                for e in &s.errors {
                    let what = if e.file.is_empty() {
                        "the rules location"
                    } else {
                        e.file.as_str()
                    };
                    println!("FAILED  {what}: {}", e.message);
                }
            }
            Ok(if s.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AdminCommand::List { remote } => {
            let mut c = connect(remote).await?;
            let resp = c
                .list_rules(request(pb::ListRulesRequest {}, remote))
                .await
                .map_err(explain)?
                .into_inner();
            if remote.json {
                json(&resp.rules.iter().map(|r| serde_json::json!({"id": r.id, "version": r.version, "enabled": r.enabled,
                    "status": r.load_status, "kind": r.kind, "category": r.category, "carc": r.carc, "last_error": r.last_error})).collect::<Vec<_>>());
            } else {
                println!(
                    "{:<28} {:<13} {:<19} {:<8} name",
                    "rule", "version", "status", "carc"
                );
                for r in &resp.rules {
                    if r.id.is_empty() {
                        println!("{:<28} {:<13} {:<19}", r.file, "-", r.load_status);
                        println!("{:<28} does not load: {}", "", r.last_error);
                        continue;
                    }
                    let carc = if r.kind == "reimbursement" {
                        "contract"
                    } else {
                        r.carc.as_str()
                    };
                    println!(
                        "{:<28} {:<13} {:<19} {:<8} {}",
                        r.id, r.version, r.load_status, carc, r.name
                    );
                    if !r.last_error.is_empty() {
                        println!("{:<28} newest edit rejected: {}", "", r.last_error);
                    }
                }
                println!("\nrule set {}", resp.ruleset_version);
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::History { id, remote } => {
            let mut c = connect(remote).await?;
            let resp = c
                .get_rule_history(request(
                    pb::GetRuleHistoryRequest { id: id.clone() },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            if remote.json {
                json(&resp.versions.iter().map(|v| serde_json::json!({"version": v.version, "author": v.author, "time": v.time,
                    "action": v.action, "comment": v.comment})).collect::<Vec<_>>());
            } else {
                for v in &resp.versions {
                    println!(
                        "{}  {:<9} {:<20} by {:<12} {}",
                        v.version, v.action, v.time, v.author, v.comment
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Rollback {
            id,
            to_version: version,
            comment,
            remote,
        } => {
            let mut c = connect(remote).await?;
            let resp = c
                .rollback_rule(request(
                    pb::RollbackRuleRequest {
                        id: id.clone(),
                        version: version.clone(),
                        comment: comment.clone(),
                    },
                    remote,
                ))
                .await
                .map_err(explain)?
                .into_inner();
            if resp.accepted {
                println!(
                    "rule {id} is back at version {} (rule set {}).",
                    resp.version, resp.ruleset_version
                );
            } else {
                println!("rule {id} was NOT rolled back:");
                print_diagnostics(Path::new(id), &resp.errors, &resp.tests);
            }
            Ok(if resp.accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AdminCommand::Disable {
            id,
            comment,
            remote,
        }
        | AdminCommand::Enable {
            id,
            comment,
            remote,
        }
        | AdminCommand::Shadow {
            id,
            comment,
            remote,
        }
        | AdminCommand::Activate {
            id,
            comment,
            remote,
        } => {
            let mut c = connect(remote).await?;
            let req = request(
                pb::RuleActionRequest {
                    id: id.clone(),
                    comment: comment.clone(),
                },
                remote,
            );
            let (resp, state) = match cmd {
                AdminCommand::Enable { .. } => (c.enable_rule(req).await, "enabled"),
                AdminCommand::Shadow { .. } => (
                    c.shadow_rule(req).await,
                    "in shadow: evaluated and recorded, never scored",
                ),
                AdminCommand::Activate { .. } => (c.activate_rule(req).await, "active"),
                _ => (c.disable_rule(req).await, "disabled"),
            };
            let resp = resp.map_err(explain)?.into_inner();
            println!("rule {id} is {state} (rule set {}).", resp.ruleset_version);
            Ok(ExitCode::SUCCESS)
        }
    }
}
