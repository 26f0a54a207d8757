//! `claimscrub calibration`: what each rule's findings were worth, from the outcome store —
//! declared against observed denial rates per rule × payer, precision and recall, and the
//! denials no rule predicted (the GetCalibration report, offline).

use std::process::ExitCode;

use clap::Args;

use crate::config::OutcomesArgs;
use crate::proto::v1 as pb;

/// `claimscrub calibration` arguments.
#[derive(Debug, Args)]
pub struct CalibrationArgs {
    #[command(flatten)]
    pub store: OutcomesArgs,
    /// The prior's weight in pseudo-observations (default 20).
    #[arg(long, default_value_t = 20.0)]
    pub prior_weight: f64,
    /// Remits a rule × payer needs before its calibrated value counts (default 30).
    #[arg(long, default_value_t = 30)]
    pub min_remits: u32,
    /// Print the report as JSON (the API's shape) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the reliability diagram (predicted against observed denial rate by band of
    /// denial risk) to this PNG file.
    #[arg(long, value_name = "FILE")]
    pub png: Option<std::path::PathBuf>,
}

fn pct(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

/// Runs the command.
pub fn run(args: &CalibrationArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let req = pb::GetCalibrationRequest {
        prior_weight: args.prior_weight,
        min_remits: args.min_remits,
    };
    let r = crate::api::remit::calibration(store.as_ref(), &req)
        .map_err(|s| anyhow::anyhow!("{}", s.message()))?;
    if let Some(path) = &args.png {
        let bands: Vec<crate::calibration::Band> = r
            .reliability
            .iter()
            .map(|b| crate::calibration::Band {
                low: b.low,
                high: b.high,
                claims: b.claims,
                predicted: b.predicted,
                denied: b.denied,
            })
            .collect();
        let title = format!(
            "Denial risk against denials: {} remitted claims",
            r.remitted_claims
        );
        let bytes = crate::calibration::diagram::png(&bands, &title).map_err(anyhow::Error::msg)?;
        std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        eprintln!("reliability diagram written to {}", path.display());
    }
    if args.json {
        let desc = crate::claim::json::descriptors()
            .get_message_by_name("claimscrub.v1.GetCalibrationResponse")
            .ok_or_else(|| anyhow::anyhow!("descriptor missing"))?;
        let msg = prost_reflect::DynamicMessage::decode(
            desc,
            prost::Message::encode_to_vec(&r).as_slice(),
        )?;
        println!("{}", serde_json::to_string_pretty(&msg)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} scrub records; {} remitted claims had been scrubbed. Prior weight {}, evidence needed {} remits.",
        r.scrub_records, r.remitted_claims, r.prior_weight, r.min_remits
    );
    println!();
    println!(
        "{:<28} {:<14} {:<11} {:>8} {:>8} {:>7} {:>9} {:>10} {:>17}",
        "rule",
        "payer",
        "type",
        "flagged",
        "denied",
        "declared",
        "observed",
        "calibrated",
        "90% interval"
    );
    for c in &r.cells {
        println!(
            "{:<28} {:<14} {:<11} {:>8} {:>8} {:>8} {:>9} {:>10} {:>17}{}",
            c.rule_id,
            if c.payer_id.is_empty() {
                "(all)"
            } else {
                &c.payer_id
            },
            c.payer_type,
            c.flagged,
            c.denied,
            pct(c.declared),
            pct(c.observed),
            pct(c.calibrated),
            format!("{}–{}", pct(c.interval_low), pct(c.interval_high)),
            if c.enough_evidence {
                ""
            } else {
                "  (too little evidence: declared value stays)"
            }
        );
    }
    println!();
    println!(
        "{:<28} {:>8} {:>8} {:>10} {:>15} {:>8}  family",
        "rule", "flagged", "denied", "precision", "family denials", "recall"
    );
    for a in &r.rules {
        println!(
            "{:<28} {:>8} {:>8} {:>10} {:>15} {:>8}  {}",
            a.rule_id,
            a.flagged,
            a.denied,
            pct(a.precision),
            a.family_denials,
            pct(a.recall),
            a.family.join(" ")
        );
    }
    println!();
    println!("Denials no rule predicted (candidates for new rules):");
    if r.unpredicted.is_empty() {
        println!("  none");
    }
    for u in &r.unpredicted {
        println!(
            "  {:<10} {:>6} × ${}{}",
            u.carc,
            u.count,
            crate::money::format_cents(u.amount_cents),
            if u.shadow_caught > 0 {
                format!("  ({} flagged by a rule in shadow)", u.shadow_caught)
            } else {
                String::new()
            }
        );
    }
    println!();
    println!("Denial risk against denials (the reliability diagram's data):");
    println!(
        "  {:<11} {:>7} {:>10} {:>9}",
        "band", "claims", "predicted", "denied"
    );
    for b in r.reliability.iter().filter(|b| b.claims > 0) {
        println!(
            "  {:<11} {:>7} {:>10} {:>9}",
            format!("{:.0}–{:.0}%", b.low * 100.0, b.high * 100.0),
            b.claims,
            pct(b.predicted),
            pct(b.observed)
        );
    }
    let shadow: Vec<_> = r.rules.iter().filter(|a| a.shadow_flagged > 0).collect();
    if !shadow.is_empty() {
        println!();
        println!("Rules tried in shadow (their findings were not in the answers or the scores):");
        for a in shadow {
            println!(
                "  {:<28} flagged {:>6}: would have caught {} denials, wrongly flagged {} paid lines",
                a.rule_id, a.shadow_flagged, a.shadow_caught, a.shadow_wrongly_flagged
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
