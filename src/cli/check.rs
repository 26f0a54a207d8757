//! `claimscrub check FILE`: scrub claims from a JSON file offline with the same engine and
//! rules as the server, printing a report a coder can read (or JSON with `--json`).

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::claim::json::{requests_from_str, response_to_value};
use crate::proto::v1 as pb;
use crate::runtime::Runtime;
use crate::scrub::Scrubber;

use super::CheckArgs;

/// Runs `check`. Exit status 0 when every claim was scrubbed, 1 when any claim was invalid.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?,
        )
    };
    // The first block decides the format; an 837 is then read block by block.
    let mut bytes = vec![0; BLOCK];
    let n = read_block(&mut input, &mut bytes)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    bytes.truncate(n);
    if crate::x12::sniff(&bytes) {
        return run_x12(args, bytes, input);
    }
    input
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", args.file.display()))?;
    if crate::fhir::sniff(&text) {
        return run_fhir(args, &text);
    }
    let mut requests =
        requests_from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    if let Some(as_of) = &args.as_of {
        for r in requests.iter_mut().filter(|r| r.as_of_date.is_empty()) {
            r.as_of_date = as_of.clone();
        }
    }
    let scrubber = scrubber(args)?;

    let mut invalid = 0;
    let mut responses = Vec::new();
    for req in &requests {
        let claim_id = req
            .claim
            .as_ref()
            .map(|c| c.claim_id.clone())
            .unwrap_or_default();
        let resp = match scrubber.scrub_blocking(req) {
            Ok(r) => r,
            Err(e) => {
                invalid += 1;
                crate::api::status::error_response(claim_id, &e)
            }
        };
        responses.push(resp);
    }
    if args.json {
        let values: Vec<_> = responses.iter().map(response_to_value).collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        for r in &responses {
            print!("{}", render(r));
        }
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The scrubber `check` uses: the rules and tables the arguments name, loaded as the server
/// loads them (a rule that does not load is a warning, as at server start).
fn scrubber(args: &CheckArgs) -> anyhow::Result<Scrubber> {
    let runtime = Runtime::build(args.runtime_spec()?)?;
    let report = runtime.registry.load_initial()?;
    for e in &report.errors {
        eprintln!("warning: rule not loaded: {e}");
    }
    Ok(Scrubber::new(&runtime, args.scrub.settings()?))
}

/// How much of a file is read at a time.
const BLOCK: usize = 64 * 1024;

/// Fills `buf` as far as the input goes; the number of bytes read.
fn read_block(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// `check` on an X12 837 interchange (recognised by its ISA header, whatever the file is
/// called): read block by block, each claim scrubbed and printed as soon as it is read (so a
/// file of any size takes bounded memory), each finding followed by its 837 locations.
fn run_x12(args: &CheckArgs, first: Vec<u8>, mut input: Box<dyn Read>) -> anyhow::Result<ExitCode> {
    use crate::x12::results;
    let scrubber = scrubber(args)?;
    let as_of = args.as_of.clone().unwrap_or_default();
    let mut invalid = 0;
    let mut printed = 0;
    let mut stdout = std::io::stdout().lock();
    let mut emit = |r: crate::x12::ReadClaim| -> anyhow::Result<()> {
        let resp = match results::request(&r, &as_of) {
            None => results::unreadable(&r),
            Some(req) => scrubber
                .scrub_blocking(&req)
                .unwrap_or_else(|e| crate::api::status::error_response(r.claim_id.clone(), &e)),
        };
        invalid += usize::from(resp.error.is_some());
        let result = results::result(&r, resp);
        if args.json {
            let sep = if printed == 0 { "[\n" } else { ",\n" };
            let value = crate::claim::json::x12_result_to_value(&result);
            write!(stdout, "{sep}{}", serde_json::to_string_pretty(&value)?)?;
        } else {
            write!(stdout, "{}", render_x12(&result))?;
        }
        printed += 1;
        Ok(())
    };
    let mut reader = crate::x12::StreamReader::new();
    let mut claims = Vec::new();
    let mut block = first;
    let failed = loop {
        let end = block.is_empty();
        let step = if end {
            std::mem::take(&mut reader).finish(&mut claims)
        } else {
            reader.feed(&block, &mut claims)
        };
        for c in claims.drain(..) {
            emit(c)?;
        }
        if let Err(e) = step {
            break Some(e);
        }
        if end {
            break None;
        }
        block.resize(BLOCK, 0);
        let n = read_block(&mut input, &mut block)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        block.truncate(n);
    };
    if args.json {
        writeln!(stdout, "{}]", if printed == 0 { "[" } else { "\n" })?;
    }
    if let Some(e) = failed {
        anyhow::bail!("{}: {e}", args.file.display());
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `check` on a FHIR R4 Claim or Bundle (recognised by its `resourceType`): every Claim
/// scrubbed, each finding followed by its FHIR paths.
fn run_fhir(args: &CheckArgs, text: &str) -> anyhow::Result<ExitCode> {
    use crate::fhir::results;
    let read =
        crate::fhir::read(text).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let scrubber = scrubber(args)?;
    let as_of = args.as_of.clone().unwrap_or_default();
    let mut invalid = 0;
    let mut values = Vec::new();
    for r in &read {
        let resp = match results::request(r, &as_of) {
            None => results::unmapped(r),
            Some(req) => scrubber
                .scrub_blocking(&req)
                .unwrap_or_else(|e| crate::api::status::error_response(r.claim_id.clone(), &e)),
        };
        invalid += usize::from(resp.error.is_some());
        let result = results::result(r, resp, false);
        if args.json {
            values.push(crate::claim::json::fhir_result_to_value(&result));
            continue;
        }
        let resp = result.response.clone().unwrap_or_default();
        if let Some(e) = &resp.error {
            println!(
                "claim {} ({}): NOT SCRUBBED ({}): {}\n",
                r.claim_id, result.resource_path, e.code, e.message
            );
            continue;
        }
        print!("{}", render(&resp));
        for (f, at) in resp.findings.iter().zip(&result.finding_locations) {
            println!("  FHIR: [{}] {}", f.rule_id, at.expressions.join("; "));
        }
        println!();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&values)?);
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The readable report for one 837 claim: its findings, each with its 837 locations.
fn render_x12(r: &pb::X12ClaimResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let resp = r.response.clone().unwrap_or_default();
    if let Some(e) = &resp.error {
        let _ = writeln!(
            out,
            "claim {} ({}): NOT SCRUBBED ({}): {}\n",
            r.claim_id,
            r.claim_location.as_ref().map_or("", |l| l.text.as_str()),
            e.code,
            e.message
        );
        return out;
    }
    out.push_str(&render(&resp));
    for (f, at) in resp.findings.iter().zip(&r.finding_locations) {
        let places: Vec<&str> = at.locations.iter().map(|l| l.text.as_str()).collect();
        let _ = writeln!(out, "  837: [{}] {}", f.rule_id, places.join("; "));
    }
    out.push('\n');
    out
}

/// The readable report for one response.
pub fn render(r: &pb::ScrubClaimResponse) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if let Some(e) = &r.error {
        let _ = writeln!(out, "claim {}: NOT SCRUBBED ({})", r.claim_id, e.code);
        for v in &e.violations {
            let _ = writeln!(out, "  {}: {}", v.field, v.description);
        }
        out.push('\n');
        return out;
    }
    let band = pb::RiskBand::try_from(r.risk_band).map_or("?", |b| match b {
        pb::RiskBand::Low => "LOW",
        pb::RiskBand::Medium => "MEDIUM",
        pb::RiskBand::High => "HIGH",
        pb::RiskBand::Unspecified => "-",
    });
    let _ = writeln!(
        out,
        "claim {}: denial risk {:.0}% ({band}), {} finding(s), {} rule(s) evaluated, ruleset {}",
        r.claim_id,
        r.denial_risk * 100.0,
        r.findings.len(),
        r.rules_evaluated,
        r.ruleset_version
    );
    for f in &r.findings {
        let sev = pb::Severity::try_from(f.severity).map_or("?", |s| match s {
            pb::Severity::Error => "ERROR",
            pb::Severity::Warning => "WARNING",
            pb::Severity::Info => "INFO",
            pb::Severity::Unspecified => "-",
        });
        let lines = if f.line_numbers.is_empty() {
            "claim".to_string()
        } else {
            format!(
                "{} {}",
                if f.line_numbers.len() == 1 {
                    "line"
                } else {
                    "lines"
                },
                f.line_numbers
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "  {sev:<7} {} [{}] {lines}: {}",
            f.carc, f.rule_id, f.message
        );
        if !f.suggestion.is_empty() {
            let _ = writeln!(out, "          fix: {}", f.suggestion);
        }
    }
    for fail in &r.rule_failures {
        let _ = writeln!(out, "  RULE FAILED [{}]: {}", fail.rule_id, fail.message);
    }
    if let Some(p) = &r.pricing {
        render_pricing(&mut out, p);
    }
    out.push('\n');
    out
}

/// The pricing block: totals, then each line's amount (or why none) and its calculation.
fn render_pricing(out: &mut String, p: &pb::ClaimPricing) {
    use std::fmt::Write;
    let money = crate::money::format_cents;
    let by = if p.contract_rule_id.is_empty() {
        "Medicare PFS".to_string()
    } else {
        format!("contract {}", p.contract_rule_id)
    };
    let locality = if p.locality.is_empty() {
        "national".to_string()
    } else {
        format!("locality {}", p.locality)
    };
    let _ = writeln!(
        out,
        "  pricing ({by}, {locality}): allowed {}{} of {} charged; expected revenue {} after denial risk",
        money(p.total_allowed_cents),
        if p.complete {
            ""
        } else {
            " (some lines unpriced)"
        },
        money(p.total_charge_cents),
        money(p.expected_revenue_cents),
    );
    if !p.no_contract_note.is_empty() {
        let _ = writeln!(out, "    note: {}", p.no_contract_note);
    }
    for l in &p.lines {
        let amount = match l.allowed_cents {
            Some(c) => money(c),
            None => "not priced".to_string(),
        };
        let _ = writeln!(
            out,
            "    line {}: {amount} [{}]",
            l.line_number, l.fee_schedule
        );
        for step in &l.trace {
            let _ = writeln!(out, "            {step}");
        }
        if !l.reason.is_empty() {
            let _ = writeln!(out, "            why: {}", l.reason);
        }
    }
}
